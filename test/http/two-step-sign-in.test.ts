import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { buildTestApp, setSessionCookieHeader, type TestApp } from "../support/app.ts";
import { dialects, stopSharedPostgres } from "../support/databases.ts";
import {
  accountWithApp,
  call,
  challengeFor,
  errorCodeOf,
  oathtoolCode,
  phoneCode,
  sessionCookieHeader,
  verifyChallenge,
} from "../support/two-step.ts";

after(stopSharedPostgres);

async function addSmsBackup(app: TestApp, cookie: string, secret: string, phone = "080-1111-2222") {
  // A backup needs a code from the primary first (step-up), then a code from the new phone.
  const stepUp = await call(app, "POST", "/api/v1/session/reauthenticate", cookie, {
    method: "totp",
    code: oathtoolCode(secret, app.clock.now()),
  });
  assert.equal(stepUp.statusCode, 200, stepUp.body);
  app.clock.advance(30);
  const started = await call(app, "POST", "/api/v1/security/two-step/methods", cookie, {
    role: "backup",
    method: "sms",
    phone,
  });
  assert.equal(started.statusCode, 201, started.body);
  const id = started.json<{ enrollment: { id: string } }>().enrollment.id;
  const code = await phoneCode(app, "+818011112222");
  assert.ok(code);
  const verified = await call(app, "POST", `/api/v1/security/two-step/methods/${id}/verify`, cookie, {
    code,
  });
  assert.equal(verified.statusCode, 200, verified.body);
}

