import assert from "node:assert/strict";
import { after, test } from "node:test";
import { buildTestApp, type RegisteredAccount, type TestApp } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import { wrongCode } from "../support/forms.ts";
import { call, errorCodeOf } from "../support/two-step.ts";

// Login & security -> Eメールアドレス (docs/flows/profile.md). Runs on SQLite, and on PostgreSQL
// with MAMORI_TEST_DATABASE=postgres.
after(stopSharedPostgres);

async function start(app: TestApp, owner: RegisteredAccount, email: string) {
  return call(app, "POST", "/api/v1/security/email-changes", owner.cookie, { email });
}

async function changeId(app: TestApp, owner: RegisteredAccount, email: string): Promise<string> {
  const started = await start(app, owner, email);
  assert.equal(started.statusCode, 201, started.body);
  return started.json<{ emailChange: { id: string } }>().emailChange.id;
}

async function verify(app: TestApp, owner: RegisteredAccount, id: string, code: string) {
  return call(app, "POST", `/api/v1/security/email-changes/${id}/verify`, owner.cookie, { code });
}

async function changeEmail(app: TestApp, owner: RegisteredAccount, email: string): Promise<void> {
  const id = await changeId(app, owner, email);
  const code = await app.latestCode(email, "email_change_code");
  assert.ok(code, "a code went to the new address");
  const done = await verify(app, owner, id, code);
  assert.equal(done.statusCode, 200, done.body);
}

async function undoToken(app: TestApp, oldEmail: string): Promise<string> {
  const mail = (await app.messagesTo(oldEmail)).find((m) => m.template === "email_changed");
  const token = /token=([A-Za-z0-9_%-]+)/.exec(mail?.text_body ?? "")?.[1];
  assert.ok(token, "the old address got the undo link");
  return decodeURIComponent(token);
}

async function signInStatus(app: TestApp, identifier: string, password: string): Promise<number> {
  return (await app.signIn({ identifier, password })).statusCode;
}

test("a taken email gets the same answer as a free one, and its owner is told instead of sent a code", async (t) => {
  // Attack: an account holder types addresses into the change form to learn which have accounts.
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const other = await app.registerAccount();
  const free = await start(app, owner, "free-address@example.jp");
  const taken = await start(app, owner, other.email.toUpperCase());
  assert.equal(free.statusCode, 201);
  assert.equal(taken.statusCode, 201);
  const shape = (r: typeof free) => Object.keys(r.json<{ emailChange: object }>().emailChange).sort();
  assert.deepEqual(shape(taken), shape(free));
  assert.equal(
    await app.latestCode(other.email, "email_change_code"),
    undefined,
    "no code to the taken address",
  );
  const told = (await app.messagesTo(other.email)).find((m) => m.template === "email_change_taken");
  assert.ok(told, "the owner of the taken address is told someone tried");
  assert.doesNotMatch(told.text_body, new RegExp(owner.email), "the mail does not name the other account");
  // The taken flow never completes, whatever code is sent.
  const id = taken.json<{ emailChange: { id: string } }>().emailChange.id;
  for (const code of ["000000", "123456"]) {
    const refused = await verify(app, owner, id, code);
    assert.equal(errorCodeOf(refused), "invalid_code");
  }
  const session = await call(app, "GET", "/api/v1/session", owner.cookie);
  assert.equal(session.json<{ account: { email: string } }>().account.email, owner.email, "nothing moved");
});

