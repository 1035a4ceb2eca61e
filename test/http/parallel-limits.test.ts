import assert from "node:assert/strict";
import { after, describe, type TestContext, test } from "node:test";
import type { LightMyRequestResponse } from "fastify";
import { buildTestApp, strongPassword, type TestApp } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import { type RedisServer, startRedis } from "../support/redis.ts";
import {
  accountWithApp,
  call,
  challengeFor,
  errorCodeOf,
  oathtoolCode,
  verifyChallenge,
} from "../support/two-step.ts";

// Every attempt limit holds when the attempts arrive all at once. Attack: checking the count
// before the slow argon2id hash (or the code check) and counting after it let 60 parallel guesses
// all be evaluated against a limit of 10, and the right password among them signed in and cleared
// the pause. Each limit now reserves the attempt first: of N parallel attempts, at most the limit
// are evaluated (answered "wrong" rather than "too many attempts"). These run on SQLite, and on
// PostgreSQL through `npm run test:http:postgres`; the counters kept in Redis are tested below too.

after(stopSharedPostgres);

const burst = 40;

function codesOf(responses: readonly LightMyRequestResponse[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const response of responses) {
    const code = response.statusCode < 300 ? "ok" : (errorCodeOf(response) ?? String(response.statusCode));
    counts.set(code, (counts.get(code) ?? 0) + 1);
  }
  return counts;
}

async function sessionsOf(app: TestApp, accountId: string): Promise<number> {
  const rows = await app.db.selectFrom("session").select("id").where("account_id", "=", accountId).execute();
  return rows.length;
}

function limitsEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    MAMORI_SIGN_IN_FAILURES_PER_IDENTIFIER: "5",
    MAMORI_SIGN_IN_FAILURES_PER_IP: "1000",
    MAMORI_TWO_STEP_FAILURES_PER_ACCOUNT: "4",
    ...extra,
  };
}

