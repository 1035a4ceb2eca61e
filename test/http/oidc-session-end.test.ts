import assert from "node:assert/strict";
import { after, test } from "node:test";
import { changeAccountStatus } from "../../src/operations/account-admin.ts";
import { buildTestApp, sameOrigin, sessionCookieHeader, type TestApp } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import {
  assertTokensEnded,
  assertTokensLive,
  authorizationRequest,
  Browser,
  codeFrom,
  exchangeCode,
  formAction,
  formToken,
  refreshWith,
  registerShop,
  type ShopClient,
  signInAtShop,
  type Tokens,
} from "../support/oidc-inject.ts";

// A shop's tokens live no longer than the Mamori session they were issued in, and no longer than
// the password and the account's good standing they were issued under. The attack each test
// stops: a thief (or a stolen laptop) signed in to Mamori signs in at a shop; the owner then signs
// that session out, signs out everywhere, says "this wasn't me", resets or changes the password,
// or the operator suspends the account, and the shop's refresh token in the thief's hands still
// gave fresh access tokens and the owner's name, email and phone number.
// Run on SQLite, and on PostgreSQL with MAMORI_TEST_DATABASE=postgres.

after(stopSharedPostgres);

const newPassword = "Hoshizora-Kaede-5529-Ringo";

type ShopTokens = Tokens & { refresh_token: string };

/** One Mamori session of the account in its own browser, signed in at the shop. */
type Side = { browser: Browser; cookie: string; sessionId: string; tokens: ShopTokens };

type Scene = {
  s: TestApp;
  shop: ShopClient;
  email: string;
  password: string;
  /** The session the ending is about (the thief's, say): signed in with the password, then at the shop. */
  target: Side;
  /** Another session of the same account (the owner's), also signed in at the shop. */
  elsewhere: Side;
};

async function sideFor(s: TestApp, shop: ShopClient, cookie: string): Promise<Side> {
  const browser = new Browser(s);
  browser.setCookieHeader(cookie);
  const first = await signInAtShop(s, shop, browser);
  // A refreshed pair, so the rule is shown for tokens that came from a refresh as well as a code.
  const refreshed = await refreshWith(s, shop, first.refresh_token);
  assert.equal(refreshed.statusCode, 200, refreshed.body);
  const tokens = refreshed.json<Tokens>();
  const sessionId = cookie.split("=")[1]?.split(".")[0] ?? "";
  return {
    browser,
    cookie,
    sessionId,
    tokens: { ...tokens, refresh_token: tokens.refresh_token ?? first.refresh_token },
  };
}

async function scene(t: Parameters<typeof buildTestApp>[0]): Promise<Scene> {
  const s = await buildTestApp(t);
  const shop = await registerShop(s);
  const account = await s.registerAccount();
  const signedIn = await s.signIn(
    { identifier: account.email, password: account.password },
    { "user-agent": "Thief Browser/1.0" },
  );
  assert.equal(signedIn.statusCode, 200, signedIn.body);
  const target = await sideFor(s, shop, sessionCookieHeader(signedIn, s.config));
  const elsewhere = await sideFor(s, shop, account.cookie);
  // The ending comes later than the tokens, as it does in life.
  s.clock.advance(5);
  return { s, shop, email: account.email, password: account.password, target, elsewhere };
}

async function resetPassword(s: TestApp, email: string): Promise<void> {
  const started = await s.inject({
    method: "POST",
    url: "/api/v1/password-resets",
    payload: { identifier: email },
  });
  assert.equal(started.statusCode, 202, started.body);
  const id = started.json<{ passwordReset: { id: string } }>().passwordReset.id;
  const code = await s.latestCode(email, "password_reset_code");
  assert.ok(code, "a reset code was mailed");
  const verified = await s.inject({
    method: "POST",
    url: `/api/v1/password-resets/${id}/verify`,
    payload: { code },
  });
  assert.equal(verified.statusCode, 200, verified.body);
  const completed = await s.inject({
    method: "POST",
    url: `/api/v1/password-resets/${id}/complete`,
    payload: { newPassword },
  });
  assert.equal(completed.statusCode, 200, completed.body);
}

type Ending = {
  name: string;
  end(scene: Scene): Promise<void>;
  /** True when the other session (and so its shop tokens) outlives the ending. */
  elsewhereLives: boolean;
};

/** A signed-in DELETE from the browser whose cookie it is; the session API answers 204. */
async function signedInDelete(s: TestApp, url: string, cookie: string): Promise<void> {
  const response = await s.inject({ method: "DELETE", url, headers: { cookie, ...sameOrigin(s.config) } });
  assert.equal(response.statusCode, 204, response.body);
}

