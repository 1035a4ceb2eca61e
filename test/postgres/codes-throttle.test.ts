import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { sql } from "kysely";
import { issueCode, verifyCode } from "../../src/factors/one-time-code/one-time-code.ts";
import { clearThrottle, hitThrottle, peekThrottle, releaseThrottleHit } from "../../src/throttle/throttle.ts";
import { dialects, stopSharedPostgres } from "../support/databases.ts";

// The same rules, checked on SQLite and on a real PostgreSQL 15 server (test/support/postgres.ts).
// Every test gets a fresh, migrated database, so no test depends on another or on their order.

import {
  codeDeps,
  codeRules,
  createAccount,
  fakeClock,
  freshDatabase,
  limits,
  wrongCodeFor,
} from "../support/storage.ts";

after(stopSharedPostgres);

for (const dialect of dialects) {
  describe(dialect, () => {
    describe("one-time codes", () => {
      const target = (flowId: string) => ({
        flowId,
        purpose: "registration" as const,
        channel: "email" as const,
        destination: "hanako@example.jp",
      });

      test("a one-time code is refused after five wrong tries, even when the sixth is right", async (t) => {
        // Attack: guessing a 6-digit code. Five tries give an attacker a 5 in 10^6 chance, no more.
        const db = await freshDatabase(t, dialect);
        const deps = codeDeps(fakeClock());
        assert.equal(limits.codeMaxAttempts, 5);
        const issued = await issueCode(db, deps, target("reg_1"), codeRules());
        assert.ok(issued.ok);
        const wrong = wrongCodeFor(issued.code);
        for (const attemptsLeft of [4, 3, 2, 1, 0]) {
          assert.deepEqual(await verifyCode(db, deps, "reg_1", wrong, codeRules()), {
            ok: false,
            reason: "incorrect",
            attemptsLeft,
          });
        }
        assert.deepEqual(await verifyCode(db, deps, "reg_1", issued.code, codeRules()), {
          ok: false,
          reason: "exhausted",
        });
        const row = await db
          .selectFrom("verification_code")
          .selectAll()
          .where("flow_id", "=", "reg_1")
          .executeTakeFirstOrThrow();
        assert.equal(row.attempts, 5);
        assert.equal(row.consumed_at, null);
      });

      test("guesses sent all at once cannot exceed the attempt cap", async (t) => {
        // Attack: twenty parallel requests, each hoping to be checked before the count goes up.
        const db = await freshDatabase(t, dialect);
        const deps = codeDeps(fakeClock());
        const issued = await issueCode(db, deps, target("reg_1"), codeRules());
        assert.ok(issued.ok);
        const wrong = wrongCodeFor(issued.code);
        const results = await Promise.all(
          Array.from({ length: 20 }, () => verifyCode(db, deps, "reg_1", wrong, codeRules())),
        );
        assert.equal(results.filter((r) => !r.ok && r.reason === "incorrect").length, 5);
        assert.equal(results.filter((r) => !r.ok && r.reason === "exhausted").length, 15);
        const row = await db.selectFrom("verification_code").select("attempts").executeTakeFirstOrThrow();
        assert.equal(row.attempts, 5);
      });

      test("a resend voids the previous code", async (t) => {
        const db = await freshDatabase(t, dialect);
        const clock = fakeClock();
        const deps = codeDeps(clock);
        const first = await issueCode(db, deps, target("reg_1"), codeRules());
        assert.ok(first.ok);
        clock.advanceSeconds(limits.codeResendCooldownSeconds);
        const second = await issueCode(db, deps, target("reg_1"), codeRules());
        assert.ok(second.ok);

        const rows = await db
          .selectFrom("verification_code")
          .select(["sends", "consumed_at"])
          .where("flow_id", "=", "reg_1")
          .orderBy("sends")
          .execute();
        assert.deepEqual(rows, [
          { sends: 1, consumed_at: clock.now().toISOString() },
          { sends: 2, consumed_at: null },
        ]);
        // One chance in a million that both codes are the same digits: then the old one is the new one.
        if (first.code !== second.code) {
          assert.equal((await verifyCode(db, deps, "reg_1", first.code, codeRules())).ok, false);
        }
        assert.deepEqual(await verifyCode(db, deps, "reg_1", second.code, codeRules()), { ok: true });
      });

      test("a resend waits for the cooldown and a flow gets a limited number of sends", async (t) => {
        const db = await freshDatabase(t, dialect);
        const clock = fakeClock();
        const deps = codeDeps(clock);
        assert.ok((await issueCode(db, deps, target("reg_1"), codeRules())).ok);
        clock.advanceSeconds(limits.codeResendCooldownSeconds - 1);
        assert.deepEqual(await issueCode(db, deps, target("reg_1"), codeRules()), {
          ok: false,
          reason: "cooldown",
          retryAfterSeconds: 1,
        });
        for (let send = 2; send <= limits.codeMaxSends; send++) {
          clock.advanceSeconds(limits.codeResendCooldownSeconds);
          assert.ok((await issueCode(db, deps, target("reg_1"), codeRules())).ok, `send ${send}`);
        }
        clock.advanceSeconds(limits.codeResendCooldownSeconds);
        assert.deepEqual(await issueCode(db, deps, target("reg_1"), codeRules()), {
          ok: false,
          reason: "too_many_sends",
        });
        // Another flow is not affected.
        assert.ok((await issueCode(db, deps, target("reg_2"), codeRules())).ok);
      });

      test("a code is single use", async (t) => {
        const db = await freshDatabase(t, dialect);
        const deps = codeDeps(fakeClock());
        const issued = await issueCode(db, deps, target("reg_1"), codeRules());
        assert.ok(issued.ok);
        assert.deepEqual(await verifyCode(db, deps, "reg_1", issued.code, codeRules()), { ok: true });
        assert.deepEqual(await verifyCode(db, deps, "reg_1", issued.code, codeRules()), {
          ok: false,
          reason: "missing",
        });
      });

      test("a right code sent from two tabs at once is accepted once", async (t) => {
        const db = await freshDatabase(t, dialect);
        const deps = codeDeps(fakeClock());
        const issued = await issueCode(db, deps, target("reg_1"), codeRules());
        assert.ok(issued.ok);
        const results = await Promise.all([
          verifyCode(db, deps, "reg_1", issued.code, codeRules()),
          verifyCode(db, deps, "reg_1", issued.code, codeRules()),
        ]);
        assert.equal(results.filter((r) => r.ok).length, 1);
      });

      test("an expired code is refused", async (t) => {
        const db = await freshDatabase(t, dialect);
        const clock = fakeClock();
        const deps = codeDeps(clock);
        const early = await issueCode(db, deps, target("reg_early"), codeRules());
        const late = await issueCode(db, deps, target("reg_late"), codeRules());
        assert.ok(early.ok && late.ok);
        assert.equal(
          early.expiresAt.getTime(),
          clock.now().getTime() + limits.emailCodeLifetimeSeconds * 1000,
        );
        clock.advanceSeconds(limits.emailCodeLifetimeSeconds - 1);
        assert.deepEqual(await verifyCode(db, deps, "reg_early", early.code, codeRules()), { ok: true });
        clock.advanceSeconds(1);
        assert.deepEqual(await verifyCode(db, deps, "reg_late", late.code, codeRules()), {
          ok: false,
          reason: "expired",
        });
      });

      test("a decoy code accepts nothing", async (t) => {
        // Enumeration: an identifier with no account gets a flow that looks the same but never passes.
        const db = await freshDatabase(t, dialect);
        const deps = codeDeps(fakeClock());
        const issued = await issueCode(db, deps, { ...target("reg_decoy"), decoy: true }, codeRules());
        assert.ok(issued.ok);
        const row = await db.selectFrom("verification_code").select("code_hash").executeTakeFirstOrThrow();
        assert.equal(row.code_hash, null);
        assert.deepEqual(await verifyCode(db, deps, "reg_decoy", issued.code, codeRules()), {
          ok: false,
          reason: "incorrect",
          attemptsLeft: 4,
        });
      });
    });

    describe("throttle", () => {
      test("the throttle counts hits per key and resets after its window", async (t) => {
        const db = await freshDatabase(t, dialect);
        const clock = fakeClock();
        const rule = { limit: 3, windowSeconds: 60 };
        for (let hit = 1; hit <= 3; hit++) {
          assert.deepEqual(
            await hitThrottle(db, "ip:203.0.113.7", rule, clock.now()),
            { allowed: true, hits: hit },
            `hit ${hit}`,
          );
        }
        assert.deepEqual(await peekThrottle(db, "ip:203.0.113.7", rule, clock.now()), {
          allowed: false,
          retryAfterSeconds: 60,
        });
        assert.deepEqual(await hitThrottle(db, "ip:203.0.113.7", rule, clock.now()), {
          allowed: false,
          retryAfterSeconds: 60,
        });
        assert.deepEqual(await hitThrottle(db, "ip:198.51.100.1", rule, clock.now()), {
          allowed: true,
          hits: 1,
        });

        clock.advanceSeconds(45);
        assert.deepEqual(await peekThrottle(db, "ip:203.0.113.7", rule, clock.now()), {
          allowed: false,
          retryAfterSeconds: 15,
        });
        clock.advanceSeconds(15);
        assert.deepEqual(await peekThrottle(db, "ip:203.0.113.7", rule, clock.now()), { allowed: true });
        // A new window: the count starts again from one.
        assert.deepEqual(await hitThrottle(db, "ip:203.0.113.7", rule, clock.now()), {
          allowed: true,
          hits: 1,
        });
        const row = await db
          .selectFrom("throttle_counter")
          .selectAll()
          .where("key", "=", "ip:203.0.113.7")
          .executeTakeFirstOrThrow();
        assert.deepEqual(row, {
          key: "ip:203.0.113.7",
          hits: 1,
          window_started_at: clock.now().toISOString(),
          expires_at: new Date(clock.now().getTime() + 60_000).toISOString(),
        });

        await clearThrottle(db, "ip:203.0.113.7");
        assert.equal(
          await db
            .selectFrom("throttle_counter")
            .select("key")
            .where("key", "=", "ip:203.0.113.7")
            .executeTakeFirst(),
          undefined,
        );
      });

      test("hits arriving at once are all counted", async (t) => {
        // Attack: a burst of parallel requests must not slip past a read-then-write counter.
        const db = await freshDatabase(t, dialect);
        const now = fakeClock().now();
        const rule = { limit: 5, windowSeconds: 60 };
        const verdicts = await Promise.all(
          Array.from({ length: 20 }, () => hitThrottle(db, "account:acc_1", rule, now)),
        );
        assert.equal(verdicts.filter((v) => v.allowed).length, 5);
        const places = verdicts.flatMap((v) => (v.allowed ? [v.hits] : [])).sort();
        assert.deepEqual(places, [1, 2, 3, 4, 5], "each allowed hit has a place of its own");
        const row = await db.selectFrom("throttle_counter").select("hits").executeTakeFirstOrThrow();
        assert.equal(row.hits, 20);
      });

      test("a released hit gives its place back, in the live window only, never below zero", async (t) => {
        const db = await freshDatabase(t, dialect);
        const clock = fakeClock();
        const rule = { limit: 2, windowSeconds: 60 };
        const key = "reauth:account:acc_1";
        await hitThrottle(db, key, rule, clock.now());
        await hitThrottle(db, key, rule, clock.now());
        await releaseThrottleHit(db, key, clock.now());
        assert.deepEqual(await hitThrottle(db, key, rule, clock.now()), { allowed: true, hits: 2 });
        await Promise.all(Array.from({ length: 5 }, () => releaseThrottleHit(db, key, clock.now())));
        const emptied = await db.selectFrom("throttle_counter").select("hits").executeTakeFirstOrThrow();
        assert.equal(emptied.hits, 0);
        clock.advanceSeconds(61);
        await releaseThrottleHit(db, key, clock.now());
        assert.deepEqual(await hitThrottle(db, key, rule, clock.now()), { allowed: true, hits: 1 });
      });
    });

    describe("times", () => {
      test("times are stored the same way on both databases", async (t) => {
        const db = await freshDatabase(t, dialect);
        // A leap day, a year boundary and sub-second digits: text in, the same text out.
        const times = ["2024-02-29T23:59:59.123Z", "2024-12-31T23:59:59.999Z", "2025-01-01T00:00:00.000Z"];
        const ids: string[] = [];
        for (const time of times) ids.push(await createAccount(db, new Date(time)));
        const rows = await db
          .selectFrom("account")
          .select(["id", "created_at", "email_verified_at"])
          .where("created_at", ">", "2024-12-31T23:59:59.998Z")
          .orderBy("created_at")
          .execute();
        assert.deepEqual(rows, [
          { id: ids[1], created_at: times[1], email_verified_at: times[1] },
          { id: ids[2], created_at: times[2], email_verified_at: times[2] },
        ]);
        const raw = await sql<{
          created_at: unknown;
        }>`select created_at from account order by created_at`.execute(db);
        assert.deepEqual(
          raw.rows.map((r) => r.created_at),
          times,
        );
      });
    });
  });
}
