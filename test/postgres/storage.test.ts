import assert from "node:assert/strict";
import { after, describe, type TestContext, test } from "node:test";
import { sql } from "kysely";
import { pino } from "pino";
import { listAuditEvents, recordAuditEvent } from "../../src/audit/audit.ts";
import { type Config, loadConfig } from "../../src/config/config.ts";
import { createCourier, type OutboundMessage, type Transport } from "../../src/courier/courier.ts";
import { backoffSeconds, dispatchDueMessages } from "../../src/courier/dispatcher.ts";
import { queueMessage } from "../../src/courier/outbox.ts";
import type { MessageTemplate } from "../../src/courier/templates.ts";
import { newId, sha256Hex } from "../../src/crypto/secrets.ts";
import { type Database, openDatabase } from "../../src/db/database.ts";
import { migrateToLatest } from "../../src/db/migrate.ts";
import { type Clock, type Deps, secureRandom } from "../../src/deps.ts";
import {
  type CodeDeps,
  type CodeRules,
  issueCode,
  verifyCode,
} from "../../src/factors/one-time-code/one-time-code.ts";
import {
  findAccountByEmail,
  findAccountByIdentifier,
  insertAccount,
  setAccountStatus,
} from "../../src/identity/accounts.ts";
import { readMaintenanceMode, setMaintenanceMode } from "../../src/operations/maintenance.ts";
import {
  authenticateSessionToken,
  createSession,
  listLiveSessions,
  revokeAccountSessions,
  revokeSession,
  type SessionDeps,
} from "../../src/session/sessions.ts";
import { clearThrottle, hitThrottle, peekThrottle } from "../../src/throttle/throttle.ts";
import { dialects, openTestDatabase, stopSharedPostgres, type TestDialect } from "../support/databases.ts";

// The same rules, checked on SQLite and on a real PostgreSQL 15 server (test/support/postgres.ts).
// Every test gets a fresh, migrated database, so no test depends on another or on their order.

after(stopSharedPostgres);

const config = loadConfig({ NODE_ENV: "test" });
const limits = config.limits;
const day = 86_400;

type FakeClock = Clock & { advanceSeconds(seconds: number): void };

function fakeClock(start = "2025-04-01T09:00:00.000Z"): FakeClock {
  let now = new Date(start);
  return {
    now: () => now,
    advanceSeconds(seconds) {
      now = new Date(now.getTime() + seconds * 1000);
    },
  };
}

async function freshDatabase(t: TestContext, dialect: TestDialect, migrate = true): Promise<Database> {
  const database = await openTestDatabase(dialect, { migrate });
  t.after(() => database.close());
  return database.db;
}

async function createAccount(db: Database, now: Date): Promise<string> {
  const id = newId(secureRandom, "acc");
  const inserted = await insertAccount(db, {
    id,
    email: `${id}@example.jp`,
    name: "山田 花子",
    passwordHash: "$argon2id$not-a-real-hash",
    locale: "ja",
    now,
  });
  assert.equal(inserted, true);
  return id;
}

function codeRules(): CodeRules {
  return {
    lifetimeSeconds: limits.emailCodeLifetimeSeconds,
    maxAttempts: limits.codeMaxAttempts,
    resendCooldownSeconds: limits.codeResendCooldownSeconds,
    maxSends: limits.codeMaxSends,
  };
}

function codeDeps(clock: Clock): CodeDeps {
  const [secretKey] = config.secretKeys;
  assert.ok(secretKey);
  return { clock, random: secureRandom, secretKey };
}

/** A six-digit code that is certainly not `code`. */
function wrongCodeFor(code: string): string {
  return code === "000000" ? "000001" : "000000";
}

type RecordingTransport = Transport & { sent: OutboundMessage[]; failing: boolean };

function recordingTransport(name: string): RecordingTransport {
  const transport: RecordingTransport = {
    name,
    sent: [],
    failing: false,
    send: async (message) => {
      if (transport.failing) throw new Error(`${name} is down`);
      transport.sent.push(message);
    },
  };
  return transport;
}

