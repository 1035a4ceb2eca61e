import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, test } from "node:test";
import type { FastifyInstance } from "fastify";
import { generateKeyPair, SignJWT } from "jose";
import { buildShop } from "../../examples/shop/app.ts";
import { createClient } from "../../src/oidc/clients.ts";
import { changeAccountStatus } from "../../src/operations/account-admin.ts";
import { buildTestApp, sameOrigin, sessionCookieHeader, type TestApp } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import { Browser, formToken } from "../support/oidc-inject.ts";
import { injectFetch } from "../support/openid-client-inject.ts";

// OpenID Connect Back-Channel Logout 1.0, received by the example shop (examples/shop, openid-client
// and jose): when a customer's sign-in ends at Mamori, for whatever reason, the shop is sent a signed
// logout token through the outbox and ends its own session. The attack each test stops: a thief
// signed in at Mamori (a stolen password, a borrowed laptop) is also signed in at the shop; the
// owner ends the thief's Mamori session, and before this the shop kept the thief signed in — with
// the owner's address, orders and saved card — for as long as its own session lasted.
// Run on SQLite, and on PostgreSQL with MAMORI_TEST_DATABASE=postgres.

after(stopSharedPostgres);

const newPassword = "Hoshizora-Kaede-5529-Ringo";
const shopBase = "http://127.0.0.1:8089";

type ShopUnderTest = { app: FastifyInstance; clientId: string; logoutUri: string };

/** A port nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.ok(address && typeof address === "object");
  return address.port;
}

/** The example shop, registered with a back-channel logout URI, listening on a real port for Mamori's POST. */
async function exampleShop(t: Parameters<typeof buildTestApp>[0], s: TestApp): Promise<ShopUnderTest> {
  const created = await createClient(
    s.db,
    { clock: s.clock, random: s.deps.random, secretKeys: s.config.secretKeys },
    {
      name: "やまだ商店",
      redirectUris: [`${shopBase}/callback`],
      postLogoutRedirectUris: [`${shopBase}/`],
      requireTwoStep: false,
      backchannelLogoutUri: `${shopBase}/backchannel-logout`,
    },
  );
  assert.ok(created.clientSecret);
  const app = await buildShop({
    issuer: s.config.issuer,
    clientId: created.clientId,
    clientSecret: created.clientSecret,
    baseUrl: new URL(shopBase),
    allowHttp: true,
    fetch: injectFetch(s),
  });
  t.after(() => app.close());
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  assert.ok(address && typeof address === "object");
  const logoutUri = `http://127.0.0.1:${address.port}/backchannel-logout`;
  await pointLogoutAt(s, created.clientId, logoutUri);
  return { app, clientId: created.clientId, logoutUri };
}

async function pointLogoutAt(s: TestApp, clientId: string, uri: string): Promise<void> {
  await s.db
    .updateTable("oidc_client")
    .set({ backchannel_logout_uri: uri })
    .where("id", "=", clientId)
    .execute();
}

/** Signs the Mamori session of `cookie` in at the shop; returns the shop's session cookie. */
async function signInAtShop(s: TestApp, shop: ShopUnderTest, cookie: string): Promise<string> {
  const login = await shop.app.inject({ method: "GET", url: "/login" });
  assert.equal(login.statusCode, 303);
  const shopCookie = String(login.headers["set-cookie"]).split(";")[0] ?? "";
  const browser = new Browser(s);
  browser.setCookieHeader(cookie);
  const authorize = new URL(String(login.headers.location));
  let page = await browser.follow(await browser.request("GET", `${authorize.pathname}${authorize.search}`));
  if (page.statusCode === 200) {
    const consent = /action="([^"]+\/consent)"/.exec(page.body)?.[1];
    assert.ok(consent, page.body);
    page = await browser.follow(await browser.request("POST", consent, { _csrf: formToken(page) }));
  }
  const callback = new URL(String(page.headers.location));
  assert.equal(callback.origin, shopBase);
  const back = await shop.app.inject({
    method: "GET",
    url: `${callback.pathname}${callback.search}`,
    headers: { cookie: shopCookie },
  });
  assert.equal(back.statusCode, 303, back.body);
  assert.equal(await signedInAtShop(shop, shopCookie), true, "signed in at the shop");
  return shopCookie;
}

