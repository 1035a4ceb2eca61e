import assert from "node:assert/strict";
import { test } from "node:test";
import { setMaintenanceMode } from "../../src/operations/maintenance.ts";
import {
  assertApiError,
  buildTestApp,
  setSessionCookieHeader,
  strongPassword,
  type TestApp,
} from "../support/app.ts";

// Registration through the public API (shared/API.md, "Registration"): each test builds its own app
// on a fresh database, so they share nothing and run in any order.

type Started = { registration: { id: string; email: string; expiresAt: string } };

async function startRegistration(
  s: TestApp,
  body: Record<string, unknown> = {},
): Promise<{ id: string; email: string }> {
  const email = typeof body.email === "string" ? body.email : "hanako@example.jp";
  const response = await s.inject({
    method: "POST",
    url: "/api/v1/registrations",
    payload: { name: "山田 花子", email, password: strongPassword, ...body },
  });
  assert.equal(response.statusCode, 201, response.body);
  return { id: response.json<Started>().registration.id, email };
}

function verify(s: TestApp, id: string, code: string) {
  return s.inject({ method: "POST", url: `/api/v1/registrations/${id}/verify`, payload: { code } });
}

/** A six-digit code that is certainly not `code`. */
function wrongCodeFor(code: string): string {
  return code === "000000" ? "000001" : "000000";
}

async function accountCount(s: TestApp): Promise<number> {
  return (await s.db.selectFrom("account").select("id").execute()).length;
}

test("a registration mails a 6-digit code, and the right code creates the account and signs it in", async (t) => {
  const s = await buildTestApp(t);
  const started = await s.inject({
    method: "POST",
    url: "/api/v1/registrations",
    payload: { name: "  山田   花子 ", email: "Hanako@Example.JP", password: strongPassword },
  });
  assert.equal(started.statusCode, 201, started.body);
  const { registration } = started.json<Started>();
  assert.match(registration.id, /^reg_[0-9a-z]{26}$/);
  assert.equal(registration.email, "hanako@example.jp");
  assert.equal(registration.expiresAt, new Date(s.clock.now().getTime() + 900_000).toISOString());
  assert.equal(await accountCount(s), 0, "no account exists before the code is verified");

  assert.equal(await s.dispatch(), 1);
  const [mail] = s.email.sent;
  assert.ok(mail);
  assert.equal(mail.recipient, "hanako@example.jp");
  assert.equal(mail.subject, "【サンプルショップ】Eメールアドレスのセキュリティコード");
  const code = /セキュリティコード: (\d{6})/.exec(mail.text)?.[1];
  assert.ok(code, mail.text);
  assert.equal(await s.latestCode("hanako@example.jp"), code);

  const verified = await verify(s, registration.id, code);
  assert.equal(verified.statusCode, 201, verified.body);
  const body = verified.json<{ account: Record<string, unknown>; session: Record<string, unknown> }>();
  assert.deepEqual(Object.keys(body.account).sort(), ["email", "id", "locale", "name", "phone", "status"]);
  assert.equal(body.account.email, "hanako@example.jp");
  assert.equal(body.account.name, "山田 花子");
  assert.equal(body.account.status, "active");
  assert.equal(body.account.locale, "ja");
  assert.equal(body.session.token, undefined, "a cookie session never shows its token");
  const cookie = setSessionCookieHeader(verified, s.config);
  assert.ok(cookie);
  assert.match(cookie, /; HttpOnly/);
  assert.match(cookie, /; SameSite=Lax/);

  const row = await s.db.selectFrom("account").selectAll().executeTakeFirstOrThrow();
  assert.equal(row.id, body.account.id);
  assert.ok(row.password_hash?.startsWith("$argon2id$"), "the password is stored as an argon2id hash");
  const me = await s.inject({
    method: "GET",
    url: "/api/v1/session",
    headers: { cookie: cookie.split(";")[0] },
  });
  assert.equal(me.statusCode, 200);
  assert.equal(me.json<{ account: { id: string } }>().account.id, row.id);

  // The code is single use: the flow is over.
  assertApiError(await verify(s, registration.id, code), 404, "registration_not_found");
  assert.deepEqual((await s.messagesTo("hanako@example.jp")).map((m) => m.template).sort(), [
    "account_created",
    "registration_code",
  ]);
});

