import assert from "node:assert/strict";
import { after, test } from "node:test";
import { buildTestApp, type RegisteredAccount, type TestApp } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import { wrongCode } from "../support/forms.ts";
import { call, errorCodeOf, oathtoolCode, phoneCode } from "../support/two-step.ts";

// Login & security -> 携帯電話番号 (docs/flows/profile.md): the account's own number, with an SMS
// code for adding, changing and removing it. Runs on SQLite, and on PostgreSQL with
// MAMORI_TEST_DATABASE=postgres.
after(stopSharedPostgres);

const number = "090-1234-5678";
const e164 = "+819012345678";

async function startChange(app: TestApp, owner: RegisteredAccount, phone: string) {
  return call(app, "POST", "/api/v1/security/phone-changes", owner.cookie, { phone });
}

async function verify(app: TestApp, owner: RegisteredAccount, id: string, code: string) {
  return call(app, "POST", `/api/v1/security/phone-changes/${id}/verify`, owner.cookie, { code });
}

async function addPhone(app: TestApp, owner: RegisteredAccount, phone: string, to: string): Promise<void> {
  const started = await startChange(app, owner, phone);
  assert.equal(started.statusCode, 201, started.body);
  const id = started.json<{ phoneChange: { id: string } }>().phoneChange.id;
  const code = await phoneCode(app, to);
  assert.ok(code);
  const done = await verify(app, owner, id, code);
  assert.equal(done.statusCode, 200, done.body);
}

async function signInAs(app: TestApp, identifier: string, password: string): Promise<string | undefined> {
  const r = await app.signIn({ identifier, password });
  return r.statusCode === 200 ? r.json<{ account: { id: string } }>().account.id : undefined;
}

test("a mobile number is added with an SMS code and then signs in", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const started = await startChange(app, owner, number);
  assert.equal(started.statusCode, 201, started.body);
  const change = started.json<{ phoneChange: { id: string; phone: string; kind: string } }>().phoneChange;
  assert.equal(change.phone, "+********5678");
  assert.equal(change.kind, "phone");
  assert.equal(await signInAs(app, number, owner.password), undefined, "not before the code");
  const code = await phoneCode(app, e164);
  assert.ok(code);
  assert.equal(errorCodeOf(await verify(app, owner, change.id, wrongCode(code))), "invalid_code");
  const done = await verify(app, owner, change.id, code);
  assert.deepEqual(done.json(), { phone: "+********5678" });
  assert.equal(await signInAs(app, number, owner.password), owner.accountId);
  assert.ok((await app.messagesTo(owner.email)).some((m) => m.template === "profile_changed"));
  const activity = await call(app, "GET", "/api/v1/security/activity", owner.cookie);
  assert.ok(
    activity.json<{ activity: { type: string }[] }>().activity.some((a) => a.type === "account.phone_added"),
  );
});

test("a 050 IP phone is refused for the account's number with a clear reason", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const refused = await startChange(app, owner, "050-1234-5678");
  assert.equal(refused.statusCode, 400);
  assert.equal(errorCodeOf(refused), "phone_cannot_receive_sms");
  assert.match(refused.json<{ error: { message: string } }>().error.message, /050/);
  assert.equal(errorCodeOf(await startChange(app, owner, "03-1234-5678")), "phone_cannot_receive_sms");
  assert.equal(errorCodeOf(await startChange(app, owner, "hello")), "phone_invalid");
  for (const mobile of ["060-1234-5678", "070-1234-5678", "080-1234-5678", "090-1234-5678"]) {
    assert.equal((await startChange(app, owner, mobile)).statusCode, 201, mobile);
  }
});

test("adding a mobile number needs a recent sign-in", async (t) => {
  // Attack: a browser left signed in adds the thief's phone, which then signs in and reveals the email.
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  app.clock.advance(app.config.limits.reauthenticationWindowSeconds + 1);
  assert.equal(errorCodeOf(await startChange(app, owner, number)), "reauthentication_required");
  assert.equal(
    errorCodeOf(await call(app, "DELETE", "/api/v1/security/phone", owner.cookie)),
    "reauthentication_required",
  );
});

test("a number another account verifies leaves the old account, whose owner is mailed", async (t) => {
  // Numbers are recycled: the new holder of a number must not sign in to, or learn the email of,
  // the account of its previous holder.
  const app = await buildTestApp(t);
  const previous = await app.registerAccount();
  const next = await app.registerAccount();
  await addPhone(app, previous, number, e164);
  assert.equal(await signInAs(app, number, previous.password), previous.accountId);
  app.clock.advance(61);
  await addPhone(app, next, number, e164);
  assert.equal(
    await signInAs(app, number, next.password),
    next.accountId,
    "the number signs in to the new holder",
  );
  const old = await app.db
    .selectFrom("account")
    .select(["phone"])
    .where("id", "=", previous.accountId)
    .executeTakeFirstOrThrow();
  assert.equal(old.phone, null);
  const moved = (await app.messagesTo(previous.email)).find((m) => m.template === "phone_moved");
  assert.match(moved?.text_body ?? "", /5678/);
  const events = await app.db
    .selectFrom("audit_event")
    .select("type")
    .where("account_id", "=", previous.accountId)
    .where("type", "=", "account.phone_removed")
    .execute();
  assert.equal(events.length, 1);
});

