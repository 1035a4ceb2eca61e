import assert from "node:assert/strict";
import { after, test } from "node:test";
import type { LightMyRequestResponse } from "fastify";
import {
  assertApiError,
  buildTestApp,
  sameOrigin,
  sessionCookieHeader,
  type TestApp,
} from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import { location, openForm, postForm } from "../support/forms.ts";
import { assertTokensEnded, Browser, registerShop, signInAtShop } from "../support/oidc-inject.ts";
import {
  accountWithApp,
  call,
  challengeFor,
  errorCodeOf,
  oathtoolCode,
  verifyChallenge,
} from "../support/two-step.ts";

// アカウントの閉鎖 (docs/flows/account-closing.md). Runs on SQLite, and on PostgreSQL with
// MAMORI_TEST_DATABASE=postgres.

after(stopSharedPostgres);

function trustedCookieOf(response: LightMyRequestResponse): string {
  const raw = response.headers["set-cookie"];
  const cookie = (Array.isArray(raw) ? raw : [String(raw)]).find((c) => c.startsWith("mamori_trusted="));
  assert.ok(cookie, "the trusted-browser cookie is set");
  return cookie.split(";")[0] as string;
}

async function liveSessions(s: TestApp, accountId: string): Promise<number> {
  const rows = await s.db
    .selectFrom("session")
    .select("id")
    .where("account_id", "=", accountId)
    .where("revoked_at", "is", null)
    .execute();
  return rows.length;
}

test("closing ends every session, trusted browser and shop's grant, and refuses sign-in at once", async (t) => {
  // Attack: the owner closes the account because a thief got in; if a session, a trusted browser
  // or a shop's refresh token survived the closing, the thief would keep using the account (or
  // the shop would keep getting its name and email) after the owner believes it gone.
  const s = await buildTestApp(t);
  const shop = await registerShop(s);
  const owner = await accountWithApp(s);
  // The thief's browser: passed two-step with "don't ask again", signed in at the shop.
  const challenge = await challengeFor(s, owner.email, owner.password);
  const verified = await verifyChallenge(s, challenge, {
    code: oathtoolCode(owner.secret, s.clock.now()),
    trustDevice: true,
  });
  assert.equal(verified.statusCode, 200, verified.body);
  const trusted = trustedCookieOf(verified);
  const thiefBrowser = new Browser(s);
  thiefBrowser.setCookieHeader(sessionCookieHeader(verified, s.config));
  const shopTokens = await signInAtShop(s, shop, thiefBrowser);
  s.clock.advance(30);
  // The owner signs in with a code (a recent sign-in and second factor) and closes the account.
  const ownerChallenge = await challengeFor(s, owner.email, owner.password);
  const ownerSignedIn = await verifyChallenge(s, ownerChallenge, {
    code: oathtoolCode(owner.secret, s.clock.now()),
  });
  assert.equal(ownerSignedIn.statusCode, 200, ownerSignedIn.body);
  const ownerCookie = sessionCookieHeader(ownerSignedIn, s.config);
  assert.ok((await liveSessions(s, owner.accountId)) >= 3);

  const closed = await call(s, "POST", "/api/v1/security/close", ownerCookie, { confirm: true });
  assert.equal(closed.statusCode, 200, closed.body);
  const body = closed.json<{ status: string; closedAt: string; eraseAfter: string }>();
  assert.equal(body.status, "closed");
  assert.equal(
    Date.parse(body.eraseAfter) - Date.parse(body.closedAt),
    s.config.limits.accountErasureGraceSeconds * 1000,
    "erasure is scheduled after the grace period",
  );

  assert.equal(await liveSessions(s, owner.accountId), 0, "every session ended");
  const devices = await s.db
    .selectFrom("trusted_device")
    .select("revoked_at")
    .where("account_id", "=", owner.accountId)
    .execute();
  assert.ok(devices.length > 0 && devices.every((d) => d.revoked_at !== null), "trusted browsers forgotten");
  const grants = await s.db
    .selectFrom("oidc_model")
    .select("id")
    .where("account_id", "=", owner.accountId)
    .execute();
  assert.deepEqual(grants, [], "no grant, code or token of the account is left");
  await assertTokensEnded(s, shop, shopTokens, "after the closing");

  // Sign-in is refused at once, with the trusted browser too; the old sessions say why.
  const again = await s.signIn({ identifier: owner.email, password: owner.password }, { cookie: trusted });
  assertApiError(again, 403, "account_closed");
  assert.equal(again.headers["set-cookie"], undefined);
  assertApiError(await call(s, "GET", "/api/v1/session", ownerCookie), 403, "account_closed");
  const mails = await s.messagesTo(owner.email);
  assert.equal(mails[0]?.template, "account_closed_by_owner", "the owner is mailed");
  const audit = await s.db
    .selectFrom("audit_event")
    .select(["actor", "detail"])
    .where("account_id", "=", owner.accountId)
    .where("type", "=", "account.closed")
    .execute();
  assert.equal(audit.length, 1);
  assert.equal(audit[0]?.actor, "account");
});

