import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { InjectOptions } from "fastify";
import {
  assertApiError,
  buildTestApp,
  isErrorShape,
  registeredRoutes,
  sameOrigin,
  strongPassword,
  type TestApp,
} from "../support/app.ts";

// Bad input is never a 500 (shared/API.md, "Conventions"): it is a 400, 413 or 415 in the error
// shape {error:{code,message,field?}}, in the request's language.

const json = { "content-type": "application/json" };

function post(s: TestApp, url: string, payload: string | Buffer, headers: Record<string, string> = json) {
  return s.inject({ method: "POST", url, payload, headers });
}

const signIn = "/api/v1/sign-in";
const validRegistration = { name: "山田 花子", email: "hanako@example.jp", password: strongPassword };

test("a body that is not valid JSON is a 400 invalid_request in the request's language", async (t) => {
  const s = await buildTestApp(t);
  const bodies = [
    '{"identifier":',
    "{'identifier':'a'}",
    "{]",
    "undefined",
    "[".repeat(8000) + "]".repeat(8000),
  ];
  for (const body of bodies) assertApiError(await post(s, signIn, body), 400, "invalid_request");
  const ja = assertApiError(await post(s, signIn, "{"), 400, "invalid_request");
  const en = assertApiError(
    await post(s, signIn, "{", { ...json, "accept-language": "en" }),
    400,
    "invalid_request",
  );
  assert.match(en.message, /JSON/);
  assert.notEqual(ja.message, en.message, "a Japanese request gets a Japanese message");
});

test("a field of the wrong type is refused with the field's name, never coerced", async (t) => {
  const s = await buildTestApp(t);
  const cases: [Record<string, unknown>, string][] = [
    [{ identifier: 12345678, password: "x" }, "identifier"],
    [{ identifier: "a@example.jp", password: ["x"] }, "password"],
    [{ identifier: "a@example.jp", password: null }, "password"],
    [{ identifier: "a@example.jp", password: "x", keepSignedIn: "true" }, "keepSignedIn"],
    [{ identifier: "a@example.jp", password: "x", sessionType: "jwt" }, "sessionType"],
    [{ password: "x" }, "identifier"],
  ];
  for (const [body, field] of cases) {
    const error = assertApiError(await post(s, signIn, JSON.stringify(body)), 400, "invalid_request");
    assert.equal(error.field, field, JSON.stringify(body));
  }
  for (const body of ["[]", "null", '"text"', "42", "true", ""]) {
    assertApiError(await post(s, signIn, body), 400, "invalid_request");
  }
  const registration = { ...validRegistration, locale: "fr" };
  const error = assertApiError(
    await post(s, "/api/v1/registrations", JSON.stringify(registration)),
    400,
    "invalid_request",
  );
  assert.equal(error.field, "locale");
  assert.equal((await s.db.selectFrom("registration").select("id").execute()).length, 0);
});

test("an unknown field is refused, not silently dropped", async (t) => {
  // Attack: mass assignment (`"status": "active"`, `"isAdmin": true`) slipping through a lenient parser.
  const s = await buildTestApp(t);
  const signInBody = { identifier: "a@example.jp", password: "x", isAdmin: true };
  assert.equal(
    assertApiError(await post(s, signIn, JSON.stringify(signInBody)), 400, "invalid_request").field,
    "isAdmin",
  );
  const registration = { ...validRegistration, status: "active" };
  const error = assertApiError(
    await post(s, "/api/v1/registrations", JSON.stringify(registration)),
    400,
    "invalid_request",
  );
  assert.equal(error.field, "status");
  const prototype = '{"identifier":"a@example.jp","password":"x","__proto__":{"isAdmin":true}}';
  assertApiError(await post(s, signIn, prototype), 400, "invalid_request");
  const query = await s.inject({ method: "DELETE", url: "/api/v1/sessions?scope=others&force=1" });
  assert.equal(assertApiError(query, 400, "invalid_request").field, "force");
  assertApiError(
    await s.inject({ method: "DELETE", url: "/api/v1/sessions?scope=others&scope=others" }),
    400,
    "invalid_request",
  );
});

test("over-long strings are refused with the field's name", async (t) => {
  const s = await buildTestApp(t);
  const longEmail = `${"a".repeat(320)}@example.jp`;
  const cases: [string, Record<string, unknown>, string][] = [
    [signIn, { identifier: longEmail, password: "x" }, "identifier"],
    [signIn, { identifier: "a@example.jp", password: "p".repeat(4097) }, "password"],
    ["/api/v1/registrations", { ...validRegistration, email: longEmail }, "email"],
    ["/api/v1/registrations", { ...validRegistration, name: "名".repeat(201) }, "name"],
    ["/api/v1/registrations/reg_x/verify", { code: "1".repeat(33) }, "code"],
  ];
  for (const [url, body, field] of cases) {
    const error = assertApiError(await post(s, url, JSON.stringify(body)), 400, "invalid_request");
    assert.equal(error.field, field, url);
  }
  const id = await s.inject({ method: "POST", url: `/api/v1/registrations/${"r".repeat(65)}/resend` });
  assert.equal(assertApiError(id, 400, "invalid_request").field, "id");
  // Past Fastify's own limit on a path parameter (100 characters), before any schema runs.
  const longer = await s.inject({ method: "POST", url: `/api/v1/registrations/${"r".repeat(101)}/resend` });
  assertApiError(longer, 400, "invalid_request");
});

