import assert from "node:assert/strict";
import { after, test } from "node:test";
import { buildTestApp, sessionCookieHeader } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import { location, openForm, postForm } from "../support/forms.ts";
import {
  accountWithApp,
  call,
  challengeFor,
  errorCodeOf,
  isTwoStepOn,
  oathtoolCode,
  verifyChallenge,
} from "../support/two-step.ts";

// Two-step verification cannot be taken over with the password alone. Attack (found on the landed
// code): a session that never passed a second factor turned two-step off with a recent password,
// enrolled the attacker's app and turned two-step on again; the owner was locked out. Now turning
// it off, removing or changing a method and new recovery codes need a second factor proven within
// the reauthentication window (a method's code, a recovery code, or a passkey that verified the
// person), and turning it on ends the other sessions that never passed one.

after(stopSharedPostgres);

const disable = "/api/v1/security/two-step/disable";

test("a password alone, however recent, never turns two-step off", async (t) => {
  const s = await buildTestApp(t);
  const owner = await accountWithApp(s);
  s.clock.advance(11 * 60);
  const reauthenticated = await call(s, "POST", "/api/v1/session/reauthenticate", owner.cookie, {
    password: owner.password,
  });
  assert.equal(reauthenticated.statusCode, 200, reauthenticated.body);
  const refused = await call(s, "POST", disable, owner.cookie, { confirm: true });
  assert.equal(refused.statusCode, 403);
  assert.equal(errorCodeOf(refused), "step_up_required");
  assert.equal(await isTwoStepOn(s, owner.accountId), true);

  const stepped = await call(s, "POST", "/api/v1/session/reauthenticate", owner.cookie, {
    method: "totp",
    code: oathtoolCode(owner.secret, s.clock.now()),
  });
  assert.equal(stepped.statusCode, 200, stepped.body);
  const done = await call(s, "POST", disable, owner.cookie, { confirm: true });
  assert.equal(done.statusCode, 200, done.body);
  assert.equal(await isTwoStepOn(s, owner.accountId), false);
});

test("new recovery codes and removing a method need a second factor, never a password alone", async (t) => {
  const s = await buildTestApp(t);
  const owner = await accountWithApp(s);
  const overview = await call(s, "GET", "/api/v1/security", owner.cookie);
  const primaryId = overview.json<{ twoStep: { primary: { id: string } } }>().twoStep.primary.id;
  s.clock.advance(11 * 60);
  const reauthenticated = await call(s, "POST", "/api/v1/session/reauthenticate", owner.cookie, {
    password: owner.password,
  });
  assert.equal(reauthenticated.statusCode, 200);
  const codes = await call(s, "POST", "/api/v1/security/two-step/recovery-codes", owner.cookie);
  assert.equal(errorCodeOf(codes), "step_up_required");
  const removed = await call(s, "DELETE", `/api/v1/security/two-step/methods/${primaryId}`, owner.cookie);
  assert.equal(errorCodeOf(removed), "step_up_required");
  const replaced = await call(s, "POST", "/api/v1/security/two-step/methods", owner.cookie, {
    role: "primary",
    method: "totp",
  });
  assert.equal(errorCodeOf(replaced), "step_up_required");
  const unchanged = await s.db
    .selectFrom("recovery_code")
    .select("id")
    .where("account_id", "=", owner.accountId)
    .where("used_at", "is", null)
    .execute();
  assert.equal(unchanged.length, 10, "the owner's recovery codes still stand");
});

test("a trusted browser's sign-in is not a fresh second factor for turning two-step off", async (t) => {
  // Attack: the password and a browser carried off (its trusted-device cookie), days later.
  const s = await buildTestApp(t);
  const owner = await accountWithApp(s);
  const challenge = await challengeFor(s, owner.email, owner.password);
  const trusted = await verifyChallenge(s, challenge, {
    code: oathtoolCode(owner.secret, s.clock.now()),
    trustDevice: true,
  });
  const raw = trusted.headers["set-cookie"];
  const deviceCookie = (Array.isArray(raw) ? raw : [String(raw)])
    .find((c) => c.startsWith("mamori_trusted="))
    ?.split(";")[0];
  assert.ok(deviceCookie);
  s.clock.advance(3 * 24 * 3600);
  const signedIn = await s.signIn(
    { identifier: owner.email, password: owner.password },
    { cookie: deviceCookie },
  );
  assert.equal(signedIn.json<{ status: string }>().status, "signed_in");
  const cookie = sessionCookieHeader(signedIn, s.config);
  const refused = await call(s, "POST", disable, cookie, { confirm: true });
  assert.equal(errorCodeOf(refused), "step_up_required");
  assert.equal(await isTwoStepOn(s, owner.accountId), true);
});

test("a recovery code steps the session up, once, and the owner is told", async (t) => {
  // The phone is lost and the app deleted: a recovery code is the second factor left.
  const s = await buildTestApp(t);
  const owner = await accountWithApp(s);
  s.clock.advance(11 * 60);
  const code = owner.recoveryCodes[0] ?? "";
  const stepped = await call(s, "POST", "/api/v1/session/reauthenticate", owner.cookie, {
    method: "recovery_code",
    code,
  });
  assert.equal(stepped.statusCode, 200, stepped.body);
  const again = await call(s, "POST", "/api/v1/session/reauthenticate", owner.cookie, {
    method: "recovery_code",
    code,
  });
  assert.equal(errorCodeOf(again), "invalid_code", "a recovery code is spent once");
  const mails = await s.messagesTo(owner.email);
  assert.ok(mails.some((m) => m.template === "two_step_changed" && /残りのコード: 9個/.test(m.text_body)));
  const done = await call(s, "POST", disable, owner.cookie, { confirm: true });
  assert.equal(done.statusCode, 200, done.body);
});