test("removing the mobile number needs an SMS code to it, and then it no longer signs in", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  await addPhone(app, owner, number, e164);
  app.clock.advance(61);
  const started = await call(app, "DELETE", "/api/v1/security/phone", owner.cookie);
  assert.equal(started.statusCode, 202, started.body);
  const id = started.json<{ phoneChange: { id: string; kind: string } }>().phoneChange.id;
  assert.equal(await signInAs(app, number, owner.password), owner.accountId, "not removed before the code");
  const code = await phoneCode(app, e164);
  assert.ok(code);
  const done = await verify(app, owner, id, code);
  assert.deepEqual(done.json(), { phone: null });
  assert.equal(await signInAs(app, number, owner.password), undefined);
  const none = await call(app, "DELETE", "/api/v1/security/phone", owner.cookie);
  assert.equal(errorCodeOf(none), "profile_change_not_found");
});

test("one SMS code sent many times at once changes the number once", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const started = await startChange(app, owner, number);
  const id = started.json<{ phoneChange: { id: string } }>().phoneChange.id;
  const code = await phoneCode(app, e164);
  assert.ok(code);
  const answers = await Promise.all(Array.from({ length: 12 }, () => verify(app, owner, id, code)));
  assert.equal(answers.filter((r) => r.statusCode === 200).length, 1, answers.map((r) => r.body).join("\n"));
  const mails = (await app.messagesTo(owner.email)).filter((m) => m.template === "profile_changed");
  assert.equal(mails.length, 1);
});

async function smsPrimary(
  app: TestApp,
  owner: RegisteredAccount,
  phone: string,
  to: string,
): Promise<string> {
  const started = await call(app, "POST", "/api/v1/security/two-step/methods", owner.cookie, {
    role: "primary",
    method: "sms",
    phone,
  });
  assert.equal(started.statusCode, 201, started.body);
  const id = started.json<{ enrollment: { id: string } }>().enrollment.id;
  const code = await phoneCode(app, to);
  assert.ok(code);
  const verified = await call(app, "POST", `/api/v1/security/two-step/methods/${id}/verify`, owner.cookie, {
    code,
  });
  assert.equal(verified.statusCode, 200, verified.body);
  return id;
}

test("removing an SMS two-step method leaves no sign-in ID behind", async (t) => {
  // Attack: a number set up for two-step and removed (given up, recycled) kept signing in to the
  // account and revealing its email through 「Eメールアドレスをお忘れの場合」.
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const methodId = await smsPrimary(app, owner, number, e164);
  assert.equal(
    await signInAs(app, number, owner.password),
    owner.accountId,
    "SMS two-step's number signs in",
  );
  const removed = await call(app, "DELETE", `/api/v1/security/two-step/methods/${methodId}`, owner.cookie);
  assert.equal(removed.statusCode, 204, removed.body);
  assert.equal(await signInAs(app, number, owner.password), undefined, "and stops when its method goes");
  const row = await app.db
    .selectFrom("account")
    .select(["phone"])
    .where("id", "=", owner.accountId)
    .executeTakeFirstOrThrow();
  assert.equal(row.phone, null);
});

test("the account's own number stays when an SMS two-step method with it is removed", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const methodId = await smsPrimary(app, owner, number, e164);
  app.clock.advance(61);
  // Kept as the account's number: verified again in 携帯電話番号.
  await addPhone(app, owner, number, e164);
  const removed = await call(app, "DELETE", `/api/v1/security/two-step/methods/${methodId}`, owner.cookie);
  assert.equal(removed.statusCode, 204, removed.body);
  assert.equal(await signInAs(app, number, owner.password), owner.accountId);
});

test("replacing an SMS two-step primary with an app leaves no sign-in ID behind", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  await smsPrimary(app, owner, number, e164);
  const started = await call(app, "POST", "/api/v1/security/two-step/methods", owner.cookie, {
    role: "primary",
    method: "totp",
  });
  assert.equal(started.statusCode, 201, started.body);
  const enrollment = started.json<{ enrollment: { id: string; secret: string } }>().enrollment;
  const verified = await call(
    app,
    "POST",
    `/api/v1/security/two-step/methods/${enrollment.id}/verify`,
    owner.cookie,
    {
      code: oathtoolCode(enrollment.secret, app.clock.now()),
    },
  );
  assert.equal(verified.statusCode, 200, verified.body);
  assert.equal(await signInAs(app, number, owner.password), undefined);
});
