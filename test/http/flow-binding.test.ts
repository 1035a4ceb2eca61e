import assert from "node:assert/strict";
import { after, test } from "node:test";
import { pino } from "pino";
import {
  buildTestApp,
  sessionCookieHeader,
  setSessionCookieHeader as sessionCookieOf,
  strongPassword,
} from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import { flowCookieSetBy, location, openForm, postForm } from "../support/forms.ts";
import { accountWithApp, errorCodeOf, oathtoolCode } from "../support/two-step.ts";

// The id alone acts on nothing: every flow started through the JSON API belongs to the client that
// started it, by the flow token of its first answer, sent back in X-Mamori-Flow-Token on every later
// step. Attack (found on the landed code): a reset's URL from a shared computer's history let a
// stranger set the password after the owner had entered the code. Strangers here call
// `app.inject` directly, holding only the id (the test app's own `inject` plays the owner's client).

after(stopSharedPostgres);

const newPassword = "Hoshizora-Ame-8812-Kitsune";

test("a password reset's id alone sets no password: its steps need the flow token", async (t) => {
  const s = await buildTestApp(t);
  const owner = await s.registerAccount();
  const started = await s.app.inject({
    method: "POST",
    url: "/api/v1/password-resets",
    payload: { identifier: owner.email },
  });
  const reset = started.json<{ passwordReset: { id: string; flowToken: string } }>().passwordReset;
  assert.match(reset.flowToken, /^[0-9a-f]{64}$/);
  const token = { "x-mamori-flow-token": reset.flowToken };
  const code = (await s.latestCode(owner.email, "password_reset_code")) ?? "";
  const verified = await s.app.inject({
    method: "POST",
    url: `/api/v1/password-resets/${reset.id}/verify`,
    payload: { code },
    headers: token,
  });
  assert.equal(verified.statusCode, 200, verified.body);

  const url = `/api/v1/password-resets/${reset.id}/complete`;
  const bare = await s.app.inject({ method: "POST", url, payload: { newPassword } });
  assert.equal(bare.statusCode, 400, "the header is required");
  const forged = await s.app.inject({
    method: "POST",
    url,
    payload: { newPassword },
    headers: { "x-mamori-flow-token": "0".repeat(64) },
  });
  assert.equal(errorCodeOf(forged), "password_reset_not_found", "a wrong token is no flow at all");
  const stillOld = await s.signIn({ identifier: owner.email, password: owner.password });
  assert.equal(stillOld.statusCode, 200, "the stranger changed nothing");

  const done = await s.app.inject({ method: "POST", url, payload: { newPassword }, headers: token });
  assert.equal(done.statusCode, 200, done.body);
});

test("a sign-in challenge's id alone accepts no code: its steps need the flow token", async (t) => {
  // Attack: the challenge id and the owner's code as it arrives, used from elsewhere.
  const s = await buildTestApp(t);
  const owner = await accountWithApp(s);
  const signIn = await s.app.inject({
    method: "POST",
    url: "/api/v1/sign-in",
    payload: { identifier: owner.email, password: owner.password },
  });
  const challenge = signIn.json<{ challenge: { id: string; flowToken: string } }>().challenge;
  const url = `/api/v1/sign-in/challenges/${challenge.id}/verify`;
  const code = oathtoolCode(owner.secret, s.clock.now());
  const forged = await s.app.inject({
    method: "POST",
    url,
    payload: { code },
    headers: { "x-mamori-flow-token": "f".repeat(64) },
  });
  assert.equal(errorCodeOf(forged), "challenge_not_found");
  for (const step of ["switch", "resend"]) {
    const other = await s.app.inject({
      method: "POST",
      url: `/api/v1/sign-in/challenges/${challenge.id}/${step}`,
      payload: step === "switch" ? { method: "totp" } : {},
      headers: { "x-mamori-flow-token": "f".repeat(64) },
    });
    assert.equal(errorCodeOf(other), "challenge_not_found", step);
  }
  const flow = await s.db
    .selectFrom("sign_in_flow")
    .select(["state", "attempts"])
    .where("id", "=", challenge.id)
    .executeTakeFirstOrThrow();
  assert.deepEqual(flow, { state: "second_factor_required", attempts: 0 }, "nothing was tried");

  const owned = await s.app.inject({
    method: "POST",
    url,
    payload: { code },
    headers: { "x-mamori-flow-token": challenge.flowToken },
  });
  assert.equal(owned.statusCode, 200, owned.body);
  assert.ok(sessionCookieHeader(owned, s.config));
});