test("turning two-step on ends the other sessions that never passed a second factor", async (t) => {
  // Attack: the thief signed in with the stolen password before the owner turned two-step on.
  const s = await buildTestApp(t);
  const owner = await s.registerAccount();
  const thief = await s.signIn({ identifier: owner.email, password: owner.password });
  const thiefCookie = sessionCookieHeader(thief, s.config);
  assert.equal((await call(s, "GET", "/api/v1/session", thiefCookie)).statusCode, 200);

  const started = await call(s, "POST", "/api/v1/security/two-step/methods", owner.cookie, {
    role: "primary",
    method: "totp",
  });
  const enrollment = started.json<{ enrollment: { id: string; secret: string } }>().enrollment;
  const verified = await call(
    s,
    "POST",
    `/api/v1/security/two-step/methods/${enrollment.id}/verify`,
    owner.cookie,
    {
      code: oathtoolCode(enrollment.secret, s.clock.now()),
    },
  );
  assert.equal(verified.statusCode, 200, verified.body);
  const enabled = await call(s, "POST", "/api/v1/security/two-step/enable", owner.cookie);
  assert.equal(enabled.statusCode, 200, enabled.body);

  assert.equal((await call(s, "GET", "/api/v1/session", thiefCookie)).statusCode, 401, "the thief is out");
  assert.equal((await call(s, "GET", "/api/v1/session", owner.cookie)).statusCode, 200, "the owner stays");
  const mails = await s.messagesTo(owner.email);
  const notice = mails.find((m) => m.template === "two_step_changed");
  assert.match(notice?.text_body ?? "", /ログアウトしました/);
});

test("the step-up page takes a recovery code when the phone and the app are gone", async (t) => {
  const s = await buildTestApp(t);
  const owner = await accountWithApp(s);
  s.clock.advance(11 * 60);
  const disablePage = "/account/security/two-step/disable";
  const url = `/account/security/step-up?return_to=${encodeURIComponent(disablePage)}`;
  const page = await openForm(s, url, owner.cookie);
  assert.match(page.body, /name="recovery_code"/);
  const fields = { _csrf: page.csrf, method_id: "recovery_code", return_to: disablePage };
  const wrong = await postForm(s, "/account/security/step-up", page, {
    ...fields,
    recovery_code: "ZZZZZ-ZZZZZ",
  });
  assert.equal(wrong.statusCode, 400);
  assert.match(wrong.body, /リカバリーコードが正しくありません。/);
  assert.match(wrong.body, /<details class="links" open>/, "the recovery form stays open with its error");
  const right = await postForm(s, "/account/security/step-up", page, {
    ...fields,
    recovery_code: owner.recoveryCodes[1] ?? "",
  });
  assert.equal(location(right), disablePage);
  const confirm = await openForm(s, disablePage, page.cookie);
  assert.doesNotMatch(confirm.body, /name="password"/);
  const left = await s.db
    .selectFrom("recovery_code")
    .select("id")
    .where("account_id", "=", owner.accountId)
    .where("used_at", "is", null)
    .execute();
  assert.equal(left.length, 9, "the code is spent");
});

test("the primary method cannot be removed while two-step is on, even with a fresh second factor", async (t) => {
  // Attack it stops: with the primary gone and two-step still "on", sign-in would have no method to
  // ask for — the owner locked out, or worse a fallback that asks nothing. The primary can only be
  // replaced by another, or two-step turned off with its double confirmation (mailed to the owner).
  const s = await buildTestApp(t);
  const owner = await accountWithApp(s);
  const overview = await call(s, "GET", "/api/v1/security", owner.cookie);
  const primaryId = overview.json<{ twoStep: { primary: { id: string } } }>().twoStep.primary.id;
  const stepped = await call(s, "POST", "/api/v1/session/reauthenticate", owner.cookie, {
    method: "totp",
    code: oathtoolCode(owner.secret, s.clock.now()),
  });
  assert.equal(stepped.statusCode, 200, stepped.body);

  const removed = await call(s, "DELETE", `/api/v1/security/two-step/methods/${primaryId}`, owner.cookie);
  assert.equal(removed.statusCode, 409, removed.body);
  assert.equal(errorCodeOf(removed), "method_conflict");
  const method = await s.db
    .selectFrom("two_step_method")
    .select(["role", "state"])
    .where("id", "=", primaryId)
    .executeTakeFirst();
  assert.deepEqual(method, { role: "primary", state: "active" }, "the primary is still there");
  // ...and it is still asked for at sign-in.
  s.clock.advance(30);
  const challenge = await challengeFor(s, owner.email, owner.password);
  const verified = await verifyChallenge(s, challenge, { code: oathtoolCode(owner.secret, s.clock.now()) });
  assert.equal(verified.statusCode, 200, verified.body);
});
