import assert from "node:assert/strict";
import { test } from "node:test";
import { assertApiError, buildTestApp, registeredRoutes } from "../support/app.ts";

// Operations, the published API description, the development outbox and the pages' security headers.

type OpenApi = {
  openapi: string;
  info: { title: string };
  paths: Record<string, Record<string, { responses?: Record<string, unknown> }>>;
  components?: { securitySchemes?: Record<string, unknown> };
};

// What a production configuration needs (config refuses to start without it).
const productionEnv = {
  NODE_ENV: "production",
  MAMORI_BRAND_NAME: "やまだ商店",
  SMTP_URL: "smtp://127.0.0.1:2525",
  MAMORI_PUBLIC_URL: "https://id.shop.example.jp",
  MAMORI_TRUST_PROXY: "true",
  MAMORI_SECRET_KEYS: "6JW4OqhdhsTBUck3DBdxt5jgHs/87O2wjdMk1ad7uRQ=",
  MAMORI_ARGON2_MEMORY_KIB: "19456",
  MAMORI_ARGON2_ITERATIONS: "2",
};

test("/healthz answers while the process lives, /readyz while the database answers", async (t) => {
  const s = await buildTestApp(t);
  const health = await s.inject({ method: "GET", url: "/healthz" });
  assert.equal(health.statusCode, 200);
  assert.deepEqual(health.json(), { status: "ok" });
  const ready = await s.inject({ method: "GET", url: "/readyz" });
  assert.equal(ready.statusCode, 200);
  assert.deepEqual(ready.json(), { status: "ready" });

  await s.db.destroy();
  const unready = await s.inject({ method: "GET", url: "/readyz" });
  assert.equal(unready.statusCode, 503);
  assert.deepEqual(unready.json(), { status: "unavailable" });
  assert.match(String(unready.headers["retry-after"]), /^\d+$/);
  assert.equal(
    (await s.inject({ method: "GET", url: "/healthz" })).statusCode,
    200,
    "alive, though not ready",
  );
});

test("GET /api/openapi.json is OpenAPI 3.1 and describes every /api/v1 route", async (t) => {
  const s = await buildTestApp(t);
  const response = await s.inject({ method: "GET", url: "/api/openapi.json" });
  assert.equal(response.statusCode, 200);
  assert.match(String(response.headers["content-type"]), /^application\/json/);
  const doc = response.json<OpenApi>();
  assert.equal(doc.openapi, "3.1.0");
  assert.equal(doc.info.title, "Mamori");
  assert.deepEqual(Object.keys(doc.components?.securitySchemes ?? {}).sort(), ["bearer", "sessionCookie"]);

  const apiRoutes = registeredRoutes(s.app).filter(
    (r) => r.path.startsWith("/api/v1/") && r.method !== "HEAD",
  );
  assert.ok(apiRoutes.length >= 10, `only ${apiRoutes.length} API routes found`);
  for (const route of apiRoutes) {
    const path = route.path.replace(/:(\w+)/g, "{$1}");
    const operation = doc.paths[path]?.[route.method.toLowerCase()];
    assert.ok(operation, `${route.method} ${path} is missing from the OpenAPI document`);
    assert.ok(
      Object.keys(operation.responses ?? {}).some((status) => /^2/.test(status)),
      `${route.method} ${path}`,
    );
  }
  // The contract's routes in particular.
  for (const [method, path] of [
    ["post", "/api/v1/registrations"],
    ["post", "/api/v1/registrations/{id}/verify"],
    ["post", "/api/v1/registrations/{id}/resend"],
    ["post", "/api/v1/sign-in"],
    ["get", "/api/v1/session"],
    ["delete", "/api/v1/session"],
    ["get", "/api/v1/sessions"],
    ["delete", "/api/v1/sessions"],
    ["delete", "/api/v1/sessions/{id}"],
    ["post", "/api/v1/session/reauthenticate"],
  ] as const) {
    assert.ok(doc.paths[path]?.[method], `${method} ${path}`);
  }
  // Error answers are described with the error shape.
  const signIn = doc.paths["/api/v1/sign-in"]?.post?.responses ?? {};
  for (const status of ["400", "401", "403", "429", "503"]) assert.ok(signIn[status], `sign-in ${status}`);
});

test("the development outbox lists messages to an address, newest first, with their codes", async (t) => {
  const s = await buildTestApp(t);
  const account = await s.registerAccount({ email: "hanako@example.jp" });
  s.clock.advance(1);
  // Registering the taken address again mails the owner a notice: the newest message.
  const again = { name: "山田 花子", email: account.email, password: account.password };
  assert.equal(
    (await s.inject({ method: "POST", url: "/api/v1/registrations", payload: again })).statusCode,
    201,
  );
  const response = await s.inject({ method: "GET", url: "/api/v1/dev/outbox?to=HANAKO%40example.jp" });
  assert.equal(response.statusCode, 200, response.body);
  type Listed = { channel: string; to: string; code?: string; subject?: string; createdAt: string };
  const { messages } = response.json<{ messages: Listed[] }>();
  assert.equal(messages.length, 3);
  assert.equal(messages[0]?.subject, "【サンプルショップ】このEメールアドレスでの登録がありました");
  assert.equal(messages[0]?.createdAt, s.clock.now().toISOString());
  for (const m of messages) assert.deepEqual([m.channel, m.to], ["email", account.email]);
  const withCode = messages.filter((m) => m.code !== undefined);
  assert.equal(withCode.length, 1);
  assert.match(withCode[0]?.code ?? "", /^\d{6}$/);
  const others = await s.inject({ method: "GET", url: "/api/v1/dev/outbox?to=taro%40example.jp" });
  assert.deepEqual(others.json(), { messages: [] });
  const page = await s.inject({ method: "GET", url: "/dev/outbox?to=hanako%40example.jp" });
  assert.equal(page.statusCode, 200);
  assert.ok(page.body.includes(withCode[0]?.code ?? "-"));
});