test("closing needs a recent sign-in and an explicit confirmation", async (t) => {
  // Attack: a browser left signed in (a shop counter, a shared PC): whoever sits down at it must
  // not be able to close the owner's account without knowing the password.
  const s = await buildTestApp(t);
  const owner = await s.registerAccount();
  s.clock.advance(s.config.limits.reauthenticationWindowSeconds + 1);
  const stale = await call(s, "POST", "/api/v1/security/close", owner.cookie, { confirm: true });
  assertApiError(stale, 403, "reauthentication_required");
  const page = await s.inject({
    method: "GET",
    url: "/account/security/close",
    headers: { cookie: owner.cookie },
  });
  assert.equal(
    location(page),
    "/account/security/reauthenticate?return_to=%2Faccount%2Fsecurity%2Fclose",
    "the page asks for the password first",
  );
  assert.equal((await liveSessions(s, owner.accountId)) > 0, true, "nothing was closed");

  const proven = await call(s, "POST", "/api/v1/session/reauthenticate", owner.cookie, {
    password: owner.password,
  });
  assert.equal(proven.statusCode, 200, proven.body);
  // A request without the confirmation closes nothing.
  assertApiError(
    await call(s, "POST", "/api/v1/security/close", owner.cookie, { confirm: false }),
    400,
    "confirmation_required",
  );
  assert.equal((await call(s, "GET", "/api/v1/session", owner.cookie)).statusCode, 200);
  assertApiError(await call(s, "POST", "/api/v1/security/close", owner.cookie, {}), 400, "invalid_request");
  const closed = await call(s, "POST", "/api/v1/security/close", owner.cookie, { confirm: true });
  assert.equal(closed.statusCode, 200, closed.body);
});

test("closing needs a second factor proven recently while two-step is on", async (t) => {
  // Attack: a thief with the password and the owner's trusted browser (or a session signed in
  // through it) passes the password check; closing must still ask for a code from the phone,
  // as turning two-step off does, so a stolen password cannot destroy the account.
  const s = await buildTestApp(t);
  const owner = await accountWithApp(s);
  const challenge = await challengeFor(s, owner.email, owner.password);
  const verified = await verifyChallenge(s, challenge, {
    code: oathtoolCode(owner.secret, s.clock.now()),
    trustDevice: true,
  });
  assert.equal(verified.statusCode, 200, verified.body);
  s.clock.advance(30);
  const viaTrusted = await s.signIn(
    { identifier: owner.email, password: owner.password },
    { cookie: trustedCookieOf(verified) },
  );
  assert.equal(viaTrusted.json<{ status: string }>().status, "signed_in");
  const cookie = sessionCookieHeader(viaTrusted, s.config);

  const refused = await call(s, "POST", "/api/v1/security/close", cookie, { confirm: true });
  assertApiError(refused, 403, "step_up_required");
  const page = await s.inject({ method: "GET", url: "/account/security/close", headers: { cookie } });
  assert.match(location(page), /^\/account\/security\/step-up\?return_to=%2Faccount%2Fsecurity%2Fclose/);
  assert.equal((await liveSessions(s, owner.accountId)) > 0, true);

  const steppedUp = await call(s, "POST", "/api/v1/session/reauthenticate", cookie, {
    method: "totp",
    code: oathtoolCode(owner.secret, s.clock.now()),
  });
  assert.equal(steppedUp.statusCode, 200, steppedUp.body);
  const closed = await call(s, "POST", "/api/v1/security/close", cookie, { confirm: true });
  assert.equal(closed.statusCode, 200, closed.body);
});