describe("attempt limits under parallel requests", () => {
  test("parallel wrong passwords never have more checked than the account's limit, and the right one then waits", async (t) => {
    const s = await buildTestApp(t, { env: limitsEnv() });
    const owner = await s.registerAccount();
    const wrong = await Promise.all(
      Array.from({ length: burst }, (_, i) =>
        s.signIn({ identifier: owner.email, password: `wrong-guess-${i}` }),
      ),
    );
    const counts = codesOf(wrong);
    assert.equal(counts.get("invalid_credentials"), 5, `checked: ${JSON.stringify([...counts])}`);
    assert.equal(counts.get("too_many_attempts"), burst - 5);
    for (const response of wrong.filter((r) => r.statusCode === 429))
      assert.ok(response.headers["retry-after"]);
    const before = await sessionsOf(s, owner.accountId);
    const right = await s.signIn({ identifier: owner.email, password: owner.password });
    assert.equal(
      errorCodeOf(right),
      "too_many_attempts",
      "a right password during the pause signs nobody in",
    );
    assert.equal(await sessionsOf(s, owner.accountId), before);
  });

  test("a right password sent among many wrong ones is never checked once the limit is spent", async (t) => {
    // The right password is sent last, after the burst has spent the allowance: it must wait.
    const s = await buildTestApp(t, { env: limitsEnv() });
    const owner = await s.registerAccount();
    const before = await sessionsOf(s, owner.accountId);
    const guesses = Array.from({ length: burst }, (_, i) =>
      s.signIn({ identifier: owner.email, password: `wrong-guess-${i}` }),
    );
    const answers = await Promise.all([
      ...guesses,
      s.signIn({ identifier: owner.email, password: owner.password }),
    ]);
    const counts = codesOf(answers);
    const checked = (counts.get("invalid_credentials") ?? 0) + (counts.get("ok") ?? 0);
    assert.ok(checked <= 5, `evaluated ${checked} attempts: ${JSON.stringify([...counts])}`);
    if (counts.get("ok") === undefined)
      assert.equal(await sessionsOf(s, owner.accountId), before, "no session from a refused attempt");
  });

  test("the email address and the mobile number share one count of password attempts", async (t) => {
    const s = await buildTestApp(t, { env: limitsEnv() });
    const owner = await s.registerAccount();
    await s.db
      .updateTable("account")
      .set({ phone: "+819012345678", phone_verified_at: s.clock.now().toISOString() })
      .where("id", "=", owner.accountId)
      .execute();
    const byEmail = await Promise.all(
      [1, 2, 3].map((i) => s.signIn({ identifier: owner.email, password: `wrong-${i}` })),
    );
    const byPhone = await Promise.all(
      [4, 5, 6, 7].map((i) => s.signIn({ identifier: "090-1234-5678", password: `wrong-${i}` })),
    );
    const checked = [...byEmail, ...byPhone].filter((r) => errorCodeOf(r) === "invalid_credentials").length;
    assert.equal(checked, 5, "five wrong passwords in all, whichever identifier named the account");
    const right = await s.signIn({ identifier: owner.email, password: owner.password });
    assert.equal(errorCodeOf(right), "too_many_attempts");
  });

  test("parallel failures from one address never have more checked than the address's limit", async (t) => {
    const s = await buildTestApp(t, { env: limitsEnv({ MAMORI_SIGN_IN_FAILURES_PER_IP: "8" }) });
    // Many accounts (unknown ones here), one address: stuffing, not guessing at one account.
    const answers = await Promise.all(
      Array.from({ length: burst }, (_, i) =>
        s.signIn({ identifier: `nobody-${i}@example.jp`, password: "Tsuki-Kaze-2291" }),
      ),
    );
    const counts = codesOf(answers);
    assert.equal(counts.get("invalid_credentials"), 8, JSON.stringify([...counts]));
    assert.equal(counts.get("too_many_attempts"), burst - 8);
  });

  test("parallel wrong passwords at reauthentication never have more checked than the limit", async (t) => {
    // Attack: a stolen session cookie guessing the password to reach the sensitive settings.
    const s = await buildTestApp(t, { env: limitsEnv() });
    const owner = await s.registerAccount();
    const answers = await Promise.all(
      Array.from({ length: burst }, (_, i) =>
        call(s, "POST", "/api/v1/session/reauthenticate", owner.cookie, { password: `wrong-guess-${i}` }),
      ),
    );
    const counts = codesOf(answers);
    assert.equal(counts.get("invalid_credentials"), 5, JSON.stringify([...counts]));
    const right = await call(s, "POST", "/api/v1/session/reauthenticate", owner.cookie, {
      password: owner.password,
    });
    assert.equal(errorCodeOf(right), "too_many_attempts");
  });

  test("parallel wrong current passwords at a password change never have more checked than the limit", async (t) => {
    const s = await buildTestApp(t, { env: limitsEnv() });
    const owner = await s.registerAccount();
    const answers = await Promise.all(
      Array.from({ length: burst }, (_, i) =>
        call(s, "PUT", "/api/v1/security/password", owner.cookie, {
          currentPassword: `wrong-guess-${i}`,
          newPassword: "Hoshizora-Ame-8812-Kitsune",
        }),
      ),
    );
    const counts = codesOf(answers);
    assert.equal(counts.get("invalid_credentials"), 5, JSON.stringify([...counts]));
  });

  test("parallel wrong codes across many challenges never have more checked than the two-step lock allows, and the owner is mailed once", async (t) => {
    // Attack: the password is known; wrong codes are spread over several challenges (each with
    // its own 5 tries) and sent all at once, to outrun the account's budget of 4.
    const s = await buildTestApp(t, { env: limitsEnv() });
    const owner = await accountWithApp(s);
    const challenges = await Promise.all(
      [1, 2, 3, 4].map(() => challengeFor(s, owner.email, owner.password)),
    );
    const right = oathtoolCode(owner.secret, s.clock.now());
    const wrongCode = right === "000000" ? "111111" : "000000";
    const answers = await Promise.all(
      challenges.flatMap((id) =>
        Array.from({ length: 5 }, () => verifyChallenge(s, id, { code: wrongCode })),
      ),
    );
    const counts = codesOf(answers);
    assert.equal(counts.get("invalid_code"), 4, JSON.stringify([...counts]));
    const locks = (await s.messagesTo(owner.email)).filter(
      (m) => m.template === "two_step_changed" && /何度も/.test(m.text_body),
    );
    assert.equal(locks.length, 1, "one mail per lock");
    const fresh = await challengeFor(s, owner.email, owner.password);
    const late = await verifyChallenge(s, fresh, { code: right });
    assert.equal(errorCodeOf(late), "too_many_attempts", "the right code waits out the lock too");
  });

  test("wrong step-up codes fill the same two-step budget, and its lock is audited and mailed to the owner", async (t) => {
    // The step-up's copy of the code check used to neither audit nor mail when the lock engaged.
    const s = await buildTestApp(t, { env: limitsEnv() });
    const owner = await accountWithApp(s);
    const right = oathtoolCode(owner.secret, s.clock.now());
    const wrongCode = right === "000000" ? "111111" : "000000";
    const answers = await Promise.all(
      Array.from({ length: burst }, () =>
        call(s, "POST", "/api/v1/session/reauthenticate", owner.cookie, { method: "totp", code: wrongCode }),
      ),
    );
    const counts = codesOf(answers);
    assert.equal(counts.get("invalid_code"), 4, JSON.stringify([...counts]));
    const audit = await s.db
      .selectFrom("audit_event")
      .select("type")
      .where("account_id", "=", owner.accountId)
      .where("type", "in", ["two_step.locked", "sign_in.second_factor_failed"])
      .execute();
    assert.equal(audit.filter((e) => e.type === "two_step.locked").length, 1);
    assert.equal(audit.filter((e) => e.type === "sign_in.second_factor_failed").length, 4);
    const locks = (await s.messagesTo(owner.email)).filter(
      (m) => m.template === "two_step_changed" && /何度も/.test(m.text_body),
    );
    assert.equal(locks.length, 1);
  });
});