test("the development outbox is a 404 when it is off, and missing from the OpenAPI document", async (t) => {
  for (const env of [{ MAMORI_DEV_OUTBOX: "false" }, productionEnv]) {
    const s = await buildTestApp(t, { env });
    assert.equal(s.config.devOutbox, false);
    assertApiError(await s.inject({ method: "GET", url: "/api/v1/dev/outbox" }), 404, "not_found");
    assertApiError(
      await s.inject({ method: "GET", url: "/api/v1/dev/outbox?to=a%40example.jp" }),
      404,
      "not_found",
    );
    const page = await s.inject({ method: "GET", url: "/dev/outbox" });
    assert.equal(page.statusCode, 404);
    assert.match(String(page.headers["content-type"]), /^text\/html/);
    const doc = (await s.inject({ method: "GET", url: "/api/openapi.json" })).json<OpenApi>();
    assert.equal(doc.paths["/api/v1/dev/outbox"], undefined);
  }
});

test("pages carry a strict CSP, refuse framing and sniffing, and need no inline script or style", async (t) => {
  const s = await buildTestApp(t);
  const account = await s.registerAccount();
  const pages = [
    "/sign-in",
    "/sign-up",
    "/help/sign-in",
    "/dev/outbox",
    "/account",
    "/account/sessions",
    "/nowhere",
  ];
  for (const url of pages) {
    const response = await s.inject({ method: "GET", url, headers: { cookie: account.cookie } });
    assert.ok([200, 404].includes(response.statusCode), `${url}: ${response.statusCode}`);
    assert.match(String(response.headers["content-type"]), /^text\/html; charset=utf-8/, url);
    const csp = String(response.headers["content-security-policy"]);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, url);
    assert.match(csp, /(^|;)\s*default-src 'none'/, url);
    assert.match(csp, /(^|;)\s*script-src 'self'(;|$)/, url);
    assert.match(csp, /(^|;)\s*frame-ancestors 'none'/, url);
    assert.match(csp, /(^|;)\s*form-action 'self'/, url);
    assert.ok(response.headers["x-frame-options"], url);
    assert.equal(response.headers["x-content-type-options"], "nosniff", url);
    assert.equal(response.headers["referrer-policy"], "same-origin", url);
    assert.equal(response.headers["strict-transport-security"], undefined, "no HSTS over plain HTTP");
    // The CSP would block these, so a page that had them would be broken.
    assert.doesNotMatch(response.body, /<script(?![^>]*\ssrc=)[^>]*>/i, `${url} has an inline script`);
    assert.doesNotMatch(response.body, /\sstyle="/i, `${url} has an inline style`);
    assert.doesNotMatch(response.body, /\son[a-z]+="/i, `${url} has an inline event handler`);
  }
  const api = await s.inject({ method: "GET", url: "/api/v1/session", headers: { cookie: account.cookie } });
  assert.equal(api.headers["x-content-type-options"], "nosniff");
});

test("every page links the base stylesheet, then the security features' one, then the shop's colours, all served as CSS", async (t) => {
  const s = await buildTestApp(t);
  const page = await s.inject({ method: "GET", url: "/sign-in" });
  const links = [...page.body.matchAll(/<link rel="stylesheet" href="([^"]+)">/g)].map((match) => match[1]);
  assert.deepEqual(links, ["/assets/mamori.css", "/assets/mamori-security.css", "/brand.css"]);
  for (const href of links) {
    const css = await s.inject({ method: "GET", url: href ?? "" });
    assert.equal(css.statusCode, 200, href);
    assert.match(String(css.headers["content-type"]), /^text\/css/, href);
  }
  // A rule of each file: the page's frame, and the two-step choices.
  assert.match((await s.inject({ method: "GET", url: "/assets/mamori.css" })).body, /^:root \{/m);
  assert.match(
    (await s.inject({ method: "GET", url: "/assets/mamori-security.css" })).body,
    /^fieldset\.choices \{/m,
  );
});

test("in production responses carry HSTS and the session cookie is __Host- and Secure", async (t) => {
  const s = await buildTestApp(t, { env: productionEnv });
  const page = await s.inject({ method: "GET", url: "/sign-in" });
  assert.equal(page.statusCode, 200);
  assert.match(String(page.headers["strict-transport-security"]), /max-age=31536000; includeSubDomains/);
  assert.equal(s.config.sessionCookieName, "__Host-mamori_session");
  const csrf = String(page.headers["set-cookie"]);
  assert.match(csrf, /; Secure/, "even the form token cookie is Secure");
});

test("every route's request and response schemas compile, though each waits for the route's first use", async (t) => {
  const s = await buildTestApp(t);
  await s.app.ready();
  // Compiled lazily: after start-up nearly all are still waiting (ajv and fast-json-stringify).
  const waiting = s.app.compileAllSchemas();
  assert.ok(waiting > 100, `only ${waiting} schemas were waiting`);
  assert.equal(s.app.compileAllSchemas(), 0);
  // Compiled, they still refuse what they refused: a field of the wrong type is a 400 naming it.
  const wrongType = await s.inject({
    method: "POST",
    url: "/api/v1/sign-in",
    payload: { identifier: 7, password: "x" },
  });
  assertApiError(wrongType, 400, "invalid_request");
  assert.equal(wrongType.json().error.field, "identifier");
});
