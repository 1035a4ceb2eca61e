import assert from "node:assert/strict";
import { test } from "node:test";
import type { InjectOptions, LightMyRequestResponse } from "fastify";
import { buildTestApp, type TestApp } from "../support/app.ts";
import { authorizationRequest, formAction, formToken, registerShop } from "../support/oidc-inject.ts";
import { accountWithApp, oathtoolCode } from "../support/two-step.ts";

// Every cookie Mamori sets in production is a `__Host-` cookie: Secure, Path=/, no Domain.
// Attack it stops: a page on a sibling subdomain (shop.example.jp beside id.shop.example.jp), or any
// plain-http answer an attacker can inject on the network, sets a cookie of the same name for the
// parent domain or a deeper path: the browser then sends the attacker's value first (a form token
// they know, a language, a flow binding of their own sign-in, "session fixation" of a shop sign-in).
// A browser refuses any `__Host-` cookie that did not come Secure, host-only and on Path=/.

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

/** A browser on https behind the TLS proxy: a cookie jar, and every Set-Cookie line it was given. */
class HttpsBrowser {
  readonly jar = new Map<string, string>();
  readonly setCookies: { line: string; url: string }[] = [];
  readonly s: TestApp;
  constructor(s: TestApp) {
    this.s = s;
  }