describe("single-use secrets under parallel requests", () => {
  test("one app code sent to two challenges at once signs in once", async (t) => {
    // Attack: a code read over the owner's shoulder, replayed while the owner enters it. (Each
    // replay is a wrong code; the lock is raised here so that five rounds fit in its budget.)
    const s = await buildTestApp(t, { env: { MAMORI_TWO_STEP_FAILURES_PER_ACCOUNT: "100" } });
    const owner = await accountWithApp(s);
    for (let round = 0; round < 5; round++) {
      const [first, second] = await Promise.all([
        challengeFor(s, owner.email, owner.password),
        challengeFor(s, owner.email, owner.password),
      ]);
      const code = oathtoolCode(owner.secret, s.clock.now());
      const answers = await Promise.all([
        verifyChallenge(s, first, { code }),
        verifyChallenge(s, second, { code }),
        verifyChallenge(s, first, { code }),
        verifyChallenge(s, second, { code }),
      ]);
      assert.equal(answers.filter((r) => r.statusCode === 200).length, 1, `round ${round}: one sign-in`);
      s.clock.advance(30);
    }
  });

  test("one recovery code sent to many challenges at once is spent once", async (t) => {
    const s = await buildTestApp(t);
    const owner = await accountWithApp(s);
    const code = owner.recoveryCodes[0] ?? "";
    const challenges = await Promise.all(
      [1, 2, 3, 4, 5].map(() => challengeFor(s, owner.email, owner.password)),
    );
    const answers = await Promise.all(
      challenges.map((id) => verifyChallenge(s, id, { code, method: "recovery_code" })),
    );
    assert.equal(answers.filter((r) => r.statusCode === 200).length, 1);
    const spent = await s.db
      .selectFrom("recovery_code")
      .select("used_at")
      .where("account_id", "=", owner.accountId)
      .where("used_at", "is not", null)
      .execute();
    assert.equal(spent.length, 1);
  });
});

describe("attempt limits kept in Redis", () => {
  // A server of its own for each test: the counters of one test's address must not reach the next.
  async function freshRedis(t: TestContext): Promise<RedisServer> {
    const redis = await startRedis();
    t.after(() => redis.stop());
    return redis;
  }

  test("with Redis counters, parallel failures from one address never have more checked than its limit", async (t) => {
    const redis = await freshRedis(t);
    const s = await buildTestApp(t, {
      env: limitsEnv({ MAMORI_SIGN_IN_FAILURES_PER_IP: "8", REDIS_URL: redis.url }),
    });
    const answers = await Promise.all(
      Array.from({ length: burst }, (_, i) =>
        s.signIn({ identifier: `nobody-${i}@example.jp`, password: "Tsuki-Kaze-2291" }, {}),
      ),
    );
    const counts = codesOf(answers);
    assert.equal(counts.get("invalid_credentials"), 8, JSON.stringify([...counts]));
  });

  test("with Redis counters, parallel wrong step-up codes never have more checked than the two-step lock", async (t) => {
    const redis = await freshRedis(t);
    const s = await buildTestApp(t, { env: limitsEnv({ REDIS_URL: redis.url }) });
    const owner = await accountWithApp(s);
    const right = oathtoolCode(owner.secret, s.clock.now());
    const wrongCode = right === "000000" ? "111111" : "000000";
    const answers = await Promise.all(
      Array.from({ length: burst }, () =>
        call(s, "POST", "/api/v1/session/reauthenticate", owner.cookie, { method: "totp", code: wrongCode }),
      ),
    );
    assert.equal(codesOf(answers).get("invalid_code"), 4);
  });

  test("with Redis counters, a successful attempt gives its place back", async (t) => {
    const redis = await freshRedis(t);
    const s = await buildTestApp(t, {
      env: limitsEnv({ MAMORI_SIGN_IN_FAILURES_PER_IP: "3", REDIS_URL: redis.url }),
    });
    const owner = await s.registerAccount();
    // Ten right passwords from one address do not fill its budget of failures.
    for (let i = 0; i < 10; i++) {
      const right = await s.signIn({ identifier: owner.email, password: owner.password });
      assert.equal(right.statusCode, 200, right.body);
    }
    const wrong = await s.signIn({ identifier: owner.email, password: "wrong-guess" });
    assert.equal(errorCodeOf(wrong), "invalid_credentials");
  });
});

