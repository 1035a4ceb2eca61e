import assert from "node:assert/strict";
import { after, test } from "node:test";
import * as oidc from "openid-client";
import { createClient } from "../../src/oidc/clients.ts";
import { buildTestApp, type TestApp } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import { Browser } from "../support/oidc-inject.ts";
import {
  browseUntilSentAway,
  type RelyingParty,
  relyingParty,
  startSignIn,
} from "../support/openid-client-inject.ts";

// Public clients (RFC 8252, single-page and phone apps: no secret, PKCE S256 always), refresh token
// rotation with replay detection (RFC 9700, section 4.14.2) and DPoP (RFC 9449), through
// openid-client, not Mamori's own code. Run on SQLite, and on PostgreSQL with
// MAMORI_TEST_DATABASE=postgres.

after(stopSharedPostgres);

async function publicApp(s: TestApp, redirectUris: string[]): Promise<string> {
  const created = await createClient(
    s.db,
    { clock: s.clock, random: s.deps.random, secretKeys: s.config.secretKeys },
    {
      name: "やまだ商店アプリ",
      redirectUris,
      postLogoutRedirectUris: [],
      requireTwoStep: false,
      public: true,
    },
  );
  assert.equal(created.clientSecret, undefined, "a public client is given no secret");
  return created.clientId;
}

type Signed = { rp: RelyingParty; browser: Browser };

async function signedInBrowser(s: TestApp): Promise<Browser> {
  const account = await s.registerAccount();
  const browser = new Browser(s);
  browser.setCookieHeader(account.cookie);
  return browser;
}

async function codeFlow(
  { rp, browser }: Signed,
  options: oidc.AuthorizationCodeGrantOptions = {},
): Promise<Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>> {
  const started = await startSignIn(rp, { scope: "openid email offline_access", prompt: "consent" });
  const callback = await browseUntilSentAway(browser, started.url);
  return oidc.authorizationCodeGrant(
    rp.config,
    callback,
    { pkceCodeVerifier: started.verifier, expectedState: started.state, expectedNonce: started.nonce },
    undefined,
    options,
  );
}

test("a single-page app (public client) signs in with PKCE and no secret, and its refresh tokens rotate: a replayed one ends the whole family (RFC 9700 4.14.2)", async (t) => {
  const s = await buildTestApp(t);
  const clientId = await publicApp(s, ["https://app.shop.example.jp/callback"]);
  const rp = await relyingParty(s, { clientId, redirectUri: "https://app.shop.example.jp/callback" });
  const signed = { rp, browser: await signedInBrowser(s) };
  const tokens = await codeFlow(signed);
  assert.ok(tokens.claims()?.sub);
  const first = tokens.refresh_token;
  assert.ok(first, "a refresh token");

  const rotated = await oidc.refreshTokenGrant(rp.config, first);
  assert.ok(rotated.refresh_token && rotated.refresh_token !== first, "a new refresh token each time");
  // The attack: a refresh token copied out of the app (an XSS, a backup) is used by the thief, or
  // the app uses it after the thief did. The second use of a spent token shows the theft: the
  // whole family ends, the app's current token too, and the person signs in again.
  await assert.rejects(oidc.refreshTokenGrant(rp.config, first), (error: unknown) => {
    assert.ok(error instanceof oidc.ResponseBodyError);
    assert.equal(error.error, "invalid_grant");
    return true;
  });
  await assert.rejects(oidc.refreshTokenGrant(rp.config, rotated.refresh_token), oidc.ResponseBodyError);
});

test("a public client cannot sign in without PKCE", async (t) => {
  const s = await buildTestApp(t);
  const clientId = await publicApp(s, ["https://app.shop.example.jp/callback"]);
  const rp = await relyingParty(s, { clientId, redirectUri: "https://app.shop.example.jp/callback" });
  // The attack PKCE stops: an app's code intercepted on its way back is exchanged by another app.
  const url = oidc.buildAuthorizationUrl(rp.config, {
    redirect_uri: rp.redirectUri,
    scope: "openid",
    state: oidc.randomState(),
  });
  const browser = await signedInBrowser(s);
  const refused = await browseUntilSentAway(browser, url);
  assert.equal(refused.searchParams.get("error"), "invalid_request");
  assert.equal(refused.searchParams.get("code"), null);
});

test("a phone app (public client) may use any loopback port and a private-use scheme (RFC 8252 7.1, 7.3), but no other redirect", async (t) => {
  const s = await buildTestApp(t);
  const clientId = await publicApp(s, ["http://127.0.0.1/callback", "jp.example.shop:/callback"]);
  const browser = await signedInBrowser(s);
  for (const redirectUri of ["http://127.0.0.1:53121/callback", "jp.example.shop:/callback"]) {
    const rp = await relyingParty(s, { clientId, redirectUri });
    const tokens = await codeFlow({ rp, browser });
    assert.ok(tokens.claims()?.sub, redirectUri);
  }
  const elsewhere = await relyingParty(s, { clientId, redirectUri: "http://127.0.0.1:53121/other" });
  const { url } = await startSignIn(elsewhere);
  const page = await browser.follow(await browser.request("GET", `${url.pathname}${url.search}`));
  assert.equal(page.statusCode, 400, "an unregistered path is refused on Mamori's page, not redirected to");
});