test("invalid Unicode is refused: lone surrogates and bytes that are not UTF-8", async (t) => {
  const s = await buildTestApp(t);
  const surrogates = ['"\\ud800"', '"a\\udfffb"', '"\\udc00\\ud800"'];
  for (const text of surrogates) {
    assertApiError(await post(s, signIn, `{"identifier":${text},"password":"x"}`), 400, "invalid_request");
    assertApiError(
      await post(s, signIn, `{"identifier":"a","password":"x",${text}:1}`),
      400,
      "invalid_request",
    );
  }
  const start = Buffer.from('{"identifier":"');
  const end = Buffer.from('","password":"x"}');
  const badBytes = [
    [0xff],
    [0xc3, 0x28],
    [0xc0, 0xaf],
    [0xed, 0xa0, 0x80],
    [0xf4, 0x90, 0x80, 0x80],
    [0xe3, 0x81],
  ];
  for (const bytes of badBytes) {
    const response = await post(s, signIn, Buffer.concat([start, Buffer.from(bytes), end]));
    assertApiError(response, 400, "invalid_request");
  }
  // Well-formed text outside the BMP is fine: it reaches the flow and fails there, as credentials.
  const emoji = JSON.stringify({ identifier: "😀@example.jp", password: "𠮷野家" });
  assertApiError(await post(s, signIn, emoji), 401, "invalid_credentials");
});

test("a body over 16 KiB is refused with 413", async (t) => {
  const s = await buildTestApp(t);
  const big = JSON.stringify({ identifier: "a@example.jp", password: "p".repeat(17 * 1024) });
  assertApiError(await post(s, signIn, big), 413, "payload_too_large");
  const form = await post(s, "/sign-in", `identifier=a&password=${"p".repeat(17 * 1024)}`, {
    "content-type": "application/x-www-form-urlencoded",
  });
  assert.equal(form.statusCode, 413);
  assert.match(String(form.headers["content-type"]), /^text\/html/);
});

test("a body that is not JSON is refused with 415", async (t) => {
  const s = await buildTestApp(t);
  const body = JSON.stringify({ identifier: "a@example.jp", password: "x" });
  for (const type of [
    "text/plain",
    "application/xml",
    "multipart/form-data; boundary=x",
    "application/jsonp",
  ]) {
    assertApiError(await post(s, signIn, body, { "content-type": type }), 415, "unsupported_media_type");
  }
  // A form body is for the pages: the JSON API refuses it even when its fields would fit (a
  // cross-site form can send this type without a preflight).
  const form = "identifier=a%40example.jp&password=x";
  const formType = { "content-type": "application/x-www-form-urlencoded" };
  assertApiError(await post(s, signIn, form, formType), 415, "unsupported_media_type");
  assertApiError(await post(s, signIn, Buffer.from(body), {}), 415, "unsupported_media_type");
  const en = assertApiError(
    await post(s, signIn, body, { "content-type": "text/plain", "accept-language": "en" }),
    415,
    "unsupported_media_type",
  );
  assert.equal(en.message, "This content type is not accepted. Send JSON.");
});

test("a URL that is not valid percent-encoding gets the error shape, not Fastify's own body", async (t) => {
  // Regression: FST_ERR_BAD_URL used to answer {"error":"Bad Request","code":"FST_ERR_BAD_URL",…}.
  const s = await buildTestApp(t);
  for (const url of [
    "/api/v1/registrations/%ff/verify",
    "/api/v1/registrations/%E0%A4%A/resend",
    "/api/v1/sessions/%",
  ]) {
    const method = url.startsWith("/api/v1/sessions") ? "DELETE" : "POST";
    assertApiError(await s.inject({ method, url, payload: {} }), 400, "invalid_request");
  }
  const en = await s.inject({
    method: "POST",
    url: "/api/v1/registrations/%ff/verify",
    headers: { "accept-language": "en" },
  });
  assert.equal(assertApiError(en, 400, "invalid_request").message, "Please check what you entered.");
  const page = await s.inject({ method: "GET", url: "/locale/%ff" });
  assert.equal(page.statusCode, 400);
  assert.match(String(page.headers["content-type"]), /^text\/html/);
});

// ---------------------------------------------------------------------------------------------
// Property: whatever arrives at whatever route, the answer is below 500, and every 4xx JSON answer
// has the error shape. Routes come from Fastify's own route tree, so a new route is fuzzed at once.

const percentBytes = fc
  .uint8Array({ maxLength: 12 })
  .map((bytes) => [...bytes].map((b) => `%${b.toString(16).padStart(2, "0")}`).join(""));
