import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { runHousekeeping } from "../../src/operations/housekeeping.ts";
import { assertApiError, buildTestApp } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import { addPasskey, signInWithPasskey } from "../support/passkeys.ts";
import { SoftwareAuthenticator } from "../support/software-authenticator.ts";
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
  recoveryStates,
  templatesTo,
  waitingRecovery,
  waitSeconds,
} from "../support/two-step-recovery.ts";

// A waiting two-step recovery stopped by its owner: the single-use link, the signed-in button, a
// sign-in with a real second factor; and what does not stop it (a password reset). Runs on SQLite,
// and on PostgreSQL with MAMORI_TEST_DATABASE=postgres.
after(stopSharedPostgres);

describe("two-step recovery: the owner cancels", () => {
  test("a cancelled recovery never turns two-step off, and the owner is mailed", async (t) => {
    // Attack: someone with the mailbox and the password; the owner, told by mail, cancels.
    const app = await buildTestApp(t);
    const owner = await accountWithApp(app);
    await waitingRecovery(app, owner);
    const token = await cancelTokenMailed(app, owner);
    const cancelled = await call(app, "POST", "/api/v1/two-step-recoveries/cancel", undefined, { token });
    assert.equal(cancelled.statusCode, 200, cancelled.body);
    app.clock.advance(waitSeconds * 2);
    await runHousekeeping(app.deps);
    await challengeFor(app, owner.email, owner.password);
    assert.equal(await isTwoStepOn(app, owner.accountId), true);
    assert.ok((await templatesTo(app, owner.email)).includes("two_step_recovery_cancelled"));
    assert.deepEqual(await recoveryStates(app, owner.accountId), ["cancelled"]);
  });

  test("the cancel link is single-use: the same link sent twenty times at once cancels once", async (t) => {
    const app = await buildTestApp(t);
    const owner = await accountWithApp(app);
    await waitingRecovery(app, owner);
    const token = await cancelTokenMailed(app, owner);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        call(app, "POST", "/api/v1/two-step-recoveries/cancel", undefined, { token }),
      ),
    );
    assert.equal(answers.filter((a) => a.statusCode === 200).length, 1);
    for (const a of answers.filter((r) => r.statusCode !== 200))
      assertApiError(a, 404, "two_step_recovery_not_found");
    assert.equal(countOf(await templatesTo(app, owner.email), "two_step_recovery_cancelled"), 1);
    // A later recovery is not cancelled by the old link (a second later: the newest mail is its own).
    app.clock.advance(1);
    await waitingRecovery(app, owner);
    assertApiError(
      await call(app, "POST", "/api/v1/two-step-recoveries/cancel", undefined, { token }),
      404,
      "two_step_recovery_not_found",
    );
  });

  test("the cancel link does nothing else: a forged or altered token cancels nothing and signs nobody in", async (t) => {
    const app = await buildTestApp(t);
    const owner = await accountWithApp(app);
    const id = await waitingRecovery(app, owner);
    const token = await cancelTokenMailed(app, owner);
    for (const forged of [`${id}.AAAA`, `${id}.${token.split(".")[1]}x`, "x", `${id}`]) {
      const answer = await call(app, "POST", "/api/v1/two-step-recoveries/cancel", undefined, {
        token: forged,
      });
      assertApiError(answer, 404, "two_step_recovery_not_found");
    }
    const used = await call(app, "POST", "/api/v1/two-step-recoveries/cancel", undefined, { token });
    assert.equal(used.headers["set-cookie"], undefined, "no session, no cookie");
    // The token is no flow token: it cannot prove the recovery or anything else.
    const asFlow = await app.app.inject({
      method: "POST",
      url: `/api/v1/two-step-recoveries/${id}/verify`,
      headers: { "x-mamori-flow-token": token },
      payload: { code: "123456", password: owner.password },
    });
    assertApiError(asFlow, 404, "two_step_recovery_not_found");
  });

  test("a signed-in owner cancels the waiting recovery with one click, and is mailed", async (t) => {
    const app = await buildTestApp(t);
    const owner = await accountWithApp(app);
    await waitingRecovery(app, owner);
    const cancelled = await call(app, "POST", "/api/v1/security/two-step/recovery/cancel", owner.cookie);
    assert.equal(cancelled.statusCode, 200, cancelled.body);
    assert.deepEqual(await recoveryStates(app, owner.accountId), ["cancelled"]);
    assert.ok((await templatesTo(app, owner.email)).includes("two_step_recovery_cancelled"));
    assertApiError(
      await call(app, "POST", "/api/v1/security/two-step/recovery/cancel", owner.cookie),
      404,
      "two_step_recovery_not_found",
    );
  });

  test("a sign-in with a real second factor during the wait cancels the recovery and mails the owner", async (t) => {
    // The owner evidently still has their factor: a waiting recovery is someone else's, or not needed.
    const app = await buildTestApp(t);
    const owner = await accountWithApp(app);
    await waitingRecovery(app, owner);
    const signedIn = await verifyChallenge(app, await challengeFor(app, owner.email, owner.password), {
      code: oathtoolCode(owner.secret, app.clock.now()),
    });
    assert.equal(signedIn.statusCode, 200, signedIn.body);
    assert.deepEqual(await recoveryStates(app, owner.accountId), ["cancelled"]);
    assert.ok((await templatesTo(app, owner.email)).includes("two_step_recovery_cancelled"));
    app.clock.advance(waitSeconds);
    assert.equal((await runHousekeeping(app.deps)).twoStepRecoveries, 0);
    assert.equal(await isTwoStepOn(app, owner.accountId), true);
  });

  test("a passkey sign-in that verified the person during the wait cancels the recovery too", async (t) => {
    const app = await buildTestApp(t);
    const owner = await accountWithApp(app);
    // Adding a passkey while two-step is on needs a code from the app first (step-up).
    const stepUp = await call(app, "POST", "/api/v1/session/reauthenticate", owner.cookie, {
      method: "totp",
      code: oathtoolCode(owner.secret, app.clock.now()),
    });
    assert.equal(stepUp.statusCode, 200, stepUp.body);
    const authenticator = new SoftwareAuthenticator();
    const added = await addPasskey(app, owner.cookie, authenticator);
    assert.equal(added.statusCode, 201, added.body);
    await waitingRecovery(app, owner);
    const signedIn = await signInWithPasskey(app, authenticator);
    assert.equal(signedIn.statusCode, 200, signedIn.body);
    assert.deepEqual(await recoveryStates(app, owner.accountId), ["cancelled"]);
    assert.ok((await templatesTo(app, owner.email)).includes("two_step_recovery_cancelled"));
  });

  test("a password reset during the wait cancels nothing: the recovery still waits and the owner can still cancel", async (t) => {
    const app = await buildTestApp(t);
    const owner = await accountWithApp(app);
    await waitingRecovery(app, owner);
    const reset = await app.inject({
      method: "POST",
      url: "/api/v1/password-resets",
      payload: { identifier: owner.email },
    });
    assert.equal(reset.statusCode, 202, reset.body);
    assert.deepEqual(await recoveryStates(app, owner.accountId), ["waiting"]);
    const token = await cancelTokenMailed(app, owner);
    assert.equal(
      (await call(app, "POST", "/api/v1/two-step-recoveries/cancel", undefined, { token })).statusCode,
      200,
    );
  });

  test("a recovery that two-step outlived (turned off and on again by the owner) never undoes the new set-up", async (t) => {
    // The owner, signed in from before, replaced the lost method instead of cancelling.
    const app = await buildTestApp(t);
    const owner = await accountWithApp(app);
    await waitingRecovery(app, owner);
    app.clock.advance(60);
    await app.db
      .updateTable("account")
      .set({ two_step_enabled_at: app.clock.now().toISOString() })
      .where("id", "=", owner.accountId)
      .execute();
    app.clock.advance(waitSeconds);
    assert.equal((await runHousekeeping(app.deps)).twoStepRecoveries, 0);
    assert.equal(await isTwoStepOn(app, owner.accountId), true);
    assert.deepEqual(await recoveryStates(app, owner.accountId), ["cancelled"]);
    await challengeFor(app, owner.email, owner.password);
  });

  test("the signed-in cancel is refused from another site (CSRF)", async (t) => {
    // Attack: a page elsewhere posting to the API with the owner's cookie, to cancel nothing useful
    // today, but no cookie-authenticated change is taken from another origin.
    const app = await buildTestApp(t);
    const owner = await accountWithApp(app);
    await waitingRecovery(app, owner);
    const crossSite = await app.inject({
      method: "POST",
      url: "/api/v1/security/two-step/recovery/cancel",
      headers: { cookie: owner.cookie, origin: "https://evil.example" },
    });
    assertApiError(crossSite, 403, "csrf_failed");
    assert.deepEqual(await recoveryStates(app, owner.accountId), ["waiting"]);
  });
});