test("an email change needs the code from the new address; sign-in uses the new address only after it", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const newEmail = "hanako.new@example.jp";
  const id = await changeId(app, owner, newEmail);
  assert.equal(await signInStatus(app, newEmail, owner.password), 401, "not before the code");
  assert.equal(await signInStatus(app, owner.email, owner.password), 200, "the old address still signs in");
  const code = await app.latestCode(newEmail, "email_change_code");
  assert.ok(code);
  const wrong = await verify(app, owner, id, wrongCode(code));
  assert.equal(errorCodeOf(wrong), "invalid_code");
  assert.equal(await signInStatus(app, newEmail, owner.password), 401, "a wrong code changes nothing");
  const done = await verify(app, owner, id, code);
  assert.deepEqual(done.json(), { email: newEmail });
  assert.equal(await signInStatus(app, newEmail, owner.password), 200, "the new address signs in");
  assert.equal(await signInStatus(app, owner.email, owner.password), 401, "the old one no longer does");
  const mail = (await app.messagesTo(owner.email)).find((m) => m.template === "email_changed");
  assert.match(
    mail?.text_body ?? "",
    /h\*\*\*@example\.jp/,
    "the old address is told, with the new one masked",
  );
  const session = await call(app, "GET", "/api/v1/session", owner.cookie);
  assert.equal(session.json<{ account: { email: string } }>().account.email, newEmail);
});

test("an email change needs a recent sign-in", async (t) => {
  // Attack: a browser left signed in at a shop counter moves the account to the thief's mailbox.
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  app.clock.advance(app.config.limits.reauthenticationWindowSeconds + 1);
  const refused = await start(app, owner, "thief@example.jp");
  assert.equal(refused.statusCode, 403);
  assert.equal(errorCodeOf(refused), "reauthentication_required");
  const again = await call(app, "POST", "/api/v1/session/reauthenticate", owner.cookie, {
    password: owner.password,
  });
  assert.equal(again.statusCode, 200, again.body);
  assert.equal((await start(app, owner, "thief@example.jp")).statusCode, 201);
});

test("the same new address's code sent many times at once changes the email once", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const newEmail = "parallel@example.jp";
  const id = await changeId(app, owner, newEmail);
  const code = await app.latestCode(newEmail, "email_change_code");
  assert.ok(code);
  const answers = await Promise.all(Array.from({ length: 12 }, () => verify(app, owner, id, code)));
  assert.equal(answers.filter((r) => r.statusCode === 200).length, 1, answers.map((r) => r.body).join("\n"));
  const undoRows = await app.db
    .selectFrom("email_change_undo")
    .select("id")
    .where("account_id", "=", owner.accountId)
    .execute();
  assert.equal(undoRows.length, 1, "one change, one undo link");
  const mails = (await app.messagesTo(owner.email)).filter((m) => m.template === "email_changed");
  assert.equal(mails.length, 1);
});

test("the old address's undo link puts it back once, signing out every device", async (t) => {
  // Attack: a thief with the password moves the account to their own address; the owner's old
  // mailbox takes it back and the thief's sessions end.
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const thiefSession = await app.signIn({
    identifier: owner.email,
    password: owner.password,
    sessionType: "token",
  });
  const thiefToken = thiefSession.json<{ session: { token: string } }>().session.token;
  await changeEmail(app, owner, "thief@example.jp");
  const token = await undoToken(app, owner.email);

  const undos = await Promise.all(
    Array.from({ length: 8 }, () =>
      app.inject({ method: "POST", url: "/api/v1/email-change-undos", payload: { token } }),
    ),
  );
  assert.equal(undos.filter((r) => r.statusCode === 200).length, 1, "the link works once");
  assert.ok(undos.filter((r) => r.statusCode !== 200).every((r) => errorCodeOf(r) === "undo_link_invalid"));
  assert.equal(await signInStatus(app, owner.email, owner.password), 200, "the old address signs in again");
  assert.equal(await signInStatus(app, "thief@example.jp", owner.password), 401);
  const thief = await app.inject({
    method: "GET",
    url: "/api/v1/session",
    headers: { authorization: `Bearer ${thiefToken}` },
  });
  assert.equal(thief.statusCode, 401, "every session ended");
  assert.ok((await app.messagesTo(owner.email)).some((m) => m.template === "email_change_undone"));
  const again = await app.inject({ method: "POST", url: "/api/v1/email-change-undos", payload: { token } });
  assert.equal(again.statusCode, 410);
});