async function signedInAtShop(shop: ShopUnderTest, shopCookie: string): Promise<boolean> {
  const home = await shop.app.inject({ method: "GET", url: "/", headers: { cookie: shopCookie } });
  return /id="greeting"/.test(home.body);
}

async function logoutRows(s: TestApp): Promise<{ state: string; attempts: number }[]> {
  return s.db
    .selectFrom("outbox_message")
    .select(["state", "attempts"])
    .where("channel", "=", "oidc_logout")
    .execute();
}

async function signedInDelete(s: TestApp, url: string, cookie: string): Promise<void> {
  const response = await s.inject({ method: "DELETE", url, headers: { cookie, ...sameOrigin(s.config) } });
  assert.equal(response.statusCode, 204, response.body);
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
  assert.ok(code);
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

type Scene = {
  s: TestApp;
  shop: ShopUnderTest;
  email: string;
  password: string;
  /** The thief's Mamori session cookie, and their session at the shop. */
  thief: { cookie: string; shopCookie: string };
  /** The owner's own browser, also signed in at the shop. */
  owner: { cookie: string; shopCookie: string };
};

async function scene(t: Parameters<typeof buildTestApp>[0]): Promise<Scene> {
  const s = await buildTestApp(t);
  const shop = await exampleShop(t, s);
  const account = await s.registerAccount();
  const signedIn = await s.signIn({ identifier: account.email, password: account.password });
  assert.equal(signedIn.statusCode, 200, signedIn.body);
  const thiefCookie = sessionCookieHeader(signedIn, s.config);
  const thief = { cookie: thiefCookie, shopCookie: await signInAtShop(s, shop, thiefCookie) };
  const owner = { cookie: account.cookie, shopCookie: await signInAtShop(s, shop, account.cookie) };
  s.clock.advance(5);
  return { s, shop, email: account.email, password: account.password, thief, owner };
}

type Ending = { name: string; ownerStays: boolean; end(scene: Scene): Promise<void> };

const endings: Ending[] = [
  {
    name: "signing out at Mamori (DELETE /api/v1/session)",
    ownerStays: true,
    end: ({ s, thief }) => signedInDelete(s, "/api/v1/session", thief.cookie),
  },
  {
    name: "signing out everywhere else (DELETE /api/v1/sessions?scope=others)",
    ownerStays: true,
    end: ({ s, owner }) => signedInDelete(s, "/api/v1/sessions?scope=others", owner.cookie),
  },
  {
    name: "a password change",
    ownerStays: false,
    async end({ s, owner, password }) {
      const response = await s.inject({
        method: "PUT",
        url: "/api/v1/security/password",
        headers: { cookie: owner.cookie, ...sameOrigin(s.config) },
        payload: { currentPassword: password, newPassword },
      });
      assert.equal(response.statusCode, 200, response.body);
    },
  },
  { name: "a password reset", ownerStays: false, end: ({ s, email }) => resetPassword(s, email) },
  {
    name: "the operator suspending the account",
    ownerStays: false,
    async end({ s, email }) {
      assert.equal((await changeAccountStatus(s.deps, email, "suspended", "investigation")).ok, true);
    },
  },
  {
    name: "'this wasn't me'",
    ownerStays: false,
    async end({ s, owner }) {
      const browser = new Browser(s);
      browser.setCookieHeader(owner.cookie);
      const page = await browser.request("GET", "/account/security/activity");
      assert.equal(page.statusCode, 200, page.body);
      const done = await browser.request("POST", "/account/security/not-me", {
        _csrf: formToken(page),
        confirm: "1",
      });
      assert.equal(done.statusCode, 303, done.body);
    },
  },
];

for (const ending of endings) {
  test(`back-channel logout: the example shop receives a verified logout token and ends its session after ${ending.name}`, async (t) => {
    const scene_ = await scene(t);
    const { s, shop, thief, owner } = scene_;
    await ending.end(scene_);
    // The dispatcher's round queues the logout tokens and delivers them (awaited: the shop has answered).
    await s.dispatch();
    assert.equal(await signedInAtShop(shop, thief.shopCookie), false, "the thief is signed out of the shop");
    assert.equal(await signedInAtShop(shop, owner.shopCookie), ending.ownerStays, "the owner's shop session");
    const rows = await logoutRows(s);
    assert.ok(rows.length >= 1 && rows.every((row) => row.state === "sent"), JSON.stringify(rows));
    // Nothing more to send: a second round queues nothing again.
    await s.dispatch();
    assert.equal((await logoutRows(s)).length, rows.length);
  });
}

test("back-channel logout: signing out of Mamori too from the shop's logout reaches the shop through the outbox", async (t) => {
  const { s, shop, thief } = await scene(t);
  const logout = await shop.app.inject({
    method: "POST",
    url: "/logout",
    headers: { cookie: thief.shopCookie },
  });
  const endSession = new URL(String(logout.headers.location));
  const browser = new Browser(s);
  browser.setCookieHeader(thief.cookie);
  const confirm = await browser.follow(
    await browser.request("GET", `${endSession.pathname}${endSession.search}`),
  );
  const action = /action="([^"]+)"/.exec(confirm.body)?.[1];
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirm.body)?.[1];
  assert.ok(action && xsrf, confirm.body);
  await browser.request("POST", action, { xsrf, logout: "yes" });
  await s.dispatch();
  // One token for that sign-in: the provider's own notice, not a second one when Mamori's session ends.
  assert.deepEqual(
    (await logoutRows(s)).map((row) => row.state),
    ["sent"],
  );
});

