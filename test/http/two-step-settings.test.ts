import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { buildTestApp } from "../support/app.ts";
import { dialects, stopSharedPostgres } from "../support/databases.ts";
import {
  accountWithApp,
  call,
  challengeFor,
  errorCodeOf,
  oathtoolCode,
  phoneCode,
} from "../support/two-step.ts";

after(stopSharedPostgres);

const methods = "/api/v1/security/two-step/methods";

for (const dialect of dialects) {
  describe(`two-step settings (${dialect})`, () => {
    test("an SMS primary: the code goes to the mobile, two-step turns on, and sign-in texts a code", async (t) => {
      const app = await buildTestApp(t, { dialect });
      const owner = await app.registerAccount({ locale: "en" });
      const started = await call(app, "POST", methods, owner.cookie, {
        role: "primary",
        method: "sms",
        phone: "090-1234-5678",
      });
      assert.equal(started.statusCode, 201, started.body);
      const enrollment = started.json<{ enrollment: { id: string; destination: string } }>().enrollment;
      assert.equal(enrollment.destination, "+********5678");
      const code = await phoneCode(app, "+819012345678");
      assert.ok(code);
      assert.equal(
        (await call(app, "POST", `${methods}/${enrollment.id}/verify`, owner.cookie, { code })).statusCode,
        200,
      );
      const enabled = await call(app, "POST", "/api/v1/security/two-step/enable", owner.cookie);
      assert.equal(enabled.statusCode, 200);
      const status = await call(app, "GET", "/api/v1/security", owner.cookie);
      const twoStep = status.json<{ twoStep: Record<string, unknown> }>().twoStep;
      assert.equal(twoStep.enabled, true);
      assert.equal(twoStep.recoveryCodesLeft, 10);
      assert.deepEqual((twoStep.primary as { method: string }).method, "sms");
      // The verified mobile is now a sign-in identifier too.
      app.clock.advance(61);
      const challenge = await challengeFor(app, "090-1234-5678", owner.password);
      const smsCode = await phoneCode(app, "+819012345678");
      assert.ok(smsCode && smsCode !== code);
      const signedIn = await call(app, "POST", `/api/v1/sign-in/challenges/${challenge}/verify`, undefined, {
        code: smsCode,
      });
      assert.equal(signedIn.statusCode, 200, signedIn.body);
    });

    test("a 050 IP phone is refused for SMS with a clear message, but may take a voice call", async (t) => {
      const app = await buildTestApp(t, { dialect });
      const owner = await app.registerAccount({ locale: "en" });
      const sms = await call(app, "POST", methods, owner.cookie, {
        role: "primary",
        method: "sms",
        phone: "050-1234-5678",
      });
      assert.equal(sms.statusCode, 400);
      assert.equal(errorCodeOf(sms), "phone_cannot_receive_sms");
      assert.match(sms.json<{ error: { message: string } }>().error.message, /IP phones/);
      const voice = await call(app, "POST", methods, owner.cookie, {
        role: "primary",
        method: "voice",
        phone: "050-1234-5678",
      });
      assert.equal(voice.statusCode, 201, voice.body);
      const script = await app.db
        .selectFrom("outbox_message")
        .select("text_body")
        .where("channel", "=", "voice")
        .executeTakeFirstOrThrow();
      assert.match(script.text_body, /Again/, "the code is read twice");
      const tollFree = await call(app, "POST", methods, owner.cookie, {
        role: "primary",
        method: "voice",
        phone: "0120-123-456",
      });
      assert.equal(errorCodeOf(tollFree), "phone_not_allowed");
    });

    test("the TOTP secret is encrypted at rest", async (t) => {
      const app = await buildTestApp(t, { dialect });
      const owner = await accountWithApp(app);
      const row = await app.db
        .selectFrom("two_step_method")
        .select("totp_secret")
        .where("account_id", "=", owner.accountId)
        .executeTakeFirstOrThrow();
      assert.match(row.totp_secret ?? "", /^v1\./);
      assert.doesNotMatch(row.totp_secret ?? "", new RegExp(owner.secret.replace(/\s/g, "")));
    });

    test("a backup needs a code from the primary first (step-up)", async (t) => {
      const app = await buildTestApp(t, { dialect });
      const owner = await accountWithApp(app);
      app.clock.advance(11 * 60);
      const stale = await call(app, "POST", methods, owner.cookie, {
        role: "backup",
        method: "sms",
        phone: "080-1111-2222",
      });
      assert.equal(stale.statusCode, 403);
      assert.equal(errorCodeOf(stale), "reauthentication_required");
      const password = await call(app, "POST", "/api/v1/session/reauthenticate", owner.cookie, {
        password: owner.password,
      });
      assert.equal(password.statusCode, 200);
      const noStepUp = await call(app, "POST", methods, owner.cookie, {
        role: "backup",
        method: "sms",
        phone: "080-1111-2222",
      });
      assert.equal(errorCodeOf(noStepUp), "step_up_required");
      const stepUp = await call(app, "POST", "/api/v1/session/reauthenticate", owner.cookie, {
        method: "totp",
        code: oathtoolCode(owner.secret, app.clock.now()),
      });
      assert.equal(stepUp.statusCode, 200, stepUp.body);
      const added = await call(app, "POST", methods, owner.cookie, {
        role: "backup",
        method: "sms",
        phone: "080-1111-2222",
      });
      assert.equal(added.statusCode, 201, added.body);
    });

    test("a backup equal to the primary is refused (method_conflict)", async (t) => {
      const app = await buildTestApp(t, { dialect });
      const owner = await accountWithApp(app);
      await call(app, "POST", "/api/v1/session/reauthenticate", owner.cookie, {
        method: "totp",
        code: oathtoolCode(owner.secret, app.clock.now()),
      });
      const secondApp = await call(app, "POST", methods, owner.cookie, { role: "backup", method: "totp" });
      assert.equal(secondApp.statusCode, 409);
      assert.equal(errorCodeOf(secondApp), "method_conflict");
    });

    test("every method added or removed mails the owner and writes an audit event", async (t) => {
      const app = await buildTestApp(t, { dialect });
      const owner = await accountWithApp(app);
      await call(app, "POST", "/api/v1/session/reauthenticate", owner.cookie, {
        method: "totp",
        code: oathtoolCode(owner.secret, app.clock.now()),
      });
      const started = await call(app, "POST", methods, owner.cookie, {
        role: "backup",
        method: "voice",
        phone: "03-1234-5678",
      });
      const id = started.json<{ enrollment: { id: string } }>().enrollment.id;
      const code = await phoneCode(app, "+81312345678");
      assert.ok(code);
      assert.equal(
        (await call(app, "POST", `${methods}/${id}/verify`, owner.cookie, { code })).statusCode,
        200,
      );
      assert.equal((await call(app, "DELETE", `${methods}/${id}`, owner.cookie)).statusCode, 204);
      const audit = await app.db
        .selectFrom("audit_event")
        .select("type")
        .where("account_id", "=", owner.accountId)
        .execute();
      const types = audit.map((a) => a.type);
      for (const type of ["two_step.enabled", "two_step.method_added", "two_step.method_removed"]) {
        assert.ok(types.includes(type), type);
      }
      const mails = (await app.messagesTo(owner.email)).filter((m) => m.template === "two_step_changed");
      assert.equal(mails.length, 3);
    });

    test("turning two-step off needs a confirmation, forgets every trusted device and mails the owner", async (t) => {
      const app = await buildTestApp(t, { dialect });
      const owner = await accountWithApp(app);
      const challenge = await challengeFor(app, owner.email, owner.password);
      const trusted = await call(app, "POST", `/api/v1/sign-in/challenges/${challenge}/verify`, undefined, {
        code: oathtoolCode(owner.secret, app.clock.now()),
        trustDevice: true,
      });
      assert.equal(trusted.statusCode, 200);
      const unconfirmed = await call(app, "POST", "/api/v1/security/two-step/disable", owner.cookie, {
        confirm: false,
      });
      assert.equal(errorCodeOf(unconfirmed), "confirmation_required");
      const off = await call(app, "POST", "/api/v1/security/two-step/disable", owner.cookie, {
        confirm: true,
      });
      assert.equal(off.statusCode, 200, off.body);
      assert.deepEqual(off.json(), {
        twoStep: { enabled: false, primary: null, backups: [], recoveryCodesLeft: 0 },
      });
      const devices = await app.db
        .selectFrom("trusted_device")
        .select("revoked_at")
        .where("account_id", "=", owner.accountId)
        .execute();
      assert.ok(devices.length === 1 && devices[0]?.revoked_at, "the trusted device is forgotten");
      const mail = (await app.messagesTo(owner.email)).find(
        (m) => m.template === "two_step_changed" && /無効|off/.test(m.text_body),
      );
      assert.ok(mail);
      assert.equal(
        (await app.signIn({ identifier: owner.email, password: owner.password })).json<{ status: string }>()
          .status,
        "signed_in",
      );
    });

    test("settings changes need a recent sign-in", async (t) => {
      const app = await buildTestApp(t, { dialect });
      const owner = await app.registerAccount();
      app.clock.advance(10 * 60 + 1);
      const late = await call(app, "POST", methods, owner.cookie, { role: "primary", method: "totp" });
      assert.equal(late.statusCode, 403);
      assert.equal(errorCodeOf(late), "reauthentication_required");
    });

    test("SMS sends are capped per number, so the set-up cannot be used to pump texts", async (t) => {
      const app = await buildTestApp(t, { dialect, env: { MAMORI_PHONE_SENDS_PER_NUMBER_PER_HOUR: "2" } });
      const owner = await app.registerAccount();
      for (let i = 0; i < 2; i++) {
        const sent = await call(app, "POST", methods, owner.cookie, {
          role: "primary",
          method: "sms",
          phone: "090-5555-6666",
        });
        assert.equal(sent.statusCode, 201);
      }
      const third = await call(app, "POST", methods, owner.cookie, {
        role: "primary",
        method: "sms",
        phone: "090-5555-6666",
      });
      assert.equal(third.statusCode, 429);
      assert.ok(Number(third.headers["retry-after"]) > 0);
      const texts = await app.db
        .selectFrom("outbox_message")
        .select("id")
        .where("channel", "=", "sms")
        .execute();
      assert.equal(texts.length, 2);
    });

    test("new recovery codes replace the old ones", async (t) => {
      const app = await buildTestApp(t, { dialect });
      const owner = await accountWithApp(app);
      await call(app, "POST", "/api/v1/session/reauthenticate", owner.cookie, {
        method: "totp",
        code: oathtoolCode(owner.secret, app.clock.now()),
      });
      const fresh = await call(app, "POST", "/api/v1/security/two-step/recovery-codes", owner.cookie);
      assert.equal(fresh.statusCode, 200);
      const oldCode = owner.recoveryCodes[0] ?? "";
      const challenge = await challengeFor(app, owner.email, owner.password);
      const refused = await call(app, "POST", `/api/v1/sign-in/challenges/${challenge}/verify`, undefined, {
        code: oldCode,
        method: "recovery_code",
      });
      assert.equal(refused.statusCode, 400);
    });
  });
}
