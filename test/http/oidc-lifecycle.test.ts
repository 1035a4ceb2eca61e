import assert from "node:assert/strict";
import { test } from "node:test";
import { rotateSigningKeys } from "../../src/oidc/signing-keys.ts";
import { buildTestApp, sameOrigin, type TestApp } from "../support/app.ts";
import {
  authorizationRequest,
  Browser,
  codeFrom,
  exchangeCode,
  formAction,
  formToken,
  registerShop,
  type ShopClient,
  type Tokens,
  tokenRequest,
  verifiedIdToken,
} from "../support/oidc-inject.ts";

// The provider's published metadata and keys, PKCE, and the ends of a shop's sign-in: Mamori's
// sign-out, the shop's logout (RP-initiated), and key rotation.

async function signInToShop(
  s: TestApp,
  shop: ShopClient,
  browser: Browser,
): Promise<{ tokens: Tokens; request: ReturnType<typeof authorizationRequest> }> {
  const request = authorizationRequest(shop);
  let page = await browser.follow(await browser.request("GET", request.url));
  if (page.statusCode === 200) {
    page = await browser.follow(
      await browser.request("POST", formAction(page, "consent"), { _csrf: formToken(page) }),
    );
  }
  const exchanged = await exchangeCode(s, shop, codeFrom(page, shop, request), request.verifier);
  assert.equal(exchanged.statusCode, 200, exchanged.body);
  return { tokens: exchanged.json<Tokens>(), request };
}

test("discovery is at the issuer's /.well-known/openid-configuration: code flow, S256 only, Mamori's acr values", async (t) => {
  const s = await buildTestApp(t);
  const response = await s.inject({
    method: "GET",
    url: "/oidc/.well-known/openid-configuration",
    headers: { host: "localhost:3000" },
  });
  assert.equal(response.statusCode, 200, response.body);
  const metadata = response.json<Record<string, unknown>>();
  assert.equal(metadata.issuer, "http://localhost:3000/oidc");
  assert.equal(metadata.authorization_endpoint, "http://localhost:3000/oidc/auth");
  assert.equal(metadata.token_endpoint, "http://localhost:3000/oidc/token");
  assert.equal(metadata.jwks_uri, "http://localhost:3000/oidc/jwks");
  assert.equal(metadata.end_session_endpoint, "http://localhost:3000/oidc/session/end");
  assert.deepEqual(metadata.response_types_supported, ["code"]);
  assert.deepEqual(metadata.code_challenge_methods_supported, ["S256"]);
  assert.deepEqual(metadata.acr_values_supported, ["urn:mamori:aal1", "urn:mamori:aal2"]);
  assert.deepEqual(metadata.id_token_signing_alg_values_supported, ["RS256"]);
  for (const claim of ["sub", "email", "name", "phone_number", "acr", "amr"]) {
    assert.ok((metadata.claims_supported as string[]).includes(claim), claim);
  }
});

test("an authorization request without PKCE is refused, and a wrong code_verifier gets no tokens", async (t) => {
  const s = await buildTestApp(t);
  const shop = await registerShop(s);
  const account = await s.registerAccount();
  const browser = new Browser(s);
  browser.setCookieHeader(account.cookie);
  const withoutPkce = authorizationRequest(shop);
  const url = new URL(withoutPkce.url, "http://x");
  url.searchParams.delete("code_challenge");
  url.searchParams.delete("code_challenge_method");
  const refused = await browser.request("GET", `${url.pathname}${url.search}`);
  assert.equal(refused.statusCode, 303);
  const location = new URL(String(refused.headers.location));
  assert.equal(location.searchParams.get("error"), "invalid_request");
  assert.match(String(location.searchParams.get("error_description")), /requires PKCE/);

  // A stolen code without the verifier is worthless (RFC 7636).
  const request = authorizationRequest(shop);
  let page = await browser.follow(await browser.request("GET", request.url));
  page = await browser.follow(
    await browser.request("POST", formAction(page, "consent"), { _csrf: formToken(page) }),
  );
  const code = codeFrom(page, shop, request);
  const wrong = await exchangeCode(s, shop, code, "x".repeat(43));
  assert.equal(wrong.statusCode, 400);
  assert.equal(wrong.json<{ error: string }>().error, "invalid_grant");
});

