import assert from "node:assert/strict";
import { after, test } from "node:test";
import type { LightMyRequestResponse } from "fastify";
import * as oidc from "openid-client";
import { buildTestApp, sameOrigin, type TestApp } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import { Browser, formToken, registerShop } from "../support/oidc-inject.ts";
import {
  alignClock,
  browseUntilSentAway,
  type RelyingParty,
  relyingParty,
  type StartedSignIn,
  startSignIn,
} from "../support/openid-client-inject.ts";

// OpenID Connect Core 1.0, 3.1.2.1 and 3.1.2.6, checked by openid-client (the certified relying
// party library), not by Mamori's own code: max_age and prompt=login make the person sign in
// again, the ID token's auth_time is that sign-in, and prompt=none answers login_required when a
// sign-in is needed. Run on SQLite, and on PostgreSQL with MAMORI_TEST_DATABASE=postgres.

after(stopSharedPostgres);

type Scene = { s: TestApp; rp: RelyingParty; browser: Browser; password: string };

async function scene(t: Parameters<typeof buildTestApp>[0]): Promise<Scene> {
  const s = await buildTestApp(t);
  // openid-client checks auth_time and max_age against its own clock: Mamori's fake one starts now.
  alignClock(s);
  const shop = await registerShop(s);
  const account = await s.registerAccount({ locale: "en" });
  const browser = new Browser(s);
  browser.setCookieHeader(account.cookie);
  const rp = await relyingParty(s, shop);
  // A first sign-in at the shop: the provider's own session now exists, as in life.
  const first = await startSignIn(rp);
  await finishSignIn(rp, first, await browseUntilSentAway(browser, first.url));
  return { s, rp, browser, password: account.password };
}

async function finishSignIn(
  rp: RelyingParty,
  started: StartedSignIn,
  callback: URL,
  maxAge?: number,
): Promise<oidc.IDToken> {
  const tokens = await oidc.authorizationCodeGrant(rp.config, callback, {
    pkceCodeVerifier: started.verifier,
    expectedState: started.state,
    expectedNonce: started.nonce,
    idTokenExpected: true,
    ...(maxAge === undefined ? {} : { maxAge }),
  });
  const claims = tokens.claims();
  assert.ok(claims, "an ID token");
  return claims;
}

/** The browser is on Mamori's "enter your password" page: it enters it; the answer to follow. */
async function enterPasswordAgain(
  { browser, password }: Scene,
  page: LightMyRequestResponse,
): Promise<LightMyRequestResponse> {
  assert.equal(page.statusCode, 200, page.body);
  assert.match(page.body, /action="\/account\/security\/reauthenticate"/, "asked for the password again");
  const returnTo = /name="return_to" value="([^"]+)"/.exec(page.body)?.[1];
  assert.match(String(returnTo), /^\/oidc\/interaction\//);
  return browser.request("POST", "/account/security/reauthenticate", {
    _csrf: formToken(page),
    return_to: String(returnTo),
    password,
  });
}

/** Goes to Mamori with the request; returns the page it stops at (not a redirect to the shop). */
async function visit(scene_: Scene, started: StartedSignIn): Promise<LightMyRequestResponse> {
  const { browser } = scene_;
  return browser.follow(await browser.request("GET", `${started.url.pathname}${started.url.search}`));
}

/** Follows a reauthentication's answer back to the shop (the consent was given before). */
async function backToShop(scene_: Scene, answer: LightMyRequestResponse): Promise<URL> {
  const sent = await scene_.browser.follow(answer);
  assert.equal(sent.statusCode, 303, sent.body.slice(0, 300));
  return new URL(String(sent.headers.location));
}