const urlText = fc.oneof(
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.string({ unit: "grapheme", maxLength: 20 }).map(encodeURIComponent),
  percentBytes,
  fc.constantFrom("", "..", "%", "%2F..%2F", "reg_x", "ses_x", "r".repeat(150), "ja", "en"),
);
const fieldNames = fc.constantFrom(
  "name",
  "email",
  "password",
  "locale",
  "code",
  "identifier",
  "sessionType",
  "keepSignedIn",
  "scope",
  "to",
  "return_to",
  "registration",
  "session",
  "_csrf",
  "__proto__",
  "constructor",
);
const bodyArbitrary = fc.oneof(
  fc.record({ kind: fc.constant("json"), value: fc.jsonValue({ maxDepth: 3 }) }),
  fc.record({
    kind: fc.constant("json"),
    value: fc.dictionary(fieldNames, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }),
  }),
  fc.record({ kind: fc.constant("text"), value: fc.string({ unit: "binary", maxLength: 60 }) }),
  fc.record({ kind: fc.constant("bytes"), value: fc.uint8Array({ maxLength: 60 }) }),
  fc.record({ kind: fc.constant("none"), value: fc.constant(null) }),
);
const contentType = fc.constantFrom(
  undefined,
  "application/json",
  "application/json; charset=utf-8",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data",
  "application/octet-stream",
);

function encodeBody(body: { kind: string; value: unknown }): string | Buffer | undefined {
  if (body.kind === "none") return undefined;
  if (body.kind === "bytes") return Buffer.from(body.value as Uint8Array);
  if (body.kind === "text") return body.value as string;
  return JSON.stringify(body.value) ?? "null";
}

test("no request to any route, however malformed, gets a 500 or an error outside the error shape", async (t) => {
  const s = await buildTestApp(t);
  const account = await s.registerAccount();
  const routes = registeredRoutes(s.app);
  assert.ok(routes.length >= 40, `only ${routes.length} routes found`);
  assert.ok(routes.some((r) => r.method === "DELETE" && r.path === "/api/v1/sessions/:id"));
  // 200 runs in all, spread over every route so that none is left out by chance.
  const runsPerRoute = Math.ceil(200 / routes.length);
  for (const route of routes) {
    await fc.assert(
      fc.asyncProperty(
        fc.array(urlText, { minLength: 2, maxLength: 2 }),
        fc.array(fc.tuple(fc.oneof(fieldNames, urlText), urlText), { maxLength: 3 }),
        bodyArbitrary,
        contentType,
        fc.boolean(),
        fc.constantFrom(undefined, "en", "ja;q=0.5, en", "*", "q=;;,"),
        async (params, query, body, type, signedIn, language) => {
          let index = 0;
          const path = route.path.replace(/:\w+|\*/g, () => params[index++ % params.length] ?? "");
          const search = query.map(([k, v]) => `${k}=${v}`).join("&");
          const headers: Record<string, string> = {};
          if (type) headers["content-type"] = type;
          if (language) headers["accept-language"] = language;
          if (signedIn) Object.assign(headers, { cookie: account.cookie }, sameOrigin(s.config));
          const payload = encodeBody(body);
          const request: InjectOptions = {
            method: route.method as InjectOptions["method"],
            url: search ? `${path}?${search}` : path,
            headers,
            ...(payload === undefined ? {} : { payload }),
          };
          const response = await s.inject(request);
          const where = `${request.method} ${request.url} -> ${response.statusCode} ${response.body.slice(0, 300)}`;
          assert.ok(response.statusCode < 500, where);
          const isJson = /^application\/json/.test(String(response.headers["content-type"]));
          if (route.path.startsWith("/api/") && response.statusCode >= 400 && route.method !== "HEAD") {
            assert.ok(isJson, `an API error must be JSON: ${where}`);
          }
          // The OpenID Connect provider's endpoints answer in OAuth's error shape ({error,
          // error_description}, RFC 6749 section 5.2), which shops' libraries expect (decision 0007).
          const isOAuth = route.path === "/oidc" || route.path.startsWith("/oidc/");
          if (isJson && response.statusCode >= 400 && route.method !== "HEAD" && !isOAuth) {
            assert.ok(isErrorShape(JSON.parse(response.body)), `not the error shape: ${where}`);
          }
        },
      ),
      { numRuns: runsPerRoute },
    );
  }
});

test("text holding a NUL character is refused with 400 before it reaches the database", async (t) => {
  // PostgreSQL can neither store nor compare U+0000: such a value reaching a query was a 500 there.
  const s = await buildTestApp(t);
  const account = await s.registerAccount();
  const page = await s.inject({
    method: "GET",
    url: "/account/security/two-step/methods/%00/remove",
    headers: { cookie: account.cookie },
  });
  assert.equal(page.statusCode, 400);
  assert.match(page.body, /使えない文字（NUL）/);
  const api = await s.signIn({ identifier: `${account.email}\u0000`, password: account.password });
  assertApiError(api, 400, "invalid_request");
  const reset = await s.inject({
    method: "POST",
    url: "/api/v1/password-resets",
    payload: { identifier: "a\u0000b@example.jp" },
  });
  assertApiError(reset, 400, "invalid_request");
  const query = await s.inject({ method: "GET", url: "/sign-in?return_to=%2Faccount%00" });
  assert.equal(query.statusCode, 400);
});