test("an unknown client, an unregistered redirect URI and a wrong client secret are refused", async (t) => {
  const s = await buildTestApp(t);
  const shop = await registerShop(s);
  const browser = new Browser(s);
  const unknown = await browser.request(
    "GET",
    authorizationRequest({ ...shop, clientId: "cli_unknown" }).url,
  );
  assert.equal(unknown.statusCode, 400);
  assert.match(unknown.body, /invalid_client/);
  assert.match(unknown.body, /<html lang="ja">/, "in Mamori's own page");
  // An attacker's redirect URI never receives anything: Mamori shows the error itself.
  const evil = await browser.request(
    "GET",
    authorizationRequest({ ...shop, redirectUri: "https://evil.example/callback" }).url,
  );
  assert.equal(evil.statusCode, 400);
  assert.equal(evil.headers.location, undefined);
  const badSecret = await tokenRequest(
    s,
    { ...shop, clientSecret: "wrong" },
    { grant_type: "refresh_token", refresh_token: "x" },
  );
  assert.equal(badSecret.statusCode, 401);
  assert.equal(badSecret.json<{ error: string }>().error, "invalid_client");
});

test("signing out of Mamori sends the shop's next sign-in back through Mamori's sign-in page", async (t) => {
  const s = await buildTestApp(t);
  const shop = await registerShop(s);
  const account = await s.registerAccount();
  const browser = new Browser(s);
  browser.setCookieHeader(account.cookie);
  await signInToShop(s, shop, browser);

  const signedOut = await s.inject({
    method: "DELETE",
    url: "/api/v1/session",
    headers: { cookie: browser.cookieHeader(), ...sameOrigin(s.config) },
  });
  assert.equal(signedOut.statusCode, 204);
  // The provider's own session cookie is still in the browser; Mamori's session is not live.
  assert.ok(browser.cookies.has("mamori_oidc_session"));
  const request = authorizationRequest(shop);
  const page = await browser.follow(await browser.request("GET", request.url));
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /action="\/sign-in"/, "Mamori's sign-in page");
  assert.match(page.body, /name="return_to" value="\/oidc\/interaction\//);
});

test("RP-initiated logout ends the shop's tokens and, when asked, Mamori's session", async (t) => {
  const s = await buildTestApp(t);
  const shop = await registerShop(s);
  const account = await s.registerAccount();
  const browser = new Browser(s);
  browser.setCookieHeader(account.cookie);
  const { tokens } = await signInToShop(s, shop, browser);

  const query = new URLSearchParams({
    id_token_hint: tokens.id_token,
    post_logout_redirect_uri: shop.logoutUri,
    state: "bye",
  });
  const confirm = await browser.request("GET", `/oidc/session/end?${query}`);
  assert.equal(confirm.statusCode, 200, confirm.body);
  assert.match(confirm.body, /テスト商店からログアウトします/);
  const action = /<form method="post" action="([^"]+)">/.exec(confirm.body)?.[1];
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirm.body)?.[1];
  assert.ok(action && xsrf);
  const done = await browser.request("POST", new URL(action).pathname, { xsrf, logout: "yes" });
  // Back to the shop by a new navigation (Refresh), not a redirect after the form (CSP form-action).
  assert.equal(done.statusCode, 200, done.body);
  assert.equal(done.headers.refresh, `0;url=${shop.logoutUri}?state=bye`);
  assert.equal(done.headers.location, undefined);

  assert.ok(tokens.refresh_token);
  const refresh = await tokenRequest(s, shop, {
    grant_type: "refresh_token",
    refresh_token: tokens.refresh_token,
  });
  assert.equal(refresh.statusCode, 400, refresh.body);
  assert.equal(refresh.json<{ error: string }>().error, "invalid_grant");
  const me = await s.inject({ method: "GET", url: "/api/v1/session", headers: { cookie: account.cookie } });
  assert.equal(me.statusCode, 401, "Mamori's session ended too");
  const row = await s.db
    .selectFrom("session")
    .select("revoked_at")
    .where("id", "=", account.sessionId)
    .executeTakeFirstOrThrow();
  assert.notEqual(row.revoked_at, null);
});

