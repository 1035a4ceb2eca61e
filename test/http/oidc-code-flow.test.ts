import assert from "node:assert/strict";
import { test } from "node:test";
import { buildTestApp } from "../support/app.ts";
import {
  authorizationRequest,
  Browser,
  codeFrom,
  exchangeCode,
  formAction,
  formToken,
  registerShop,
  type Tokens,
  tokenRequest,
  verifiedIdToken,
} from "../support/oidc-inject.ts";

// "Sign in with Mamori": the OpenID Connect authorization code flow with PKCE, through inject().

test("authorization code flow with PKCE signs a Mamori customer in to a shop, with ID token claims, userinfo and refresh", async (t) => {
  const s = await buildTestApp(t);
  const shop = await registerShop(s);
  const account = await s.registerAccount({ email: "oidc-hanako@example.jp", name: "山田 花子" });
  const browser = new Browser(s);
  browser.setCookieHeader(account.cookie);

  const request = authorizationRequest(shop);
  const consent = await browser.follow(await browser.request("GET", request.url));
  assert.equal(consent.statusCode, 200, consent.body);
  assert.match(consent.body, /テスト商店にログイン/);
  assert.match(consent.body, /Eメールアドレス/);
  const allowed = await browser.follow(
    await browser.request("POST", formAction(consent, "consent"), { _csrf: formToken(consent) }),
  );
  const code = codeFrom(allowed, shop, request);

  const exchanged = await exchangeCode(s, shop, code, request.verifier);
  assert.equal(exchanged.statusCode, 200, exchanged.body);
  assert.equal(exchanged.headers["cache-control"], "no-store");
  const tokens = exchanged.json<Tokens>();
  const { claims } = await verifiedIdToken(s, tokens.id_token);
  assert.equal(claims.iss, "http://localhost:3000/oidc");
  assert.equal(claims.aud, shop.clientId);
  assert.equal(claims.sub, account.accountId);
  assert.equal(claims.nonce, request.nonce);
  assert.equal(claims.email, "oidc-hanako@example.jp");
  assert.equal(claims.email_verified, true);
  assert.equal(claims.name, "山田 花子");
  assert.equal(claims.acr, "urn:mamori:aal1");
  assert.deepEqual(claims.amr, ["pwd", "email"]);

  const userinfo = await s.inject({
    method: "GET",
    url: "/oidc/me",
    headers: { host: s.config.publicUrl.host, authorization: `Bearer ${tokens.access_token}` },
  });
  assert.equal(userinfo.statusCode, 200, userinfo.body);
  assert.deepEqual(userinfo.json(), {
    sub: account.accountId,
    email: "oidc-hanako@example.jp",
    email_verified: true,
    name: "山田 花子",
  });

  assert.ok(tokens.refresh_token, "a refresh token is issued");
  const refreshed = await tokenRequest(s, shop, {
    grant_type: "refresh_token",
    refresh_token: tokens.refresh_token,
  });
  assert.equal(refreshed.statusCode, 200, refreshed.body);
  const renewed = refreshed.json<Tokens>();
  const renewedClaims = (await verifiedIdToken(s, renewed.id_token)).claims;
  assert.equal(renewedClaims.sub, account.accountId);
  assert.equal(renewedClaims.acr, "urn:mamori:aal1");

  // The code works once; a replayed code also revokes what it gave (RFC 6749 section 4.1.2).
  const again = await exchangeCode(s, shop, code, request.verifier);
  assert.equal(again.statusCode, 400);
  assert.equal(again.json<{ error: string }>().error, "invalid_grant");
  const afterReplay = await tokenRequest(s, shop, {
    grant_type: "refresh_token",
    refresh_token: renewed.refresh_token ?? tokens.refresh_token,
  });
  assert.equal(afterReplay.statusCode, 400, afterReplay.body);
  assert.equal(afterReplay.json<{ error: string }>().error, "invalid_grant");
});

test("a suspended account's refresh and access tokens stop working at once", async (t) => {
  const s = await buildTestApp(t);
  const shop = await registerShop(s);
  const account = await s.registerAccount();
  const browser = new Browser(s);
  browser.setCookieHeader(account.cookie);
  const request = authorizationRequest(shop);
  const consent = await browser.follow(await browser.request("GET", request.url));
  const allowed = await browser.follow(
    await browser.request("POST", formAction(consent, "consent"), { _csrf: formToken(consent) }),
  );
  const tokens = (
    await exchangeCode(s, shop, codeFrom(allowed, shop, request), request.verifier)
  ).json<Tokens>();
  assert.ok(tokens.refresh_token);

  await s.db
    .updateTable("account")
    .set({ status: "suspended" })
    .where("id", "=", account.accountId)
    .execute();
  const refreshed = await tokenRequest(s, shop, {
    grant_type: "refresh_token",
    refresh_token: tokens.refresh_token,
  });
  assert.equal(refreshed.statusCode, 400, refreshed.body);
  assert.equal(refreshed.json<{ error: string }>().error, "invalid_grant");
  const userinfo = await s.inject({
    method: "GET",
    url: "/oidc/me",
    headers: { host: s.config.publicUrl.host, authorization: `Bearer ${tokens.access_token}` },
  });
  assert.equal(userinfo.statusCode, 401, userinfo.body);
});

test("a password change ends the shop's refresh tokens, and the next sign-in at the shop works again", async (t) => {
  const s = await buildTestApp(t);
  const shop = await registerShop(s);
  const account = await s.registerAccount();
  const browser = new Browser(s);
  browser.setCookieHeader(account.cookie);
  const first = authorizationRequest(shop);
  const consent = await browser.follow(await browser.request("GET", first.url));
  const allowed = await browser.follow(
    await browser.request("POST", formAction(consent, "consent"), { _csrf: formToken(consent) }),
  );
  const tokens = (await exchangeCode(s, shop, codeFrom(allowed, shop, first), first.verifier)).json<Tokens>();
  assert.ok(tokens.refresh_token);

  // The attack: a refresh token taken before the owner changed a compromised password.
  s.clock.advance(5);
  const changed = await s.inject({
    method: "PUT",
    url: "/api/v1/security/password",
    headers: { cookie: browser.cookieHeader(), origin: s.config.publicUrl.origin },
    payload: { currentPassword: account.password, newPassword: "Hoshi-Kaze-Tsuki-9920-Nami" },
  });
  assert.equal(changed.statusCode, 200, changed.body);
  for (const header of [changed.headers["set-cookie"]].flat()) if (header) browser.setCookieHeader(header);
  const refreshed = await tokenRequest(s, shop, {
    grant_type: "refresh_token",
    refresh_token: tokens.refresh_token,
  });
  assert.equal(refreshed.statusCode, 400, refreshed.body);
  assert.equal(refreshed.json<{ error: string }>().error, "invalid_grant");

  // The owner, still signed in to Mamori, signs in to the shop again without typing anything.
  const again = authorizationRequest(shop);
  const back = await browser.follow(await browser.request("GET", again.url));
  const exchanged = await exchangeCode(s, shop, codeFrom(back, shop, again), again.verifier);
  assert.equal(exchanged.statusCode, 200, exchanged.body);
});