describe("flow steps under parallel requests", () => {
  test("parallel wrong codes at one challenge never have more checked than its five tries", async (t) => {
    const s = await buildTestApp(t, { env: { MAMORI_TWO_STEP_FAILURES_PER_ACCOUNT: "100" } });
    const owner = await accountWithApp(s);
    const challenge = await challengeFor(s, owner.email, owner.password);
    const right = oathtoolCode(owner.secret, s.clock.now());
    const wrongCode = right === "000000" ? "111111" : "000000";
    const answers = await Promise.all(
      Array.from({ length: burst }, () => verifyChallenge(s, challenge, { code: wrongCode })),
    );
    assert.equal(codesOf(answers).get("invalid_code"), 5, JSON.stringify([...codesOf(answers)]));
    const late = await verifyChallenge(s, challenge, { code: right });
    assert.notEqual(late.statusCode, 200, "the challenge is spent: even the right code is refused");
  });

  test("a registration verified by many requests at once makes one account and one session", async (t) => {
    const s = await buildTestApp(t);
    const email = "parallel-verify@example.jp";
    const started = await s.inject({
      method: "POST",
      url: "/api/v1/registrations",
      payload: { name: "山田 花子", email, password: strongPassword },
    });
    const id = started.json<{ registration: { id: string } }>().registration.id;
    const code = (await s.latestCode(email)) ?? "";
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        s.inject({ method: "POST", url: `/api/v1/registrations/${id}/verify`, payload: { code } }),
      ),
    );
    assert.equal(answers.filter((r) => r.statusCode === 201).length, 1);
    const accounts = await s.db.selectFrom("account").select("id").where("email", "=", email).execute();
    assert.equal(accounts.length, 1);
    const sessions = await s.db
      .selectFrom("session")
      .select("id")
      .where("account_id", "=", accounts[0]?.id ?? "")
      .execute();
    assert.equal(sessions.length, 1);
  });

  test("a password reset completed by many requests at once changes the password once and mails once", async (t) => {
    const s = await buildTestApp(t);
    const owner = await s.registerAccount();
    const started = await s.inject({
      method: "POST",
      url: "/api/v1/password-resets",
      payload: { identifier: owner.email },
    });
    const id = started.json<{ passwordReset: { id: string } }>().passwordReset.id;
    const code = (await s.latestCode(owner.email, "password_reset_code")) ?? "";
    const verified = await s.inject({
      method: "POST",
      url: `/api/v1/password-resets/${id}/verify`,
      payload: { code },
    });
    assert.equal(verified.statusCode, 200, verified.body);
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        s.inject({
          method: "POST",
          url: `/api/v1/password-resets/${id}/complete`,
          payload: { newPassword: `Hoshizora-Ame-8812-Kitsune-${i}` },
        }),
      ),
    );
    const done = answers.flatMap((r, i) => (r.statusCode === 200 ? [i] : []));
    assert.equal(done.length, 1, answers.map((r) => r.statusCode).join(","));
    const changed = (await s.messagesTo(owner.email)).filter((m) => m.template === "password_changed");
    assert.equal(changed.length, 1);
    const signedIn = await s.signIn({
      identifier: owner.email,
      password: `Hoshizora-Ame-8812-Kitsune-${done[0]}`,
    });
    assert.equal(signedIn.statusCode, 200, "the one new password is the one that answered 200");
  });
});