test("registering a taken email answers the same and mails the owner instead of a code", async (t) => {
  // Attack: account enumeration by registering someone else's address.
  const s = await buildTestApp(t);
  const owner = await s.registerAccount({ email: "taro@example.jp", name: "鈴木 太郎" });
  const before = (await s.messagesTo(owner.email)).length;
  s.clock.advance(1);

  const fresh = await s.inject({
    method: "POST",
    url: "/api/v1/registrations",
    payload: { name: "偽物 さん", email: "someone-new@example.jp", password: "Kawasemi-Hoshi-5520-Yuki" },
  });
  const taken = await s.inject({
    method: "POST",
    url: "/api/v1/registrations",
    payload: { name: "偽物 さん", email: "TARO@example.jp", password: "Kawasemi-Hoshi-5520-Yuki" },
  });
  assert.equal(taken.statusCode, 201, taken.body);
  assert.equal(taken.statusCode, fresh.statusCode);
  const a = fresh.json<Started>().registration;
  const b = taken.json<Started>().registration;
  assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
  assert.equal(b.email, "taro@example.jp");
  assert.equal(b.expiresAt, a.expiresAt);

  const messages = await s.messagesTo(owner.email);
  assert.equal(messages.length, before + 1, "exactly one new mail to the owner");
  assert.equal(messages[0]?.template, "registration_existing_account");
  assert.equal(messages[0]?.subject, "【サンプルショップ】このEメールアドレスでの登録がありました");
  assert.doesNotMatch(messages[0]?.text_body ?? "", /\d{6}/, "the owner's mail carries no code");
  assert.equal(messages.filter((m) => m.template === "registration_code").length, 1, "no second code");

  // The decoy flow can never complete, whatever code is tried.
  const code = await s.latestCode(owner.email);
  assert.ok(code);
  const error = assertApiError(await verify(s, b.id, code), 400, "invalid_code");
  assert.equal(error.attemptsLeft, 4);
  assert.equal(await accountCount(s), 1);
});

test("a password is refused with its error code and field", async (t) => {
  const s = await buildTestApp(t);
  const cases = [
    { password: "short1", code: "password_too_short", message: /8文字以上/ },
    { password: "Ab3-".repeat(65), code: "password_too_long", message: /256文字以内/ },
    { password: "password123", code: "password_too_common", message: /よく使われている/ },
    { password: "kazuki.tanaka-Ocean-9921", code: "password_contains_identifier", message: /氏名/ },
  ];
  for (const c of cases) {
    const response = await s.inject({
      method: "POST",
      url: "/api/v1/registrations",
      payload: { name: "田中 一樹", email: "kazuki.tanaka@example.jp", password: c.password },
    });
    const error = assertApiError(response, 400, c.code);
    assert.equal(error.field, "password", c.code);
    assert.match(error.message, c.message);
  }
  const badEmail = await s.inject({
    method: "POST",
    url: "/api/v1/registrations",
    payload: { name: "田中 一樹", email: "not-an-address", password: strongPassword },
  });
  assert.equal(assertApiError(badEmail, 400, "email_invalid").field, "email");
  assert.equal((await s.db.selectFrom("registration").select("id").execute()).length, 0);
  assert.equal((await s.db.selectFrom("outbox_message").select("id").execute()).length, 0);
});

test("a wrong code is refused with the number of tries left", async (t) => {
  const s = await buildTestApp(t, { env: { MAMORI_CODE_MAX_ATTEMPTS: "3" } });
  const { id, email } = await startRegistration(s);
  const code = await s.latestCode(email);
  assert.ok(code);
  const first = assertApiError(await verify(s, id, wrongCodeFor(code)), 400, "invalid_code");
  assert.equal(first.attemptsLeft, 2);
  assert.equal(first.field, "code");
  assert.match(first.message, /残り2回/);
  const second = assertApiError(await verify(s, id, wrongCodeFor(code)), 400, "invalid_code");
  assert.equal(second.attemptsLeft, 1);
  // Codes typed with spaces or full-width digits still count as the code.
  const spaced = `${code.slice(0, 3)} ${code.slice(3)}`.replace(/\d/g, (d) =>
    String.fromCharCode(0xff10 + Number(d)),
  );
  assert.equal((await verify(s, id, spaced)).statusCode, 201);
});

test("a registration code is refused after five wrong tries, even when the sixth is right", async (t) => {
  // Attack: guessing a 6-digit code. 5 tries of 10^6 is a 0.0005% chance (NIST SP 800-63B 5.2.2).
  const s = await buildTestApp(t);
  const { id, email } = await startRegistration(s);
  const code = await s.latestCode(email);
  assert.ok(code);
  for (const left of [4, 3, 2, 1, 0]) {
    const error = assertApiError(await verify(s, id, wrongCodeFor(code)), 400, "invalid_code");
    assert.equal(error.attemptsLeft, left);
  }
  const sixth = await verify(s, id, code);
  assertApiError(sixth, 429, "too_many_attempts");
  assert.match(String(sixth.headers["retry-after"]), /^[1-9]\d*$/);
  assert.equal(await accountCount(s), 0);
  const row = await s.db.selectFrom("registration").select("state").executeTakeFirstOrThrow();
  assert.equal(row.state, "exhausted");
  // A resend cannot revive a dead flow either.
  s.clock.advance(60);
  assertApiError(
    await s.inject({ method: "POST", url: `/api/v1/registrations/${id}/resend` }),
    429,
    "too_many_attempts",
  );
});

