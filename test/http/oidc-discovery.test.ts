import assert from "node:assert/strict";
import { after, test } from "node:test";
import * as oidc from "openid-client";
import { buildTestApp } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import { Browser, registerShop } from "../support/oidc-inject.ts";
import { browseUntilSentAway, relyingParty, startSignIn } from "../support/openid-client-inject.ts";

// Discovery advertises only what a registered client can use: a shop's library picks from it
// (openid-client takes the first auth method both sides know, a response mode, PAR when offered),
// and an advertised feature that fails leaves the shop unable to sign anyone in.
// Run on SQLite, and on PostgreSQL with MAMORI_TEST_DATABASE=postgres.

after(stopSharedPostgres);

test("discovery advertises only what a registered client can use, and each advertised feature works", async (t) => {
  const s = await buildTestApp(t);
  const shop = await registerShop(s);
  const rp = await relyingParty(s, shop);
  const metadata = rp.config.serverMetadata();
  // Before: client_secret_post, client_secret_jwt and private_key_jwt (no client is registered for
  // them), and the response modes form_post (stopped by Mamori's CSP) and fragment.
  assert.deepEqual(metadata.token_endpoint_auth_methods_supported, ["client_secret_basic", "none"]);
  assert.deepEqual(metadata.response_modes_supported, ["query"]);
  assert.deepEqual(metadata.response_types_supported, ["code"]);
  // The device code grant is a --device client's (its flow is tested in oidc-device-flow.test.ts).
  assert.deepEqual(metadata.grant_types_supported, [
    "authorization_code",
    "refresh_token",
    "urn:ietf:params:oauth:grant-type:device_code",
  ]);
  assert.ok(String(metadata.device_authorization_endpoint).startsWith(s.config.issuer.href));
  assert.deepEqual(metadata.code_challenge_methods_supported, ["S256"]);
  assert.equal(metadata.backchannel_logout_supported, true);
  assert.equal(metadata.backchannel_logout_session_supported, true);
  assert.equal(
    metadata.frontchannel_logout_supported,
    undefined,
    "oidc-provider 9 has no front-channel logout",
  );
  assert.ok(metadata.dpop_signing_alg_values_supported?.includes("ES256"));

  const account = await s.registerAccount();
  const browser = new Browser(s);
  browser.setCookieHeader(account.cookie);

  // Pushed authorization requests (RFC 9126), advertised, complete a sign-in.
  assert.ok(metadata.pushed_authorization_request_endpoint);
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const pushed = await oidc.buildAuthorizationUrlWithPAR(rp.config, {
    redirect_uri: shop.redirectUri,
    scope: "openid email",
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    nonce,
  });
  const callback = await browseUntilSentAway(browser, pushed);
  const tokens = await oidc.authorizationCodeGrant(rp.config, callback, {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
  });
  assert.equal(tokens.claims()?.sub, account.accountId);

  // A response mode not advertised is refused, not half-done.
  const formPost = await startSignIn(rp, { response_mode: "form_post" });
  const refused = await browser.follow(
    await browser.request("GET", `${formPost.url.pathname}${formPost.url.search}`),
  );
  assert.notEqual(refused.statusCode, 200, "no auto-submitting form to the shop");
  const location = refused.headers.location ? new URL(String(refused.headers.location)) : undefined;
  assert.equal(location?.searchParams.get("code") ?? null, null);
});