test("a DPoP-bound access token is refused at userinfo without its proof (RFC 9449)", async (t) => {
  const s = await buildTestApp(t);
  const clientId = await publicApp(s, ["https://app.shop.example.jp/callback"]);
  const rp = await relyingParty(s, { clientId, redirectUri: "https://app.shop.example.jp/callback" });
  const browser = await signedInBrowser(s);
  const keys = await oidc.randomDPoPKeyPair();
  const dpop = oidc.getDPoPHandle(rp.config, keys);
  const tokens = await codeFlow({ rp, browser }, { DPoP: dpop });
  assert.equal(tokens.token_type.toLowerCase(), "dpop");
  const sub = tokens.claims()?.sub;
  assert.ok(sub);

  // With its proof, userinfo answers.
  const info = await oidc.fetchUserInfo(rp.config, tokens.access_token, sub, { DPoP: dpop });
  assert.equal(info.sub, sub);

  // The attack: the access token leaks (a log, a proxy); without the app's private key it is useless.
  for (const authorization of [`Bearer ${tokens.access_token}`, `DPoP ${tokens.access_token}`]) {
    const refused = await s.inject({
      method: "GET",
      url: "/oidc/me",
      headers: { host: s.config.publicUrl.host, authorization },
    });
    assert.ok(
      [400, 401].includes(refused.statusCode),
      `${authorization.split(" ")[0]}: ${refused.statusCode}`,
    );
  }
  // Another key's proof does not do either.
  const otherKeys = await oidc.randomDPoPKeyPair();
  await assert.rejects(
    oidc.fetchUserInfo(rp.config, tokens.access_token, sub, {
      DPoP: oidc.getDPoPHandle(rp.config, otherKeys),
    }),
  );
  // A public client's refresh token is bound to the key as well.
  assert.ok(tokens.refresh_token);
  await assert.rejects(oidc.refreshTokenGrant(rp.config, tokens.refresh_token));
  const refreshed = await oidc.refreshTokenGrant(rp.config, tokens.refresh_token, undefined, { DPoP: dpop });
  assert.equal(refreshed.token_type.toLowerCase(), "dpop");
});

test("a public client's refresh token is spent once even by many parallel refreshes", async (t) => {
  const s = await buildTestApp(t);
  const clientId = await publicApp(s, ["https://app.shop.example.jp/callback"]);
  const rp = await relyingParty(s, { clientId, redirectUri: "https://app.shop.example.jp/callback" });
  const tokens = await codeFlow({ rp, browser: await signedInBrowser(s) });
  assert.ok(tokens.refresh_token);
  // The attack: the thief and the app (or a thief's script) race the same stolen token; two new
  // token families would let the thief keep one unseen.
  const results = await Promise.allSettled(
    Array.from({ length: 12 }, () => oidc.refreshTokenGrant(rp.config, String(tokens.refresh_token))),
  );
  assert.equal(results.filter((result) => result.status === "fulfilled").length, 1);
});

test("the token endpoint answers cross-origin requests only from a public client's own origins", async (t) => {
  const s = await buildTestApp(t);
  const clientId = await publicApp(s, ["https://app.shop.example.jp/callback"]);
  const tokenRequest = (origin: string) =>
    s.inject({
      method: "POST",
      url: "/oidc/token",
      headers: {
        host: s.config.publicUrl.host,
        origin,
        "content-type": "application/x-www-form-urlencoded",
      },
      payload: new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: "x",
        client_id: clientId,
      }).toString(),
    });
  const own = await tokenRequest("https://app.shop.example.jp");
  assert.equal(own.headers["access-control-allow-origin"], "https://app.shop.example.jp");
  // Before, Mamori's cross-site check refused every such request: no single-page app could sign in.
  assert.equal(own.json<{ error: string }>().error, "invalid_grant", "the provider answered, not the check");
  // The attack: a page on another site reads token responses for the app's client id.
  const other = await tokenRequest("https://evil.example");
  assert.equal(other.headers["access-control-allow-origin"], undefined);
  // The check stays on for what acts on the browser's cookies: the logout confirmation.
  const confirm = await s.inject({
    method: "POST",
    url: "/oidc/session/end/confirm",
    headers: {
      host: s.config.publicUrl.host,
      origin: "https://evil.example",
      "content-type": "application/x-www-form-urlencoded",
    },
    payload: "xsrf=x&logout=yes",
  });
  assert.equal(confirm.statusCode, 403);
});