test("back-channel logout is retried until the shop takes it (at least once)", async (t) => {
  const { s, shop, thief } = await scene(t);
  // The shop's server is down when the owner signs the thief out.
  await pointLogoutAt(s, shop.clientId, `http://127.0.0.1:${await closedPort()}/backchannel-logout`);
  await signedInDelete(s, "/api/v1/session", thief.cookie);
  await s.dispatch();
  const failed = await logoutRows(s);
  assert.deepEqual(
    failed.map((row) => row.state),
    ["pending"],
  );
  assert.equal(await signedInAtShop(shop, thief.shopCookie), true, "not told yet");
  // Back up: the next attempt after the backoff delivers it.
  await pointLogoutAt(s, shop.clientId, shop.logoutUri);
  s.clock.advance(10);
  await s.dispatch();
  assert.deepEqual(
    (await logoutRows(s)).map((row) => [row.state, row.attempts]),
    [["sent", 2]],
  );
  assert.equal(await signedInAtShop(shop, thief.shopCookie), false);
});

test("the example shop refuses a logout token not signed by Mamori", async (t) => {
  const { s, shop, thief } = await scene(t);
  // The attack: anyone can POST to the shop's logout URI; a forged token must not sign customers out.
  const { privateKey } = await generateKeyPair("RS256");
  const forged = await new SignJWT({
    events: { "http://schemas.openid.net/event/backchannel-logout": {} },
    sid: "any",
  })
    .setProtectedHeader({ alg: "RS256", typ: "logout+jwt", kid: "forged" })
    .setIssuer(s.config.issuer.href)
    .setAudience(shop.clientId)
    .setIssuedAt()
    .setExpirationTime("2m")
    .setJti("forged-1")
    .sign(privateKey);
  const refused = await fetch(shop.logoutUri, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ logout_token: forged }),
    signal: AbortSignal.timeout(5000),
  });
  assert.equal(refused.status, 400);
  assert.equal(await signedInAtShop(shop, thief.shopCookie), true);
});

test("back-channel logout: parallel dispatcher rounds queue one logout token per ended sign-in", async (t) => {
  const { s, shop, thief } = await scene(t);
  await signedInDelete(s, "/api/v1/session", thief.cookie);
  // Several Mamori processes' dispatchers wake at once: each sign-in is told once, not once per process.
  await Promise.all(Array.from({ length: 8 }, () => s.dispatch()));
  const rows = await logoutRows(s);
  assert.deepEqual(
    rows.map((row) => row.state),
    ["sent"],
  );
  assert.equal(await signedInAtShop(shop, thief.shopCookie), false);
});

test("back-channel logout: a sign-in from a session that expired more than the grant's lifetime ago is forgotten, without a token", async (t) => {
  const { s } = await scene(t);
  const targets = () => s.db.selectFrom("oidc_logout_target").select("sid").execute();
  assert.equal((await targets()).length, 2);
  // Expiry alone sends nothing; 90 days after the session's end no shop token from it can work.
  s.clock.advance(s.config.limits.browserSessionSeconds + 89 * 86_400);
  await s.dispatch();
  assert.equal((await targets()).length, 2, "kept while tokens from it may live");
  s.clock.advance(2 * 86_400);
  await s.dispatch();
  assert.deepEqual(await targets(), []);
  assert.deepEqual(await logoutRows(s), []);
});