  async request(
    method: "GET" | "POST",
    url: string,
    body?: Record<string, string> | object,
  ): Promise<LightMyRequestResponse> {
    const form = body && method === "POST" && !("json" in body);
    const options: InjectOptions = {
      method,
      url,
      headers: {
        host: this.s.config.publicUrl.host,
        "x-forwarded-proto": "https",
        cookie: [...this.jar].map(([name, value]) => `${name}=${value}`).join("; "),
        ...(method === "POST" ? { origin: this.s.config.publicUrl.origin } : {}),
        ...(form ? { "content-type": "application/x-www-form-urlencoded" } : {}),
      },
      ...(body
        ? {
            payload: form
              ? new URLSearchParams(body as Record<string, string>).toString()
              : (body as { json: object }).json,
          }
        : {}),
    };
    const response = await this.s.inject(options);
    const raw = response.headers["set-cookie"];
    for (const line of raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]) {
      this.setCookies.push({ line, url });
      const pair = line.split(";")[0] ?? "";
      const name = pair.slice(0, pair.indexOf("="));
      const value = pair.slice(pair.indexOf("=") + 1);
      if (value === "" || /expires=Thu, 01 Jan 1970/i.test(line)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return response;
  }

  /** Follows redirects and "continue" pages (Refresh) while they stay on Mamori. */
  async follow(response: LightMyRequestResponse): Promise<LightMyRequestResponse> {
    let current = response;
    for (let i = 0; i < 10; i++) {
      const refresh = /^0;url=(.+)$/.exec(String(current.headers.refresh ?? ""))?.[1];
      const to = current.statusCode >= 300 && current.statusCode < 400 ? current.headers.location : refresh;
      if (typeof to !== "string") return current;
      const next = new URL(to, this.s.config.publicUrl);
      if (next.origin !== this.s.config.publicUrl.origin) return current;
      current = await this.request("GET", `${next.pathname}${next.search}`);
    }
    throw new Error("too many redirects");
  }
}

function csrfOf(page: LightMyRequestResponse): string {
  const token = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
  assert.ok(token, `a form token on the page: ${page.statusCode}`);
  return token;
}

test("every cookie Mamori sets in production is a __Host- cookie (Secure, Path=/, no Domain)", async (t) => {
  const s = await buildTestApp(t, { env: productionEnv });
  assert.equal(s.config.cookieSecure, true);
  const owner = await accountWithApp(s);
  const browser = new HttpsBrowser(s);

  // Language switch, sign-in page (form token), password, then the two-step page with "trust this browser".
  await browser.request("GET", "/locale/en?return_to=/sign-in");
  const signInPage = await browser.request("GET", "/sign-in");
  const posted = await browser.request("POST", "/sign-in", {
    _csrf: csrfOf(signInPage),
    identifier: owner.email,
    password: owner.password,
  });
  const challenge = await browser.follow(posted);
  assert.equal(challenge.statusCode, 200, challenge.body);
  s.clock.advance(30);
  const action = String(posted.headers.location).split("?")[0] ?? "";
  const signedIn = await browser.request("POST", action, {
    _csrf: csrfOf(challenge),
    code: oathtoolCode(owner.secret, s.clock.now()),
    trust_device: "1",
    return_to: "/account",
  });
  assert.equal(signedIn.headers.location, "/account", signedIn.body);
  assert.ok(
    [...browser.jar.keys()].some((name) => name === "__Host-mamori_trusted"),
    "the trusted-browser cookie",
  );

  // A shop's sign-in (OIDC): interaction, consent, resume and the provider's session.
  const shop = await registerShop(s);
  const authorization = authorizationRequest(shop);
  const consent = await browser.follow(await browser.request("GET", authorization.url));
  assert.equal(consent.statusCode, 200, consent.body);
  const back = await browser.follow(
    await browser.request("POST", formAction(consent, "consent"), { _csrf: formToken(consent) }),
  );
  assert.equal(back.statusCode, 303, back.body);
  const shopUrl = new URL(String(back.headers.location));
  assert.equal(`${shopUrl.origin}${shopUrl.pathname}`, shop.redirectUri);
  assert.ok(shopUrl.searchParams.get("code"), "the shop got its code: the renamed cookies still work");

  // The JSON API's sign-in (a second step's cookie), a password reset, a forgotten email, sign-out.
  s.clock.advance(30);
  await browser.request("POST", "/api/v1/sign-in", {
    json: { identifier: owner.email, password: owner.password },
  });
  const resetPage = await browser.request("GET", "/password-reset");
  await browser.request("POST", "/password-reset", { _csrf: csrfOf(resetPage), identifier: owner.email });
  const reminderPage = await browser.request("GET", "/email-reminder");
  await browser.request("POST", "/email-reminder", { _csrf: csrfOf(reminderPage), phone: "090-1234-5678" });
  const account = await browser.request("GET", "/account");
  await browser.request("POST", "/sign-out", { _csrf: csrfOf(account) });

  const names = new Set(browser.setCookies.map(({ line }) => line.slice(0, line.indexOf("="))));
  for (const expected of [
    "__Host-mamori_csrf",
    "__Host-locale",
    "__Host-mamori_session",
    "__Host-mamori_trusted",
    "__Host-mamori_oidc_session",
  ]) {
    assert.ok(names.has(expected), `${expected} was set on the way (${[...names].join(", ")})`);
  }
  for (const kind of [
    "mamori_sign_in",
    "mamori_reset",
    "mamori_email_reminder",
    "mamori_oidc_interaction",
    "mamori_oidc_resume",
  ]) {
    assert.ok(
      [...names].some((name) => name.startsWith(`__Host-${kind}_`)),
      `a ${kind} cookie was set on the way (${[...names].join(", ")})`,
    );
  }
  for (const { line, url } of browser.setCookies) {
    const [pair = "", ...attributes] = line.split(";").map((part) => part.trim());
    const lower = attributes.map((a) => a.toLowerCase());
    assert.match(pair, /^__Host-/, `${url} set ${line}`);
    assert.ok(lower.includes("secure"), `${url} set it without Secure: ${line}`);
    assert.ok(lower.includes("path=/"), `${url} set it on another path: ${line}`);
    assert.equal(lower.filter((a) => a.startsWith("path=")).length, 1, line);
    assert.ok(!lower.some((a) => a.startsWith("domain=")), `${url} set it with a Domain: ${line}`);
  }
});

test("a shop sign-in's cookies are one per sign-in: two begun in two tabs each finish", async (t) => {
  // The provider scoped them by path, which __Host- forbids: the sign-in's uid is now in the name.
  const s = await buildTestApp(t, { env: productionEnv });
  const owner = await s.registerAccount();
  const browser = new HttpsBrowser(s);
  for (const pair of owner.cookie.split("; ")) {
    browser.jar.set(pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1));
  }
  const shop = await registerShop(s);
  const first = authorizationRequest(shop);
  const second = authorizationRequest(shop);
  const firstConsent = await browser.follow(await browser.request("GET", first.url));
  const secondConsent = await browser.follow(await browser.request("GET", second.url));
  for (const [consent, request] of [
    [firstConsent, first],
    [secondConsent, second],
  ] as const) {
    assert.equal(consent.statusCode, 200, consent.body);
    const back = await browser.follow(
      await browser.request("POST", formAction(consent, "consent"), { _csrf: formToken(consent) }),
    );
    const shopUrl = new URL(String(back.headers.location));
    assert.equal(shopUrl.searchParams.get("state"), request.state, "each tab gets its own answer");
    assert.ok(shopUrl.searchParams.get("code"));
  }
});