test("max_age: a sign-in older than max_age makes the person sign in again, and auth_time is that sign-in (OIDC Core 3.1.2.1)", async (t) => {
  const scene_ = await scene(t);
  const { s } = scene_;
  let { rp } = scene_;
  // The attack the shop guards against with max_age: someone at an unattended, long-signed-in
  // browser buys with the owner's account. Before, Mamori ignored max_age (a string), handed out a
  // code at once, and the ID token carried the old auth_time, which openid-client then refused.
  s.clock.advance(120);
  rp = scene_.rp.skewed(120);
  const started = await startSignIn(rp, { max_age: "60" });
  const asked = await visit(scene_, started);
  s.clock.advance(3);
  rp = scene_.rp.skewed(123);
  const reauthenticatedAt = Math.floor(s.clock.now().getTime() / 1000);
  const callback = await backToShop(scene_, await enterPasswordAgain(scene_, asked));
  const claims = await finishSignIn(rp, started, callback, 60);
  assert.equal(claims.auth_time, reauthenticatedAt, "auth_time is the new sign-in");

  // Within max_age no second password is asked, and auth_time stays that sign-in.
  s.clock.advance(10);
  rp = scene_.rp.skewed(133);
  const soon = await startSignIn(rp, { max_age: "60" });
  const silentClaims = await finishSignIn(rp, soon, await browseUntilSentAway(scene_.browser, soon.url), 60);
  assert.equal(silentClaims.auth_time, reauthenticatedAt);

  // prompt=none cannot ask: the answer is login_required, and no code.
  s.clock.advance(120);
  rp = scene_.rp.skewed(253);
  const silent = await startSignIn(rp, { max_age: "60", prompt: "none" });
  const refused = await browseUntilSentAway(scene_.browser, silent.url);
  assert.equal(refused.searchParams.get("error"), "login_required");
  assert.equal(refused.searchParams.get("code"), null);
});

const asks: Record<string, string>[] = [{ prompt: "login" }, { max_age: "0" }];
for (const ask of asks) {
  const name = Object.entries(ask)
    .map(([key, value]) => `${key}=${value}`)
    .join("");
  test(`${name} asks for the password again even seconds after a sign-in: no window in which an earlier sign-in counts (OIDC Core 3.1.2.1)`, async (t) => {
    const scene_ = await scene(t);
    const { s } = scene_;
    let { rp } = scene_;
    // Before, a sign-in within 5 minutes counted as "just now": a shop asking to be sure the person
    // at the keyboard is the owner got a code without any proof.
    s.clock.advance(10);
    rp = scene_.rp.skewed(10);
    const started = await startSignIn(rp, ask);
    const asked = await visit(scene_, started);
    s.clock.advance(2);
    rp = scene_.rp.skewed(12);
    const reauthenticatedAt = Math.floor(s.clock.now().getTime() / 1000);
    const callback = await backToShop(scene_, await enterPasswordAgain(scene_, asked));
    const claims = await finishSignIn(rp, started, callback);
    assert.equal(claims.auth_time, reauthenticatedAt);
  });
}

test("prompt=none answers login_required when the person signed out of Mamori while the provider's session lived (OIDC Core 3.1.2.6)", async (t) => {
  const scene_ = await scene(t);
  const { s, rp, browser } = scene_;
  const mamoriCookie = [...browser.cookies].find(([name]) => name === s.config.sessionCookieName);
  assert.ok(mamoriCookie);
  const signedOut = await s.inject({
    method: "DELETE",
    url: "/api/v1/session",
    headers: { cookie: `${mamoriCookie[0]}=${mamoriCookie[1]}`, ...sameOrigin(s.config) },
  });
  assert.equal(signedOut.statusCode, 204, signedOut.body);
  // The provider's cookie is still in the browser; Mamori's session is gone.
  const silent = await startSignIn(rp, { prompt: "none" });
  const refused = await browseUntilSentAway(browser, silent.url);
  assert.equal(refused.searchParams.get("error"), "login_required");
  assert.equal(refused.searchParams.get("code"), null);
});

test("prompt=none answers login_required to a shop demanding two-step of a password-only session (OIDC Core 3.1.2.6)", async (t) => {
  const { rp, browser } = await scene(t);
  const silent = await startSignIn(rp, { prompt: "none", acr_values: "urn:mamori:aal2" });
  const refused = await browseUntilSentAway(browser, silent.url);
  assert.equal(refused.searchParams.get("error"), "login_required");
  assert.equal(refused.searchParams.get("code"), null);
});

test("prompt=none answers consent_required to a shop the person never allowed, and signs in silently where they did", async (t) => {
  const scene_ = await scene(t);
  const { s, browser } = scene_;
  const other = await relyingParty(s, await registerShop(s));
  const refused = await browseUntilSentAway(browser, (await startSignIn(other, { prompt: "none" })).url);
  assert.equal(refused.searchParams.get("error"), "consent_required");
  const allowed = await startSignIn(scene_.rp, { prompt: "none" });
  const claims = await finishSignIn(scene_.rp, allowed, await browseUntilSentAway(browser, allowed.url));
  assert.equal(typeof claims.sub, "string");
});
