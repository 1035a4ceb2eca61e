import assert from "node:assert/strict";
import { test } from "node:test";
import { buildTestApp, sameOrigin, type TestApp } from "../support/app.ts";

const newPassword = "Hoshizora-Kaede-5529-Ringo";

async function change(app: TestApp, cookie: string, body: Record<string, unknown>) {
  return app.inject({
    method: "PUT",
    url: "/api/v1/security/password",
    headers: { cookie, ...sameOrigin(app.config) },
    payload: body,
  });
}

test("changing the password needs the current one, keeps this session and ends the others", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount({ locale: "en" });
  const other = await app.signIn({ identifier: owner.email, password: owner.password, sessionType: "token" });
  const otherToken = other.json<{ session: { token: string } }>().session.token;

  const changed = await change(app, owner.cookie, { currentPassword: owner.password, newPassword });
  assert.equal(changed.statusCode, 200);
  assert.deepEqual(changed.json(), { status: "password_changed", sessionsRevoked: 1 });

  const here = await app.inject({ method: "GET", url: "/api/v1/session", headers: { cookie: owner.cookie } });
  assert.equal(here.statusCode, 200, "this session stays");
  const there = await app.inject({
    method: "GET",
    url: "/api/v1/session",
    headers: { authorization: `Bearer ${otherToken}` },
  });
  assert.equal(there.statusCode, 401, "the other session ended");
  const mail = (await app.messagesTo(owner.email)).find((m) => m.template === "password_changed");
  assert.match(mail?.text_body ?? "", /other devices have been signed out/);
  assert.equal((await app.signIn({ identifier: owner.email, password: newPassword })).statusCode, 200);
});

test("a wrong current password changes nothing and counts against the account's limit", async (t) => {
  const app = await buildTestApp(t, { env: { MAMORI_SIGN_IN_FAILURES_PER_IDENTIFIER: "2" } });
  const owner = await app.registerAccount();
  for (let i = 0; i < 2; i++) {
    const wrong = await change(app, owner.cookie, { currentPassword: "not-my-password-1", newPassword });
    assert.equal(wrong.statusCode, 401);
    assert.deepEqual(
      [
        wrong.json<{ error: { code: string } }>().error.code,
        wrong.json<{ error: { field: string } }>().error.field,
      ],
      ["invalid_credentials", "currentPassword"],
    );
  }
  const limited = await change(app, owner.cookie, { currentPassword: owner.password, newPassword });
  assert.equal(limited.statusCode, 429, "even the right password waits now");
  assert.ok(Number(limited.headers["retry-after"]) > 0);
  assert.equal((await app.signIn({ identifier: owner.email, password: owner.password })).statusCode, 200);
});

test("the new password may not be the current one or one of the last five", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const same = await change(app, owner.cookie, {
    currentPassword: owner.password,
    newPassword: owner.password,
  });
  assert.equal(same.json<{ error: { code: string } }>().error.code, "password_reused");

  // After four changes the first password is still one of the last five; after five it is not.
  const passwords = [
    owner.password,
    "Tsubame-Kiri-4410-Hotaru",
    "Ookami-Sora-8823-Nagi",
    "Kawasemi-Yuki-3391-Fuji",
    newPassword,
  ];
  for (let i = 1; i < passwords.length; i++) {
    const step = await change(app, owner.cookie, {
      currentPassword: passwords[i - 1],
      newPassword: passwords[i],
    });
    assert.equal(step.statusCode, 200, step.body);
  }
  const tooSoon = await change(app, owner.cookie, {
    currentPassword: newPassword,
    newPassword: owner.password,
  });
  assert.equal(tooSoon.statusCode, 400);
  assert.equal(tooSoon.json<{ error: { code: string } }>().error.code, "password_reused");
  const fifth = "Hibari-Mizu-6604-Kashi";
  assert.equal(
    (await change(app, owner.cookie, { currentPassword: newPassword, newPassword: fifth })).statusCode,
    200,
  );
  const later = await change(app, owner.cookie, { currentPassword: fifth, newPassword: owner.password });
  assert.equal(later.statusCode, 200, later.body);
});

test("the new password follows the policy", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const weak = await change(app, owner.cookie, { currentPassword: owner.password, newPassword: "password1" });
  assert.equal(weak.statusCode, 400);
  assert.equal(weak.json<{ error: { field: string } }>().error.field, "newPassword");
});

test("a password change from another site is refused (CSRF)", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const forged = await app.inject({
    method: "PUT",
    url: "/api/v1/security/password",
    headers: { cookie: owner.cookie, origin: "https://evil.example" },
    payload: { currentPassword: owner.password, newPassword },
  });
  assert.equal(forged.statusCode, 403);
});

test("Login & security shows what is set, with two-step verification off", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const security = await app.inject({
    method: "GET",
    url: "/api/v1/security",
    headers: { cookie: owner.cookie },
  });
  assert.equal(security.statusCode, 200);
  const body = security.json<Record<string, unknown>>();
  assert.equal(body.email, owner.email);
  assert.equal(body.phone, null);
  assert.equal(typeof body.passwordChangedAt, "string");
  assert.deepEqual(body.twoStep, { enabled: false, primary: null, backups: [], recoveryCodesLeft: 0 });
  assert.equal((await app.inject({ method: "GET", url: "/api/v1/security" })).statusCode, 401);
});