test("JWKS publishes the current and previous keys after a rotation, and new ID tokens are signed with the new key", async (t) => {
  const s = await buildTestApp(t);
  const shop = await registerShop(s);
  const account = await s.registerAccount();
  const browser = new Browser(s);
  browser.setCookieHeader(account.cookie);
  const before = await verifiedIdToken(s, (await signInToShop(s, shop, browser)).tokens.id_token);

  const keyDeps = { clock: s.clock, random: s.deps.random, secretKeys: s.config.secretKeys };
  const first = await rotateSigningKeys(s.db, keyDeps);
  assert.equal(first.previous, before.kid);
  const jwks = async (): Promise<string[]> =>
    (await s.inject({ method: "GET", url: "/oidc/jwks" }))
      .json<{ keys: { kid: string; d?: string }[] }>()
      .keys.map((k) => {
        assert.equal(k.d, undefined, "never a private key");
        return k.kid;
      });
  assert.deepEqual(await jwks(), [first.current, before.kid]);
  const after = await verifiedIdToken(s, (await signInToShop(s, shop, browser)).tokens.id_token);
  assert.equal(after.kid, first.current);

  // A second rotation retires the oldest key from the JWKS.
  const second = await rotateSigningKeys(s.db, keyDeps);
  assert.deepEqual(await jwks(), [second.current, first.current]);
  const stored = await s.db
    .selectFrom("oidc_signing_key")
    .select(["id", "state", "private_jwk_encrypted"])
    .execute();
  assert.equal(stored.find((k) => k.id === before.kid)?.state, "retired");
  for (const key of stored) assert.doesNotMatch(key.private_jwk_encrypted, /"d"/, "stored encrypted");
});

test("malformed requests to the provider get a 4xx, never a 500", async (t) => {
  const s = await buildTestApp(t);
  const requests: { method: "GET" | "POST"; url: string; type?: string; payload?: string }[] = [
    {
      method: "POST",
      url: "/oidc/token",
      type: "application/x-www-form-urlencoded",
      payload: "grant_type=%ZZ",
    },
    { method: "POST", url: "/oidc/token", type: "application/json", payload: "{bad" },
    {
      method: "POST",
      url: "/oidc/token",
      type: "application/x-www-form-urlencoded",
      payload: "a=".padEnd(70_000, "x"),
    },
    { method: "GET", url: "/oidc/auth?client_id=%E0%A4%A" },
    { method: "GET", url: "/oidc/auth?client_id=1&client_id=2" },
    { method: "GET", url: "/oidc?x=1" },
    { method: "GET", url: "/oidc/%ZZ" },
    { method: "GET", url: "/oidc/interaction/unknown" },
    {
      method: "POST",
      url: "/oidc/interaction/unknown/consent",
      type: "application/x-www-form-urlencoded",
      payload: "_csrf=x",
    },
    { method: "GET", url: "/oidc/session/end?id_token_hint=abc" },
    {
      method: "POST",
      url: "/oidc/session/end/confirm",
      type: "application/x-www-form-urlencoded",
      payload: "xsrf=1",
    },
    { method: "GET", url: "/oidc/me" },
  ];
  for (const request of requests) {
    const response = await s.inject({
      method: request.method,
      url: request.url,
      headers: request.type ? { "content-type": request.type } : {},
      ...(request.payload === undefined ? {} : { payload: request.payload }),
    });
    const where = `${request.method} ${request.url.slice(0, 60)} -> ${response.statusCode}`;
    assert.ok(response.statusCode >= 400 && response.statusCode < 500, where);
  }
});