function outboxDeps(
  db: Database,
  clock: Clock,
  overrides: Config = config,
): Deps & { email: RecordingTransport } {
  const email = recordingTransport("recording-email");
  const courier = createCourier({
    email,
    sms: recordingTransport("recording-sms"),
    voice: recordingTransport("recording-voice"),
  });
  return {
    config: overrides,
    db,
    clock,
    random: secureRandom,
    courier,
    log: pino({ level: "silent" }),
    email,
  };
}

function codeMessage(code = "123456"): MessageTemplate {
  return { kind: "registration_code", name: "山田 花子", code, lifetimeMinutes: 15 };
}

async function queueEmails(deps: Deps, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    ids.push(await queueMessage(deps.db, deps, "email", `person${i}@example.jp`, "ja", codeMessage()));
  }
  return ids;
}

for (const dialect of dialects) {
  describe(dialect, () => {
    describe("migrations", () => {
      test("migrations run twice leave the schema unchanged", async (t) => {
        const db = await freshDatabase(t, dialect, false);
        assert.deepEqual(await migrateToLatest(db), [
          "001-initial",
          "002-password-reset",
          "003-email-reminder",
          "004-two-step",
        ]);
        const schemaAfterFirst = await db.introspection.getTables();
        assert.deepEqual(await migrateToLatest(db), []);
        assert.deepEqual(await db.introspection.getTables(), schemaAfterFirst);
        const applied = await db.selectFrom("mamori_migration").select("id").execute();
        assert.deepEqual(
          applied.map((r) => r.id),
          ["001-initial", "002-password-reset", "003-email-reminder", "004-two-step"],
        );
        assert.ok(schemaAfterFirst.some((table) => table.name === "outbox_message"));
      });

      test("migrations started by two processes at once apply each migration once", async (t) => {
        const first = await openTestDatabase(dialect, { migrate: false });
        t.after(() => first.close());
        // A second pool on the same database stands for a second Mamori process starting up.
        const second = openDatabase(first.url);
        t.after(() => second.destroy());
        const results = await Promise.all([migrateToLatest(first.db), migrateToLatest(second)]);
        assert.deepEqual(results.flat().sort(), [
          "001-initial",
          "002-password-reset",
          "003-email-reminder",
          "004-two-step",
        ]);
        const applied = await first.db.selectFrom("mamori_migration").select("id").execute();
        assert.equal(applied.length, 4);
      });
    });

    describe("accounts", () => {
      test("an email can belong to only one account", async (t) => {
        const db = await freshDatabase(t, dialect);
        const now = new Date("2025-04-01T09:00:00.000Z");
        const account = {
          email: "hanako@example.jp",
          name: "花子",
          passwordHash: "h1",
          locale: "ja" as const,
          now,
        };
        assert.equal(await insertAccount(db, { ...account, id: "acc_first" }), true);
        assert.equal(await insertAccount(db, { ...account, id: "acc_second", name: "偽物" }), false);
        const rows = await db
          .selectFrom("account")
          .select(["id", "name"])
          .where("email", "=", account.email)
          .execute();
        assert.deepEqual(rows, [{ id: "acc_first", name: "花子" }]);
        assert.equal((await findAccountByEmail(db, account.email))?.id, "acc_first");
      });

      test("a phone number finds an account only once it is verified", async (t) => {
        const db = await freshDatabase(t, dialect);
        const now = new Date("2025-04-01T09:00:00.000Z");
        const id = await createAccount(db, now);
        await db.updateTable("account").set({ phone: "+819012345678" }).where("id", "=", id).execute();
        assert.equal(await findAccountByIdentifier(db, { kind: "phone", phone: "+819012345678" }), undefined);
        await db
          .updateTable("account")
          .set({ phone_verified_at: now.toISOString() })
          .where("id", "=", id)
          .execute();
        assert.equal((await findAccountByIdentifier(db, { kind: "phone", phone: "+819012345678" }))?.id, id);
      });
    });

    describe("sessions", () => {
      function sessionDeps(clock: Clock): SessionDeps {
        return { clock, random: secureRandom, limits };
      }

      const persistentSession = (accountId: string) => ({
        accountId,
        factors: ["password", "totp"] as const,
        persistent: true,
        sessionType: "cookie" as const,
        ip: "203.0.113.7",
        userAgent: "test",
      });

      test("a session token is found by id and refused with a wrong secret", async (t) => {
        const db = await freshDatabase(t, dialect);
        const clock = fakeClock();
        const deps = sessionDeps(clock);
        const accountId = await createAccount(db, clock.now());
        const { token, session } = await createSession(db, deps, persistentSession(accountId));
        const [id, secret] = token.split(".");
        assert.ok(id && secret);
        assert.equal(id, session.id);

        const found = await authenticateSessionToken(db, deps, token);
        assert.equal(found?.session.id, id);
        assert.equal(found?.account.id, accountId);
        assert.equal(found?.session.aal, 2);

        // Only the hash of the secret is stored: a database leak does not leak live tokens.
        const stored = await db
          .selectFrom("session")
          .selectAll()
          .where("id", "=", id)
          .executeTakeFirstOrThrow();
        assert.equal(stored.secret_hash, sha256Hex(secret));
        assert.ok(!Object.values(stored).includes(secret));

        const otherSecret = secret.startsWith("a") ? `b${secret.slice(1)}` : `a${secret.slice(1)}`;
        assert.equal(await authenticateSessionToken(db, deps, `${id}.${otherSecret}`), undefined);
        assert.equal(await authenticateSessionToken(db, deps, `ses_unknown.${secret}`), undefined);
        assert.equal(await authenticateSessionToken(db, deps, id), undefined);
      });

      test("a revoked session is refused at once", async (t) => {
        const db = await freshDatabase(t, dialect);
        const clock = fakeClock();
        const deps = sessionDeps(clock);
        const accountId = await createAccount(db, clock.now());
        const otherAccountId = await createAccount(db, clock.now());
        const revoked = await createSession(db, deps, persistentSession(accountId));
        const kept = await createSession(db, deps, persistentSession(accountId));

        assert.equal(await revokeSession(db, otherAccountId, revoked.session.id, clock.now()), false);
        assert.ok(await authenticateSessionToken(db, deps, revoked.token));
        assert.equal(await revokeSession(db, accountId, revoked.session.id, clock.now()), true);
        assert.equal(await authenticateSessionToken(db, deps, revoked.token), undefined);
        assert.equal(await revokeSession(db, accountId, revoked.session.id, clock.now()), false);
        assert.equal((await authenticateSessionToken(db, deps, kept.token))?.session.id, kept.session.id);
        assert.deepEqual(
          (await listLiveSessions(db, accountId, clock.now())).map((s) => s.id),
          [kept.session.id],
        );
      });

      test("revoking the other sessions keeps the current one", async (t) => {
        const db = await freshDatabase(t, dialect);
        const clock = fakeClock();
        const deps = sessionDeps(clock);
        const accountId = await createAccount(db, clock.now());
        const otherAccountId = await createAccount(db, clock.now());
        const current = await createSession(db, deps, persistentSession(accountId));
        const others = [
          await createSession(db, deps, persistentSession(accountId)),
          await createSession(db, deps, persistentSession(accountId)),
        ];
        const stranger = await createSession(db, deps, persistentSession(otherAccountId));

        assert.equal(await revokeAccountSessions(db, accountId, current.session.id, clock.now()), 2);
        assert.ok(await authenticateSessionToken(db, deps, current.token));
        for (const other of others)
          assert.equal(await authenticateSessionToken(db, deps, other.token), undefined);
        assert.ok(await authenticateSessionToken(db, deps, stranger.token));
        assert.equal(await revokeAccountSessions(db, accountId, null, clock.now()), 1);
        assert.equal(await authenticateSessionToken(db, deps, current.token), undefined);
      });

      test("a session past its idle expiry is refused", async (t) => {
        const db = await freshDatabase(t, dialect);
        const clock = fakeClock();
        const deps = sessionDeps(clock);
        const accountId = await createAccount(db, clock.now());
        const used = await createSession(db, deps, persistentSession(accountId));
        const idle = await createSession(db, deps, persistentSession(accountId));

        clock.advanceSeconds(limits.sessionIdleSeconds - 1);
        assert.ok(await authenticateSessionToken(db, deps, used.token));
        clock.advanceSeconds(1);
        assert.equal(await authenticateSessionToken(db, deps, idle.token), undefined);
        // The session used a second ago had its idle expiry pushed back.
        assert.ok(await authenticateSessionToken(db, deps, used.token));
      });

      test("a session in use still ends at its absolute expiry", async (t) => {
        const db = await freshDatabase(t, dialect);
        const clock = fakeClock();
        const deps = sessionDeps(clock);
        const accountId = await createAccount(db, clock.now());
        const { token } = await createSession(db, deps, persistentSession(accountId));
        const step = limits.sessionIdleSeconds - day;
        let elapsed = 0;
        while (elapsed + step < limits.sessionAbsoluteSeconds) {
          clock.advanceSeconds(step);
          elapsed += step;
          assert.ok(await authenticateSessionToken(db, deps, token), `refused after ${elapsed / day} days`);
        }
        clock.advanceSeconds(limits.sessionAbsoluteSeconds - elapsed);
        assert.equal(await authenticateSessionToken(db, deps, token), undefined);
      });

      test("a browser session ends after its lifetime even when used", async (t) => {
        const db = await freshDatabase(t, dialect);
        const clock = fakeClock();
        const deps = sessionDeps(clock);
        const accountId = await createAccount(db, clock.now());
        const { token, session } = await createSession(db, deps, {
          ...persistentSession(accountId),
          persistent: false,
          factors: ["password"],
        });
        assert.equal(session.aal, 1);
        clock.advanceSeconds(limits.browserSessionSeconds - 60);
        assert.ok(await authenticateSessionToken(db, deps, token));
        clock.advanceSeconds(60);
        assert.equal(await authenticateSessionToken(db, deps, token), undefined);
      });

      test("a session of a suspended account is refused", async (t) => {
        const db = await freshDatabase(t, dialect);
        const clock = fakeClock();
        const deps = sessionDeps(clock);
        const accountId = await createAccount(db, clock.now());
        const { token } = await createSession(db, deps, persistentSession(accountId));
        assert.equal(await setAccountStatus(db, accountId, "suspended", "fraud report", clock.now()), true);
        assert.equal(await authenticateSessionToken(db, deps, token), undefined);
      });
    });

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
            { allowed: true },
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
        assert.deepEqual(await hitThrottle(db, "ip:198.51.100.1", rule, clock.now()), { allowed: true });

        clock.advanceSeconds(45);
        assert.deepEqual(await peekThrottle(db, "ip:203.0.113.7", rule, clock.now()), {
          allowed: false,
          retryAfterSeconds: 15,
        });
        clock.advanceSeconds(15);
        assert.deepEqual(await peekThrottle(db, "ip:203.0.113.7", rule, clock.now()), { allowed: true });
        assert.deepEqual(await hitThrottle(db, "ip:203.0.113.7", rule, clock.now()), { allowed: true });
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
        const row = await db.selectFrom("throttle_counter").select("hits").executeTakeFirstOrThrow();
        assert.equal(row.hits, 20);
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

    describe("outbox", () => {
      test("queued messages are delivered once each", async (t) => {
        const db = await freshDatabase(t, dialect);
        const clock = fakeClock();
        const deps = outboxDeps(db, clock);
        // More than one claim batch (10).
        const ids = await queueEmails(deps, 12);
        assert.equal(await dispatchDueMessages(deps), 12);
        assert.deepEqual(deps.email.sent.map((m) => m.id).sort(), [...ids].sort());
        assert.match(deps.email.sent[0]?.text ?? "", /123456/);
        assert.equal(await dispatchDueMessages(deps), 0);
        assert.equal(deps.email.sent.length, 12);
        const rows = await db.selectFrom("outbox_message").select(["state", "attempts", "sent_at"]).execute();
        for (const row of rows) {
          assert.deepEqual(row, { state: "sent", attempts: 1, sent_at: clock.now().toISOString() });
        }
      });

      test("two dispatchers at once deliver each message once", async (t) => {
        const db = await freshDatabase(t, dialect);
        const deps = outboxDeps(db, fakeClock());
        const ids = await queueEmails(deps, 25);
        const claimed = await Promise.all([
          dispatchDueMessages(deps, "wrk_a"),
          dispatchDueMessages(deps, "wrk_b"),
        ]);
        assert.equal(claimed[0] + claimed[1], 25);
        assert.deepEqual(deps.email.sent.map((m) => m.id).sort(), [...ids].sort());
      });

      test("a failing transport leaves the message pending for a later try", async (t) => {
        const db = await freshDatabase(t, dialect);
        const clock = fakeClock();
        const deps = outboxDeps(db, clock);
        const [id] = await queueEmails(deps, 1);
        assert.ok(id);
        deps.email.failing = true;
        assert.equal(await dispatchDueMessages(deps), 1);
        const failed = await db
          .selectFrom("outbox_message")
          .selectAll()
          .where("id", "=", id)
          .executeTakeFirstOrThrow();
        assert.equal(failed.state, "pending");
        assert.equal(failed.attempts, 1);
        assert.equal(
          failed.next_attempt_at,
          new Date(clock.now().getTime() + backoffSeconds(1) * 1000).toISOString(),
        );
        assert.ok(failed.next_attempt_at > clock.now().toISOString());
        assert.equal(failed.last_error, "recording-email is down");
        assert.equal(failed.leased_by, null);
        assert.equal(failed.sent_at, null);

        // Not due yet: nothing is claimed, however often the dispatcher runs.
        assert.equal(await dispatchDueMessages(deps), 0);
        deps.email.failing = false;
        clock.advanceSeconds(backoffSeconds(1));
        assert.equal(await dispatchDueMessages(deps), 1);
        assert.deepEqual(
          deps.email.sent.map((m) => m.id),
          [id],
        );
        const sent = await db
          .selectFrom("outbox_message")
          .selectAll()
          .where("id", "=", id)
          .executeTakeFirstOrThrow();
        assert.equal(sent.state, "sent");
        assert.equal(sent.attempts, 2);
        assert.equal(sent.last_error, null);
      });

      test("a message that keeps failing is given up after the last attempt", async (t) => {
        const db = await freshDatabase(t, dialect);
        const clock = fakeClock();
        const deps = outboxDeps(db, clock, loadConfig({ NODE_ENV: "test", MAMORI_OUTBOX_MAX_ATTEMPTS: "2" }));
        const [id] = await queueEmails(deps, 1);
        assert.ok(id);
        deps.email.failing = true;
        assert.equal(await dispatchDueMessages(deps), 1);
        clock.advanceSeconds(backoffSeconds(1));
        assert.equal(await dispatchDueMessages(deps), 1);
        const row = await db
          .selectFrom("outbox_message")
          .selectAll()
          .where("id", "=", id)
          .executeTakeFirstOrThrow();
        assert.equal(row.state, "failed");
        assert.equal(row.attempts, 2);
        clock.advanceSeconds(maxBackoff());
        assert.equal(await dispatchDueMessages(deps), 0);
      });

      test("a message whose sender's lease expired is claimed again", async (t) => {
        const db = await freshDatabase(t, dialect);
        const clock = fakeClock();
        const deps = outboxDeps(db, clock);
        const [orphaned, leased] = await queueEmails(deps, 2);
        assert.ok(orphaned && leased);
        const past = new Date(clock.now().getTime() - 1000).toISOString();
        const future = new Date(clock.now().getTime() + 30_000).toISOString();
        // A process died mid-send (lease over); another is sending right now (lease still running).
        await db
          .updateTable("outbox_message")
          .set({ state: "sending", attempts: 1, leased_by: "wrk_dead", lease_expires_at: past })
          .where("id", "=", orphaned)
          .execute();
        await db
          .updateTable("outbox_message")
          .set({ state: "sending", attempts: 1, leased_by: "wrk_busy", lease_expires_at: future })
          .where("id", "=", leased)
          .execute();

        assert.equal(await dispatchDueMessages(deps, "wrk_new"), 1);
        assert.deepEqual(
          deps.email.sent.map((m) => m.id),
          [orphaned],
        );
        const rows = await db
          .selectFrom("outbox_message")
          .select(["id", "state", "attempts", "leased_by"])
          .orderBy("id")
          .execute();
        assert.deepEqual(
          rows,
          [
            { id: orphaned, state: "sent", attempts: 2, leased_by: "wrk_new" },
            { id: leased, state: "sending", attempts: 1, leased_by: "wrk_busy" },
          ].sort((a, b) => (a.id < b.id ? -1 : 1)),
        );
      });

      test("outside the development outbox a sent message keeps no code", async (t) => {
        const db = await freshDatabase(t, dialect);
        const production = loadConfig({ NODE_ENV: "test", MAMORI_DEV_OUTBOX: "false" });
        const deps = outboxDeps(db, fakeClock(), production);
        const [id] = await queueEmails(deps, 1);
        assert.ok(id);
        const queued = await db
          .selectFrom("outbox_message")
          .selectAll()
          .where("id", "=", id)
          .executeTakeFirstOrThrow();
        assert.equal(queued.dev_code, null);
        assert.match(queued.text_body, /123456/);
        assert.equal(await dispatchDueMessages(deps), 1);
        const sent = await db
          .selectFrom("outbox_message")
          .selectAll()
          .where("id", "=", id)
          .executeTakeFirstOrThrow();
        assert.equal(sent.state, "sent");
        assert.equal(sent.text_body, "");
        assert.equal(sent.html_body, null);
        assert.doesNotMatch(sent.subject ?? "", /123456/, "the subject shows the code too");
      });

      test("the development outbox keeps the code to show it", async (t) => {
        const db = await freshDatabase(t, dialect);
        const deps = outboxDeps(db, fakeClock());
        assert.equal(config.devOutbox, true);
        const [id] = await queueEmails(deps, 1);
        assert.ok(id);
        assert.equal(await dispatchDueMessages(deps), 1);
        const sent = await db
          .selectFrom("outbox_message")
          .selectAll()
          .where("id", "=", id)
          .executeTakeFirstOrThrow();
        assert.equal(sent.dev_code, "123456");
        assert.match(sent.text_body, /123456/);
      });
    });

    describe("maintenance and audit", () => {
      test("maintenance mode round-trips through the database", async (t) => {
        const db = await freshDatabase(t, dialect);
        const clock = fakeClock();
        assert.deepEqual(await readMaintenanceMode(db), { on: false });
        await setMaintenanceMode(
          db,
          { on: true, message: "メンテナンス中です", retryAfterSeconds: 120 },
          clock.now(),
        );
        assert.deepEqual(await readMaintenanceMode(db), {
          on: true,
          message: "メンテナンス中です",
          retryAfterSeconds: 120,
        });
        clock.advanceSeconds(60);
        await setMaintenanceMode(
          db,
          { on: true, message: "まもなく再開します", retryAfterSeconds: 30 },
          clock.now(),
        );
        assert.deepEqual(await readMaintenanceMode(db), {
          on: true,
          message: "まもなく再開します",
          retryAfterSeconds: 30,
        });
        const rows = await db.selectFrom("setting").selectAll().execute();
        assert.equal(rows.length, 1);
        assert.equal(rows[0]?.updated_at, clock.now().toISOString());
        await setMaintenanceMode(db, { on: false }, clock.now());
        assert.deepEqual(await readMaintenanceMode(db), { on: false });
        await setMaintenanceMode(db, { on: false }, clock.now());
        assert.deepEqual(await readMaintenanceMode(db), { on: false });
      });

      test("audit events are listed newest first, for their account only", async (t) => {
        const db = await freshDatabase(t, dialect);
        const clock = fakeClock();
        const deps = { clock, random: secureRandom };
        const accountId = await createAccount(db, clock.now());
        await recordAuditEvent(db, deps, {
          type: "account.created",
          accountId,
          actor: "account",
          ip: "203.0.113.7",
        });
        clock.advanceSeconds(1);
        await recordAuditEvent(db, deps, {
          type: "sign_in.failed",
          accountId: "acc_other",
          actor: "account",
        });
        await recordAuditEvent(db, deps, {
          type: "session.revoked_others",
          accountId,
          actor: "account",
          detail: { revoked: 2 },
        });
        const events = await listAuditEvents(db, accountId);
        assert.deepEqual(
          events.map((e) => [e.type, e.createdAt, e.detail]),
          [
            ["session.revoked_others", clock.now().toISOString(), { revoked: 2 }],
            ["account.created", "2025-04-01T09:00:00.000Z", {}],
          ],
        );
        assert.equal(events[1]?.ip, "203.0.113.7");
      });
    });
  });
}

function maxBackoff(): number {
  return backoffSeconds(100);
}