test("the undo link works only within the period", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  await changeEmail(app, owner, "moved@example.jp");
  const token = await undoToken(app, owner.email);
  app.clock.advance(app.config.limits.emailChangeUndoSeconds + 1);
  const late = await app.inject({ method: "POST", url: "/api/v1/email-change-undos", payload: { token } });
  assert.equal(late.statusCode, 410);
  assert.equal(errorCodeOf(late), "undo_link_invalid");
  assert.equal(await signInStatus(app, "moved@example.jp", owner.password), 200, "the change stands");
});

test("an undo link's period is seven days by default", async (t) => {
  const app = await buildTestApp(t);
  assert.equal(app.config.limits.emailChangeUndoSeconds, 7 * 86_400);
  const owner = await app.registerAccount();
  await changeEmail(app, owner, "week@example.jp");
  const token = await undoToken(app, owner.email);
  app.clock.advance(7 * 86_400 - 60);
  const inTime = await app.inject({ method: "POST", url: "/api/v1/email-change-undos", payload: { token } });
  assert.equal(inTime.statusCode, 200, inTime.body);
});

test("bad input to the email change is a clear 400", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  assert.equal(errorCodeOf(await start(app, owner, "not-an-address")), "email_invalid");
  assert.equal(errorCodeOf(await start(app, owner, owner.email.toUpperCase())), "email_unchanged");
  const extra = await call(app, "POST", "/api/v1/security/email-changes", owner.cookie, { email: 5 });
  assert.equal(extra.statusCode, 400);
  const badUndo = await app.inject({ method: "POST", url: "/api/v1/email-change-undos", payload: {} });
  assert.equal(badUndo.statusCode, 400);
  const unknown = await verify(app, owner, "pch_unknown", "123456");
  assert.equal(errorCodeOf(unknown), "profile_change_not_found");
});

test("another account's email change cannot be completed with this session", async (t) => {
  // Attack: a change id seen elsewhere is sent from another account to take the address over.
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const stranger = await app.registerAccount();
  const id = await changeId(app, owner, "mine@example.jp");
  const code = await app.latestCode("mine@example.jp", "email_change_code");
  assert.ok(code);
  const refused = await verify(app, stranger, id, code);
  assert.equal(errorCodeOf(refused), "profile_change_not_found");
});

test("the name follows the sign-up rules, is mailed and shows in the activity", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const empty = await call(app, "PUT", "/api/v1/security/name", owner.cookie, { name: "   " });
  assert.equal(errorCodeOf(empty), "name_invalid");
  const long = await call(app, "PUT", "/api/v1/security/name", owner.cookie, { name: "あ".repeat(101) });
  assert.equal(errorCodeOf(long), "name_invalid");
  const control = await call(app, "PUT", "/api/v1/security/name", owner.cookie, { name: "山田\u0007花子" });
  assert.equal(errorCodeOf(control), "name_invalid");
  const done = await call(app, "PUT", "/api/v1/security/name", owner.cookie, { name: "  佐藤   花子 " });
  assert.deepEqual(done.json(), { name: "佐藤 花子" });
  assert.ok((await app.messagesTo(owner.email)).some((m) => m.template === "profile_changed"));
  await changeEmail(app, owner, "activity@example.jp");
  const activity = await call(app, "GET", "/api/v1/security/activity", owner.cookie);
  const types = activity.json<{ activity: { type: string }[] }>().activity.map((a) => a.type);
  assert.ok(types.includes("account.name_changed"));
  assert.ok(types.includes("account.email_changed"));
});

test("email change starts are capped per account, also when sent all at once", async (t) => {
  // Attack: a signed-in session used to mail many addresses (codes, or "someone tried" notices).
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const cap = app.config.limits.codeMaxSends;
  const answers = await Promise.all(
    Array.from({ length: cap + 6 }, (_, i) => start(app, owner, `burst-${i}@example.jp`)),
  );
  assert.equal(answers.filter((r) => r.statusCode === 201).length, cap);
  const refused = answers.filter((r) => r.statusCode !== 201);
  assert.ok(refused.every((r) => r.statusCode === 429 && Number(r.headers["retry-after"]) > 0));
  app.clock.advance(3600);
  assert.equal(
    (await start(app, owner, "later@example.jp")).statusCode,
    403,
    "an hour later the sign-in is old",
  );
});