test("a registration code expires after its configured lifetime", async (t) => {
  const s = await buildTestApp(t, { env: { MAMORI_EMAIL_CODE_LIFETIME_SECONDS: "120" } });
  const { id, email } = await startRegistration(s);
  const code = await s.latestCode(email);
  assert.ok(code);
  s.clock.advance(119);
  assertApiError(await verify(s, id, wrongCodeFor(code)), 400, "invalid_code");
  s.clock.advance(1);
  const late = assertApiError(await verify(s, id, code), 410, "code_expired");
  assert.equal(late.field, "code");
  assert.equal(await accountCount(s), 0);
});

test("a resend waits for the cooldown, then voids the old code", async (t) => {
  const s = await buildTestApp(t);
  const { id, email } = await startRegistration(s);
  const oldCode = await s.latestCode(email);
  assert.ok(oldCode);

  const early = await s.inject({ method: "POST", url: `/api/v1/registrations/${id}/resend` });
  assertApiError(early, 429, "too_many_attempts");
  assert.equal(early.headers["retry-after"], "60");
  s.clock.advance(45);
  const stillEarly = await s.inject({ method: "POST", url: `/api/v1/registrations/${id}/resend` });
  assert.equal(stillEarly.statusCode, 429);
  assert.equal(stillEarly.headers["retry-after"], "15");

  s.clock.advance(15);
  const resent = await s.inject({ method: "POST", url: `/api/v1/registrations/${id}/resend` });
  assert.equal(resent.statusCode, 202, resent.body);
  assert.deepEqual(resent.json(), {});
  const codes = (await s.messagesTo(email)).filter((m) => m.template === "registration_code");
  assert.equal(codes.length, 2);
  const newCode = await s.latestCode(email);
  assert.ok(newCode);
  if (newCode !== oldCode) assertApiError(await verify(s, id, oldCode), 400, "invalid_code");
  assert.equal((await verify(s, id, newCode)).statusCode, 201);
});

test("registration answers 503 with the operator's message during maintenance", async (t) => {
  const s = await buildTestApp(t);
  const { id } = await startRegistration(s);
  const message = "ただいまシステムメンテナンス中です(10:00まで)";
  await setMaintenanceMode(s.db, { on: true, message, retryAfterSeconds: 120 }, s.clock.now());
  const start = {
    url: "/api/v1/registrations",
    payload: { name: "佐藤 健", email: "ken@example.jp", password: strongPassword },
  };
  const requests = [
    start,
    { url: `/api/v1/registrations/${id}/verify`, payload: { code: "123456" } },
    { url: `/api/v1/registrations/${id}/resend` },
  ];
  for (const request of requests) {
    const response = await s.inject({ method: "POST", ...request });
    const error = assertApiError(response, 503, "maintenance");
    assert.equal(error.message, message, request.url);
    assert.equal(response.headers["retry-after"], "120", request.url);
  }
  assert.equal((await s.db.selectFrom("registration").select("id").execute()).length, 1);

  await setMaintenanceMode(s.db, { on: false }, s.clock.now());
  assert.equal((await s.inject({ method: "POST", ...start })).statusCode, 201);
});

test("registrations from one IP are limited per hour, before any password is hashed or mail sent", async (t) => {
  const s = await buildTestApp(t, { env: { MAMORI_REGISTRATIONS_PER_IP_PER_HOUR: "2" } });
  const start = (email: string) =>
    s.inject({
      method: "POST",
      url: "/api/v1/registrations",
      payload: { name: "山田 花子", email, password: strongPassword },
    });
  assert.equal((await start("a@example.jp")).statusCode, 201);
  assert.equal((await start("b@example.jp")).statusCode, 201);
  const third = await start("c@example.jp");
  assertApiError(third, 429, "too_many_attempts");
  assert.ok(Number(third.headers["retry-after"]) > 0);
  assert.deepEqual(await s.messagesTo("c@example.jp"), []);
  s.clock.advance(3600);
  assert.equal((await start("c@example.jp")).statusCode, 201);
});