test("closing sent many times at once closes once and mails once", async (t) => {
  const s = await buildTestApp(t);
  const owner = await s.registerAccount();
  const answers = await Promise.all(
    Array.from({ length: 12 }, () =>
      call(s, "POST", "/api/v1/security/close", owner.cookie, { confirm: true }),
    ),
  );
  const statuses = answers.map((a) => a.statusCode);
  assert.equal(statuses.filter((code) => code === 200).length, 1, statuses.join(","));
  for (const answer of answers.filter((a) => a.statusCode !== 200)) {
    assert.equal(answer.statusCode, 403, answer.body);
    assert.equal(errorCodeOf(answer), "account_closed");
  }
  const mails = (await s.messagesTo(owner.email)).filter((m) => m.template === "account_closed_by_owner");
  assert.equal(mails.length, 1);
  const audit = await s.db
    .selectFrom("audit_event")
    .select("id")
    .where("account_id", "=", owner.accountId)
    .where("type", "=", "account.closed")
    .execute();
  assert.equal(audit.length, 1);
});

test("the closing page shows the consequences, needs the box ticked, and signs the browser out", async (t) => {
  const s = await buildTestApp(t, {
    env: { MAMORI_SUPPORT_URL: "https://shop.example.jp/support", MAMORI_SUPPORT_PHONE: "0120-123-456" },
  });
  const owner = await s.registerAccount();
  const security = await s.inject({
    method: "GET",
    url: "/account/security",
    headers: { cookie: owner.cookie },
  });
  assert.match(security.body, /href="\/account\/security\/close"/);
  assert.match(security.body, /href="\/account\/security\/data"/);
  const form = await openForm(s, "/account/security/close", owner.cookie);
  assert.match(form.body, /アカウントの閉鎖/);
  assert.match(form.body, /30日後に消去/);
  assert.match(form.body, /お店・アプリへのアクセスの許可をすべて削除/);

  // A forged form (no token) closes nothing.
  const forged = await s.inject({
    method: "POST",
    url: "/account/security/close",
    headers: {
      ...sameOrigin(s.config),
      cookie: owner.cookie,
      "content-type": "application/x-www-form-urlencoded",
    },
    payload: "confirm=1",
  });
  assert.equal(forged.statusCode, 403);
  const unticked = await postForm(s, "/account/security/close", form, { _csrf: form.csrf });
  assert.equal(unticked.statusCode, 400);
  assert.match(unticked.body, /チェックボックスをオンにしてください/);
  assert.equal((await call(s, "GET", "/api/v1/session", owner.cookie)).statusCode, 200, "still open");

  const done = await postForm(s, "/account/security/close", form, { _csrf: form.csrf, confirm: "1" });
  assert.equal(done.statusCode, 200, done.body);
  assert.match(done.body, /アカウントを閉鎖しました/);
  assert.match(done.body, /https:\/\/shop\.example\.jp\/support/);
  const cleared = String(done.headers["set-cookie"] ?? "");
  assert.match(
    cleared,
    new RegExp(`${s.config.sessionCookieName}=;`),
    "the browser's session cookie is cleared",
  );
  // The old cookie now leads to a page that says why, with the support contact: no dead end.
  const after = await s.inject({ method: "GET", url: "/account", headers: { cookie: owner.cookie } });
  assert.equal(after.statusCode, 403);
  assert.match(after.body, /このアカウントは閉鎖されています/);
  assert.match(after.body, /0120-123-456/);
});

test("the closing and download pages speak the account's language", async (t) => {
  const s = await buildTestApp(t);
  const owner = await s.registerAccount({ locale: "en", name: "Alice Smith" });
  const close = await s.inject({
    method: "GET",
    url: "/account/security/close",
    headers: { cookie: owner.cookie },
  });
  assert.equal(close.statusCode, 200);
  assert.match(close.body, /<h1>Close your account<\/h1>/);
  assert.match(close.body, /erased after 30 days/);
  assert.doesNotMatch(close.body, /閉鎖/);
  const data = await s.inject({
    method: "GET",
    url: "/account/security/data",
    headers: { cookie: owner.cookie },
  });
  assert.match(data.body, /<h1>Download your data<\/h1>/);
  const readable = await s.inject({
    method: "GET",
    url: "/account/security/data/export.html",
    headers: { cookie: owner.cookie },
  });
  assert.match(readable.body, /<html lang="en">/);
  assert.match(readable.body, /The data held about you/);
});