for (const dialect of dialects) {
  describe(`sign-in with two-step verification (${dialect})`, () => {
    test("with two-step on, the password alone gives a challenge and no session", async (t) => {
      const app = await buildTestApp(t, { dialect });
      const owner = await accountWithApp(app);
      const before = await app.db
        .selectFrom("session")
        .select("id")
        .where("account_id", "=", owner.accountId)
        .execute();
      const response = await app.signIn({ identifier: owner.email, password: owner.password });
      const body = response.json<{ status: string; challenge: Record<string, unknown> }>();
      assert.equal(body.status, "two_step_required");
      assert.equal(body.challenge.method, "totp");
      assert.equal(setSessionCookieHeader(response, app.config), undefined, "no session cookie");
      const afterwards = await app.db
        .selectFrom("session")
        .select("id")
        .where("account_id", "=", owner.accountId)
        .execute();
      assert.equal(afterwards.length, before.length, "no session row");
    });

    test("an app code signs in with assurance level 2; the same code is refused a second time", async (t) => {
      const app = await buildTestApp(t, { dialect });
      const owner = await accountWithApp(app);
      const code = oathtoolCode(owner.secret, app.clock.now());
      const first = await verifyChallenge(app, await challengeFor(app, owner.email, owner.password), {
        code,
      });
      assert.equal(first.statusCode, 200, first.body);
      const cookie = sessionCookieHeader(first, app.config);
      const session = await app.db
        .selectFrom("session")
        .select(["aal", "factors"])
        .where("id", "=", cookie.split("=")[1]?.split(".")[0] ?? "")
        .executeTakeFirstOrThrow();
      assert.deepEqual(session, { aal: 2, factors: JSON.stringify(["password", "totp"]) });
      // Attack: the same code, seen over a shoulder, replayed within its 30 seconds.
      const replay = await verifyChallenge(app, await challengeFor(app, owner.email, owner.password), {
        code,
      });
      assert.equal(replay.statusCode, 400);
      assert.equal(errorCodeOf(replay), "invalid_code");
    });

    test("a code one step early or late is accepted, two steps is not", async (t) => {
      const app = await buildTestApp(t, { dialect });
      const owner = await accountWithApp(app);
      const late = oathtoolCode(owner.secret, app.clock.now(), -2);
      assert.equal(
        (await verifyChallenge(app, await challengeFor(app, owner.email, owner.password), { code: late }))
          .statusCode,
        400,
      );
      const drift = oathtoolCode(owner.secret, app.clock.now(), 1);
      assert.equal(
        (await verifyChallenge(app, await challengeFor(app, owner.email, owner.password), { code: drift }))
          .statusCode,
        200,
      );
    });

    test("a second-factor challenge is refused after five wrong codes, even when the sixth is right", async (t) => {
      const app = await buildTestApp(t, { dialect });
      const owner = await accountWithApp(app);
      const challenge = await challengeFor(app, owner.email, owner.password);
      const right = oathtoolCode(owner.secret, app.clock.now());
      const wrong = right === "000000" ? "111111" : "000000";
      const lefts: unknown[] = [];
      for (let i = 0; i < 5; i++) {
        const response = await verifyChallenge(app, challenge, { code: wrong });
        lefts.push(response.json<{ error: { attemptsLeft: number } }>().error.attemptsLeft);
      }
      assert.deepEqual(lefts, [4, 3, 2, 1, 0]);
      const sixth = await verifyChallenge(app, challenge, { code: right });
      assert.equal(sixth.statusCode, 410);
      assert.equal(errorCodeOf(sixth), "challenge_expired");
    });

    test("ten wrong codes across challenges lock two-step sign-in for a while and mail the owner", async (t) => {
      const app = await buildTestApp(t, { dialect });
      const owner = await accountWithApp(app);
      for (let i = 0; i < 10; i++) {
        const challenge = await challengeFor(app, owner.email, owner.password);
        await verifyChallenge(app, challenge, { code: "000000" });
      }
      const challenge = await challengeFor(app, owner.email, owner.password);
      const locked = await verifyChallenge(app, challenge, {
        code: oathtoolCode(owner.secret, app.clock.now()),
      });
      assert.equal(locked.statusCode, 429);
      assert.ok(Number(locked.headers["retry-after"]) > 0);
      const mails = await app.messagesTo(owner.email);
      assert.equal(
        mails.filter((m) => m.template === "two_step_changed" && /何度も|again and again/.test(m.text_body))
          .length,
        1,
      );
    });

    test("lost phone: a challenge sent by SMS switches to the app", async (t) => {
      const app = await buildTestApp(t, { dialect });
      const owner = await accountWithApp(app);
      await addSmsBackup(app, owner.cookie, owner.secret);
      app.clock.advance(30);
      const challenge = await challengeFor(app, owner.email, owner.password);
      const switched = await call(app, "POST", `/api/v1/sign-in/challenges/${challenge}/switch`, undefined, {
        method: "sms",
      });
      assert.equal(switched.statusCode, 200, switched.body);
      assert.equal(
        switched.json<{ challenge: { destination: string } }>().challenge.destination,
        "+********2222",
      );
      const smsCode = await phoneCode(app, "+818011112222");
      assert.ok(smsCode);
      // Deleted app: the SMS backup's code signs in.
      const signedIn = await verifyChallenge(app, challenge, { code: smsCode, method: "sms" });
      assert.equal(signedIn.statusCode, 200, signedIn.body);
      // Lost phone: the app still signs in on the next challenge.
      app.clock.advance(30);
      const next = await challengeFor(app, owner.email, owner.password);
      assert.equal(
        (
          await verifyChallenge(app, next, {
            code: oathtoolCode(owner.secret, app.clock.now()),
            method: "totp",
          })
        ).statusCode,
        200,
      );
    });

    test("a recovery code signs in once, and the owner is told how many are left", async (t) => {
      const app = await buildTestApp(t, { dialect });
      const owner = await accountWithApp(app);
      assert.equal(owner.recoveryCodes.length, 10);
      assert.match(owner.recoveryCodes[0] ?? "", /^[2-9A-HJKMNP-TV-Z]{5}-[2-9A-HJKMNP-TV-Z]{5}$/);
      const code = (owner.recoveryCodes[0] ?? "").toLowerCase();
      const first = await verifyChallenge(app, await challengeFor(app, owner.email, owner.password), {
        code,
        method: "recovery_code",
      });
      assert.equal(first.statusCode, 200, first.body);
      const again = await verifyChallenge(app, await challengeFor(app, owner.email, owner.password), {
        code,
        method: "recovery_code",
      });
      assert.equal(again.statusCode, 400);
      const mail = (await app.messagesTo(owner.email)).find(
        (m) => m.template === "two_step_changed" && /9/.test(m.text_body),
      );
      assert.ok(mail, "the owner is mailed with the count left");
    });

    test("a trusted browser skips the second factor, never the password", async (t) => {
      const app = await buildTestApp(t, { dialect });
      const owner = await accountWithApp(app);
      const challenge = await challengeFor(app, owner.email, owner.password);
      const trusted = await verifyChallenge(app, challenge, {
        code: oathtoolCode(owner.secret, app.clock.now()),
        trustDevice: true,
      });
      const raw = trusted.headers["set-cookie"];
      const deviceCookie = (Array.isArray(raw) ? raw : [String(raw)]).find((c) =>
        c.startsWith("mamori_trusted="),
      );
      assert.ok(deviceCookie, "the trusted-device cookie is set");
      assert.match(deviceCookie, /HttpOnly/i);
      const cookie = deviceCookie.split(";")[0] ?? "";
      const skipped = await app.signIn({ identifier: owner.email, password: owner.password }, { cookie });
      assert.equal(skipped.json<{ status: string }>().status, "signed_in");
      const wrong = await app.signIn({ identifier: owner.email, password: "not-the-password-1" }, { cookie });
      assert.equal(wrong.statusCode, 401);
      // 30 days later the browser is asked again.
      app.clock.advance(30 * 86_400 + 1);
      assert.equal(
        (await app.signIn({ identifier: owner.email, password: owner.password }, { cookie })).json<{
          status: string;
        }>().status,
        "two_step_required",
      );
    });

    test("during a pause caused by someone else's guesses, the owner's trusted browser still signs in", async (t) => {
      const app = await buildTestApp(t, { dialect, env: { MAMORI_SIGN_IN_FAILURES_PER_IDENTIFIER: "3" } });
      const owner = await accountWithApp(app);
      const challenge = await challengeFor(app, owner.email, owner.password);
      const trusted = await verifyChallenge(app, challenge, {
        code: oathtoolCode(owner.secret, app.clock.now()),
        trustDevice: true,
      });
      const raw = trusted.headers["set-cookie"];
      const cookie =
        (Array.isArray(raw) ? raw : [String(raw)])
          .find((c) => c.startsWith("mamori_trusted="))
          ?.split(";")[0] ?? "";
      // Attack: guesses from elsewhere pause password sign-in for the account...
      for (let i = 0; i < 3; i++) await app.signIn({ identifier: owner.email, password: `guess-${i}` });
      assert.equal((await app.signIn({ identifier: owner.email, password: owner.password })).statusCode, 429);
      // ...but not for the owner's own trusted browser, which still needs the right password.
      assert.equal(
        (await app.signIn({ identifier: owner.email, password: "guess-9" }, { cookie })).statusCode,
        401,
      );
      const own = await app.signIn({ identifier: owner.email, password: owner.password }, { cookie });
      assert.equal(own.json<{ status: string }>().status, "signed_in");
    });

    test("an emailed reset code never replaces the second factor", async (t) => {
      const app = await buildTestApp(t, { dialect });
      const owner = await accountWithApp(app);
      const reset = await app.inject({
        method: "POST",
        url: "/api/v1/password-resets",
        payload: { identifier: owner.email },
      });
      const id = reset.json<{ passwordReset: { id: string } }>().passwordReset.id;
      const code = await app.latestCode(owner.email, "password_reset_code");
      assert.ok(code);
      await app.inject({ method: "POST", url: `/api/v1/password-resets/${id}/verify`, payload: { code } });
      const newPassword = "Minamo-Tsuki-7702-Sango";
      const done = await app.inject({
        method: "POST",
        url: `/api/v1/password-resets/${id}/complete`,
        payload: { newPassword },
      });
      assert.equal(done.statusCode, 200);
      assert.equal(done.headers["set-cookie"], undefined);
      await challengeFor(app, owner.email, newPassword);
    });
  });
}