test("a registration's id alone verifies nothing and sends nothing", async (t) => {
  const s = await buildTestApp(t);
  const email = "bound-registration@example.jp";
  const started = await s.app.inject({
    method: "POST",
    url: "/api/v1/registrations",
    payload: { name: "山田 花子", email, password: strongPassword },
  });
  const registration = started.json<{ registration: { id: string; flowToken: string } }>().registration;
  const code = (await s.latestCode(email)) ?? "";
  const forged = { "x-mamori-flow-token": "a".repeat(64) };
  const verify = await s.app.inject({
    method: "POST",
    url: `/api/v1/registrations/${registration.id}/verify`,
    payload: { code },
    headers: forged,
  });
  assert.equal(errorCodeOf(verify), "registration_not_found");
  s.clock.advance(61);
  const before = (await s.messagesTo(email)).length;
  const resend = await s.app.inject({
    method: "POST",
    url: `/api/v1/registrations/${registration.id}/resend`,
    headers: forged,
  });
  assert.equal(errorCodeOf(resend), "registration_not_found");
  assert.equal((await s.messagesTo(email)).length, before, "no mail sent for a stranger");
  const account = await s.db.selectFrom("account").select("id").where("email", "=", email).executeTakeFirst();
  assert.equal(account, undefined);
});

test("an email reminder's id alone reveals no email", async (t) => {
  const s = await buildTestApp(t);
  const started = await s.app.inject({
    method: "POST",
    url: "/api/v1/email-reminders",
    payload: { phone: "090-1234-5678" },
  });
  const reminder = started.json<{ emailReminder: { id: string; flowToken: string } }>().emailReminder;
  assert.ok(reminder.flowToken);
  const verify = await s.app.inject({
    method: "POST",
    url: `/api/v1/email-reminders/${reminder.id}/verify`,
    payload: { code: "123456" },
    headers: { "x-mamori-flow-token": "b".repeat(64) },
  });
  assert.equal(errorCodeOf(verify), "email_reminder_not_found");
});

test("flow tokens are kept out of the request log", async (t) => {
  const lines: string[] = [];
  const log = pino({ level: "info" }, { write: (line: string) => lines.push(line) });
  const s = await buildTestApp(t, { log });
  const owner = await s.registerAccount();
  const started = await s.inject({
    method: "POST",
    url: "/api/v1/password-resets",
    payload: { identifier: owner.email },
  });
  const reset = started.json<{ passwordReset: { id: string; flowToken: string } }>().passwordReset;
  await s.inject({
    method: "POST",
    url: `/api/v1/password-resets/${reset.id}/verify`,
    payload: { code: "000000" },
  });
  assert.ok(
    lines.some((line) => line.includes(`/api/v1/password-resets/${reset.id}/verify`)),
    "the step was logged",
  );
  assert.ok(!lines.some((line) => line.includes(reset.flowToken)), "its token was not");
});

test("the sign-up code page opened without its browser cookie shows nothing and accepts nothing", async (t) => {
  // Attack: `/sign-up/verify?registration=…` from a shared computer's history, with the code
  // that arrives in the mailbox (or guesses at it): the address is shown, tries and mail spent.
  const s = await buildTestApp(t);
  const email = "page-bound@example.jp";
  const signUp = await openForm(s, "/sign-up");
  const posted = await postForm(s, "/sign-up", signUp, {
    _csrf: signUp.csrf,
    name: "山田 花子",
    email,
    password: strongPassword,
  });
  const url = location(posted);
  const owner = `${signUp.cookie}; ${flowCookieSetBy(posted, "mamori_sign_up") ?? ""}`;
  const code = (await s.latestCode(email)) ?? "";
  const id = new URL(url, "http://x").searchParams.get("registration") ?? "";

  const elsewhere = await s.inject({ method: "GET", url });
  assert.equal(location(elsewhere), "/sign-up");
  assert.doesNotMatch(elsewhere.body, /page-bound/);
  const stranger = await openForm(s, "/sign-up");
  const sent = (await s.messagesTo(email)).length;
  s.clock.advance(61);
  const resent = await postForm(s, "/sign-up/resend", stranger, { _csrf: stranger.csrf, registration: id });
  assert.equal(location(resent), "/sign-up");
  assert.equal((await s.messagesTo(email)).length, sent, "no mail for a stranger");
  const tried = await postForm(s, "/sign-up/verify", stranger, {
    _csrf: stranger.csrf,
    registration: id,
    code,
  });
  assert.equal(location(tried), "/sign-up");
  assert.equal(sessionCookieOf(tried, s.config), undefined, "no session for another browser");
  const none = await s.db.selectFrom("account").select("id").where("email", "=", email).executeTakeFirst();
  assert.equal(none, undefined);

  const page = await openForm(s, url, owner);
  assert.match(page.body, /page-bound@example\.jp/);
  const verified = await postForm(s, "/sign-up/verify", page, { _csrf: page.csrf, registration: id, code });
  assert.equal(location(verified), "/account/welcome");
});