const endings: Ending[] = [
  {
    name: "signing out (DELETE /api/v1/session)",
    elsewhereLives: true,
    async end({ s, target }) {
      await signedInDelete(s, "/api/v1/session", target.cookie);
    },
  },
  {
    name: "revoking that session from another browser (DELETE /api/v1/sessions/{id})",
    elsewhereLives: true,
    async end({ s, target, elsewhere }) {
      await signedInDelete(s, `/api/v1/sessions/${target.sessionId}`, elsewhere.cookie);
    },
  },
  {
    name: "signing out everywhere else (DELETE /api/v1/sessions?scope=others)",
    elsewhereLives: true,
    async end({ s, elsewhere }) {
      await signedInDelete(s, "/api/v1/sessions?scope=others", elsewhere.cookie);
    },
  },
  {
    name: "'this wasn't me' on the sign-in activity page",
    elsewhereLives: false,
    async end({ elsewhere }) {
      const page = await elsewhere.browser.request("GET", "/account/security/activity");
      assert.equal(page.statusCode, 200, page.body);
      const done = await elsewhere.browser.request("POST", "/account/security/not-me", {
        _csrf: formToken(page),
        confirm: "1",
      });
      assert.equal(done.statusCode, 303, done.body);
    },
  },
  {
    name: "a password reset",
    elsewhereLives: false,
    async end({ s, email }) {
      await resetPassword(s, email);
    },
  },
  {
    name: "a password change in another browser",
    // That session lives on, but the tokens it was given before the change end (rule below).
    elsewhereLives: false,
    async end({ s, elsewhere, password }) {
      const response = await s.inject({
        method: "PUT",
        url: "/api/v1/security/password",
        headers: { cookie: elsewhere.cookie, ...sameOrigin(s.config) },
        payload: { currentPassword: password, newPassword },
      });
      assert.equal(response.statusCode, 200, response.body);
    },
  },
  {
    name: "the operator suspending the account (mamori accounts suspend)",
    elsewhereLives: false,
    async end({ s, email }) {
      const result = await changeAccountStatus(s.deps, email, "suspended", "investigation");
      assert.equal(result.ok, true);
    },
  },
  {
    name: "the operator closing the account (mamori accounts close)",
    elsewhereLives: false,
    async end({ s, email }) {
      const result = await changeAccountStatus(s.deps, email, "closed", "the owner asked");
      assert.equal(result.ok, true);
    },
  },
];

for (const ending of endings) {
  test(`ending a Mamori session ends the shop tokens issued in it: ${ending.name}`, async (t) => {
    const scene_ = await scene(t);
    const { s, shop, target, elsewhere } = scene_;
    await assertTokensLive(s, shop, target.tokens, "before the ending");
    await ending.end(scene_);
    await assertTokensEnded(s, shop, target.tokens, ending.name);
    if (ending.elsewhereLives) {
      await assertTokensLive(s, shop, elsewhere.tokens, `the other session's tokens after ${ending.name}`);
      const refreshed = await refreshWith(s, shop, elsewhere.tokens.refresh_token);
      assert.equal(refreshed.statusCode, 200, refreshed.body);
    } else {
      await assertTokensEnded(s, shop, elsewhere.tokens, `the other session's tokens after ${ending.name}`);
    }
  });
}

test("ending a Mamori session also ends the code not yet exchanged", async (t) => {
  // The attack: a code issued a moment before the owner signed the session out is exchanged after.
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
  const code = codeFrom(allowed, shop, request);
  const signedOut = await s.inject({
    method: "DELETE",
    url: "/api/v1/session",
    headers: { cookie: account.cookie, ...sameOrigin(s.config) },
  });
  assert.equal(signedOut.statusCode, 204);
  const exchanged = await exchangeCode(s, shop, code, request.verifier);
  assert.equal(exchanged.statusCode, 400, exchanged.body);
  assert.equal(exchanged.json<{ error: string }>().error, "invalid_grant");
});

test("a Mamori session that expires ends the shop tokens issued in it, unless offline_access was granted", async (t) => {
  const s = await buildTestApp(t);
  const shop = await registerShop(s);
  const account = await s.registerAccount();
  const browser = new Browser(s);
  browser.setCookieHeader(account.cookie);
  const online = await signInAtShop(s, shop, browser);
  const offline = await signInAtShop(s, shop, browser, {
    scope: "openid email offline_access",
    prompt: "consent",
  });
  // The registration's session is a browser session: it ends a day after it began.
  s.clock.advance(s.config.limits.browserSessionSeconds + 60);
  const refusedOnline = await refreshWith(s, shop, online.refresh_token);
  assert.equal(refusedOnline.statusCode, 400, refusedOnline.body);
  assert.equal(refusedOnline.json<{ error: string }>().error, "invalid_grant");
  const keptOffline = await refreshWith(s, shop, offline.refresh_token);
  assert.equal(keptOffline.statusCode, 200, keptOffline.body);
});

test("a password change ends every shop token issued before it, in the session that changed it too", async (t) => {
  const s = await buildTestApp(t);
  const shop = await registerShop(s);
  const account = await s.registerAccount();
  const browser = new Browser(s);
  browser.setCookieHeader(account.cookie);
  const tokens = await signInAtShop(s, shop, browser);
  s.clock.advance(5);
  const changed = await s.inject({
    method: "PUT",
    url: "/api/v1/security/password",
    headers: { cookie: browser.cookieHeader(), ...sameOrigin(s.config) },
    payload: { currentPassword: account.password, newPassword },
  });
  assert.equal(changed.statusCode, 200, changed.body);
  for (const header of [changed.headers["set-cookie"]].flat()) if (header) browser.setCookieHeader(header);
  await assertTokensEnded(s, shop, tokens, "after the password change");
  // The owner's next sign-in at the shop is silent, and its tokens work.
  const again = await signInAtShop(s, shop, browser);
  await assertTokensLive(s, shop, again, "issued after the change");
});

test("a suspended or closed account's shop tokens are refused at userinfo, introspection and refresh", async (t) => {
  for (const status of ["suspended", "closed"] as const) {
    const s = await buildTestApp(t);
    const shop = await registerShop(s);
    const account = await s.registerAccount();
    const browser = new Browser(s);
    browser.setCookieHeader(account.cookie);
    const tokens = await signInAtShop(s, shop, browser);
    // The status alone, sessions untouched: whatever set it, the tokens end.
    await s.db.updateTable("account").set({ status }).where("id", "=", account.accountId).execute();
    await assertTokensEnded(s, shop, tokens, status);
  }
});
