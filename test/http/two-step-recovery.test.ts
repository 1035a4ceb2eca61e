import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { runHousekeeping } from "../../src/operations/housekeeping.ts";
import { assertApiError, buildTestApp } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import { wrongCode } from "../support/forms.ts";
import {
  accountWithApp,
  call,
  challengeFor,
  isTwoStepOn,
  oathtoolCode,
  verifyChallenge,
} from "../support/two-step.ts";
import {
  cancelTokenMailed,
  countOf,
  prove,
  recoveryCode,
  recoveryStates,
  start,
  templatesTo,
  waitingRecovery,
  waitSeconds,
} from "../support/two-step-recovery.ts";

// "I can't receive my two-step codes" (docs/flows/two-step-recovery.md): starting, proving, the
// limits, the wait and what its end does. Cancelling: ./two-step-recovery-cancel.test.ts. Runs on
// SQLite, and on PostgreSQL with MAMORI_TEST_DATABASE=postgres.
after(stopSharedPostgres);

describe("two-step recovery: when every second factor is lost", () => {
  test("after the emailed code, the password and the whole wait, the password alone signs in and two-step is off", async (t) => {
    const app = await buildTestApp(t);
    const owner = await accountWithApp(app);
    await waitingRecovery(app, owner);
    // One second before the end of the wait: still the second step.
    app.clock.advance(waitSeconds - 1);
    await challengeFor(app, owner.email, owner.password);
    app.clock.advance(1);
    const signedIn = await app.signIn({ identifier: owner.email, password: owner.password });
    assert.equal(signedIn.statusCode, 200, signedIn.body);
    const body = signedIn.json<{ status: string; twoStepRecovered?: boolean }>();
    assert.equal(body.status, "signed_in");
    assert.equal(body.twoStepRecovered, true, "the answer asks to set two-step up again");
    assert.equal(await isTwoStepOn(app, owner.accountId), false);
    const methods = await app.db
      .selectFrom("two_step_method")
      .select("id")
      .where("account_id", "=", owner.accountId)
      .execute();
    assert.equal(methods.length, 0, "the lost methods are gone");
    assert.ok(
      (await templatesTo(app, owner.email)).includes("two_step_recovery_completed"),
      "the owner is mailed",
    );
    // Asked once: the next sign-in is an ordinary one.
    const again = await app.signIn({ identifier: owner.email, password: owner.password });
    assert.equal(again.json<{ twoStepRecovered?: boolean }>().twoStepRecovered, undefined);
  });

  test("when the wait ends, housekeeping turns two-step off, ends every session and trusted browser, and mails the owner", async (t) => {
    const app = await buildTestApp(t);
    const owner = await accountWithApp(app);
    // A trusted browser and a session from before.
    const trusted = await verifyChallenge(app, await challengeFor(app, owner.email, owner.password), {
      code: oathtoolCode(owner.secret, app.clock.now()),
      trustDevice: true,
    });
    assert.equal(trusted.statusCode, 200, trusted.body);
    await waitingRecovery(app, owner);
    app.clock.advance(waitSeconds);
    assert.equal((await runHousekeeping(app.deps)).twoStepRecoveries, 1);
    assert.equal((await runHousekeeping(app.deps)).twoStepRecoveries, 0, "once");
    assert.equal(await isTwoStepOn(app, owner.accountId), false);
    const live = await app.db
      .selectFrom("session")
      .select("id")
      .where("account_id", "=", owner.accountId)
      .where("revoked_at", "is", null)
      .execute();
    assert.equal(live.length, 0, "every session ended");
    const devices = await app.db
      .selectFrom("trusted_device")
      .select("id")
      .where("account_id", "=", owner.accountId)
      .where("revoked_at", "is", null)
      .execute();
    assert.equal(devices.length, 0, "every trusted browser forgotten");
    assert.equal(countOf(await templatesTo(app, owner.email), "two_step_recovery_completed"), 1);
    const audit = await app.db
      .selectFrom("audit_event")
      .select("type")
      .where("account_id", "=", owner.accountId)
      .execute();
    assert.ok(audit.some((e) => e.type === "two_step_recovery.completed"));
  });

  test("the password alone cannot finish a recovery: a wrong emailed code is refused and five end it", async (t) => {
    // Attack: a stolen password, no mailbox. The code is guessed; the sixth try fails even when right.
    // (The account's daily budget is raised here so the code's own five tries are what ends it.)
    const app = await buildTestApp(t, { env: { MAMORI_TWO_STEP_RECOVERY_ATTEMPTS_PER_ACCOUNT: "50" } });
    const owner = await accountWithApp(app);
    const id = await start(app, owner);
    const code = await recoveryCode(app, owner);
    for (let i = 1; i <= 4; i++) {
      const wrong = await prove(app, id, { code: wrongCode(code), password: owner.password });
      assertApiError(wrong, 400, "invalid_code");
    }
    const fifth = await prove(app, id, { code: wrongCode(code), password: owner.password });
    assert.equal(assertApiError(fifth, 400, "invalid_code").attemptsLeft, 0);
    const right = await prove(app, id, { code, password: owner.password });
    assert.notEqual(right.statusCode, 200, right.body);
    assert.deepEqual(await recoveryStates(app, owner.accountId), ["exhausted"]);
    assert.equal(await isTwoStepOn(app, owner.accountId), true);
  });

  test("the mailbox alone cannot finish a recovery: a wrong password is refused and does not spend the code", async (t) => {
    // Attack: someone who reads the owner's mail (and so the code) but lacks the password.
    const app = await buildTestApp(t);
    const owner = await accountWithApp(app);
    const id = await start(app, owner);
    const code = await recoveryCode(app, owner);
    const wrong = await prove(app, id, { code, password: "not-the-password-1234" });
    assertApiError(wrong, 401, "invalid_credentials");
    const right = await prove(app, id, { code, password: owner.password });
    assert.equal(right.statusCode, 200, right.body);
  });

  test("a new recovery code waits for the cooldown, and the old code dies with it", async (t) => {
    const app = await buildTestApp(t);
    const owner = await accountWithApp(app);
    const id = await start(app, owner);
    const first = await recoveryCode(app, owner);
    const resend = () => call(app, "POST", `/api/v1/two-step-recoveries/${id}/resend`, undefined);
    const early = await resend();
    assertApiError(early, 429, "too_many_attempts");
    assert.ok(early.headers["retry-after"]);
    app.clock.advance(app.config.limits.codeResendCooldownSeconds);
    assert.equal((await resend()).statusCode, 202);
    const second = await recoveryCode(app, owner);
    if (second !== first) {
      assertApiError(await prove(app, id, { code: first, password: owner.password }), 400, "invalid_code");
    }
    assert.equal((await prove(app, id, { code: second, password: owner.password })).statusCode, 200);
  });

  test("recovery proofs are limited per account, reserved before they are checked, even in parallel", async (t) => {
    // Attack: twenty wrong passwords sent at once, hoping more than the limit get checked.
    const app = await buildTestApp(t);
    const owner = await accountWithApp(app);
    const id = await start(app, owner);
    const code = await recoveryCode(app, owner);
    const limit = app.config.limits.twoStepRecoveryAttemptsPerAccount;
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => prove(app, id, { code, password: "wrong-password-9876" })),
    );
    // The start took one place of the account's daily budget.
    assert.equal(answers.filter((a) => a.statusCode === 401).length, limit - 1);
    assert.equal(answers.filter((a) => a.statusCode === 429).length, 21 - limit);
    for (const a of answers.filter((r) => r.statusCode === 429)) assert.ok(a.headers["retry-after"]);
    const failed = await app.db
      .selectFrom("audit_event")
      .select("id")
      .where("account_id", "=", owner.accountId)
      .where("type", "=", "two_step_recovery.failed")
      .execute();
    assert.equal(failed.length, limit - 1, "every checked failure is audited");
    // The right password is refused too while the limit holds.
    assertApiError(await prove(app, id, { code, password: owner.password }), 429, "too_many_attempts");
  });

  test("recovery attempts are limited per IP address across accounts", async (t) => {
    // Attack: one address walking many accounts whose passwords it holds.
    const app = await buildTestApp(t, { env: { MAMORI_TWO_STEP_RECOVERY_ATTEMPTS_PER_IP: "2" } });
    const first = await accountWithApp(app);
    const second = await accountWithApp(app);
    const third = await accountWithApp(app);
    await start(app, first);
    await start(app, second);
    const challengeId = await challengeFor(app, third.email, third.password);
    const refused = await call(app, "POST", `/api/v1/sign-in/challenges/${challengeId}/recovery`, undefined);
    assertApiError(refused, 429, "too_many_attempts");
    assert.equal(await app.latestCode(third.email, "two_step_recovery_code"), undefined, "no code mailed");
  });

  test("while a recovery waits, the owner is told on every channel: email and each mobile number", async (t) => {
    const app = await buildTestApp(t);
    const owner = await accountWithApp(app);
    await app.db
      .updateTable("account")
      .set({ phone: "+819012345678", phone_verified_at: app.clock.now().toISOString() })
      .where("id", "=", owner.accountId)
      .execute();
    await waitingRecovery(app, owner);
    const token = await cancelTokenMailed(app, owner);
    const sms = await app.messagesTo("+819012345678");
    assert.equal(sms.length, 1);
    assert.ok(sms[0]?.text_body.includes(token), "the SMS carries the same cancel link");
    // Signed-in sessions: the banner with its button on ログインとセキュリティ.
    const page = await app.inject({
      method: "GET",
      url: "/account/security",
      headers: { cookie: owner.cookie },
    });
    assert.match(page.body, /2段階認証の解除手続きが進行中です/);
    assert.match(page.body, /action="\/account\/security\/two-step-recovery\/cancel"/);
    const status = await call(app, "GET", "/api/v1/security/two-step/recovery", owner.cookie);
    assert.equal(status.json<{ twoStepRecovery: { state: string } }>().twoStepRecovery.state, "waiting");
  });

  test("only one recovery waits per account, even when two reach the wait at once", async (t) => {
    const app = await buildTestApp(t);
    const owner = await accountWithApp(app);
    const first = await start(app, owner);
    const firstCode = await recoveryCode(app, owner);
    app.clock.advance(1);
    const second = await start(app, owner);
    const secondCode = await recoveryCode(app, owner);
    // The second start voided the first; put it back, as if both had slipped past each other.
    await app.db
      .updateTable("two_step_recovery")
      .set({ state: "code_sent" })
      .where("id", "=", first)
      .execute();
    const answers = await Promise.all([
      prove(app, first, { code: firstCode, password: owner.password }),
      prove(app, second, { code: secondCode, password: owner.password }),
    ]);
    assert.deepEqual(answers.map((a) => a.statusCode).sort(), [200, 409]);
    assert.equal(countOf(await recoveryStates(app, owner.accountId), "waiting"), 1);
    assert.equal(countOf(await templatesTo(app, owner.email), "two_step_recovery_started"), 1);
  });

  test("the same proof sent ten times at once starts one wait; a new start is refused while it waits", async (t) => {
    const app = await buildTestApp(t);
    const owner = await accountWithApp(app);
    const id = await start(app, owner);
    const code = await recoveryCode(app, owner);
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => prove(app, id, { code, password: owner.password })),
    );
    assert.equal(answers.filter((a) => a.statusCode === 200).length, 1);
    assert.equal(countOf(await templatesTo(app, owner.email), "two_step_recovery_started"), 1);
    const challengeId = await challengeFor(app, owner.email, owner.password);
    const again = await call(app, "POST", `/api/v1/sign-in/challenges/${challengeId}/recovery`, undefined);
    assertApiError(again, 409, "two_step_recovery_pending");
  });

  test("a recovery starts only from a live challenge of this client (its flow token)", async (t) => {
    // Attack: a challenge id from a proxy log, without the token its answer gave.
    const app = await buildTestApp(t);
    const owner = await accountWithApp(app);
    const challengeId = await challengeFor(app, owner.email, owner.password);
    const stranger = await app.app.inject({
      method: "POST",
      url: `/api/v1/sign-in/challenges/${challengeId}/recovery`,
      headers: { "x-mamori-flow-token": "forged" },
    });
    assertApiError(stranger, 404, "challenge_not_found");
    app.clock.advance(app.config.limits.phoneCodeLifetimeSeconds + 1);
    assertApiError(
      await call(app, "POST", `/api/v1/sign-in/challenges/${challengeId}/recovery`, undefined),
      410,
      "challenge_expired",
    );
    assert.equal(await app.latestCode(owner.email, "two_step_recovery_code"), undefined);
  });

  test("at the end of the wait, housekeeping and sign-ins racing turn two-step off once, with one mail", async (t) => {
    const app = await buildTestApp(t);
    const owner = await accountWithApp(app);
    await waitingRecovery(app, owner);
    app.clock.advance(waitSeconds);
    const [sweeps, signIns] = await Promise.all([
      Promise.all(Array.from({ length: 3 }, () => runHousekeeping(app.deps))),
      Promise.all(
        Array.from({ length: 3 }, () => app.signIn({ identifier: owner.email, password: owner.password })),
      ),
    ]);
    for (const answer of signIns)
      assert.equal(answer.json<{ status: string }>().status, "signed_in", answer.body);
    const bySweeps = sweeps.reduce((sum, swept) => sum + swept.twoStepRecoveries, 0);
    assert.ok(bySweeps <= 1);
    assert.equal(countOf(await templatesTo(app, owner.email), "two_step_recovery_completed"), 1);
    assert.equal(signIns.filter((a) => a.json<{ twoStepRecovered?: boolean }>().twoStepRecovered).length, 1);
    assert.deepEqual(await recoveryStates(app, owner.accountId), ["completed"]);
  });

  test("the sign-in answer's twoStepRecovered flag is in the published OpenAPI schema", async (t) => {
    const app = await buildTestApp(t);
    const doc = await app.inject({ method: "GET", url: "/api/openapi.json" });
    assert.match(doc.body, /twoStepRecovered/);
    assert.match(doc.body, /\/api\/v1\/two-step-recoveries\/\{id\}\/verify/);
  });
});
