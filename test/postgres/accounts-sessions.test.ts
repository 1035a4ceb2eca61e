import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { sha256Hex } from "../../src/crypto/secrets.ts";
import { openDatabase } from "../../src/db/database.ts";
import { migrateToLatest } from "../../src/db/migrate.ts";
import { type Clock, secureRandom } from "../../src/deps.ts";
import {
  findAccountByEmail,
  findAccountByIdentifier,
  insertAccount,
  setAccountStatus,
} from "../../src/identity/accounts.ts";
import { authenticateSessionToken } from "../../src/session/session-lookup.ts";
import {
  createSession,
  listLiveSessions,
  revokeAccountSessions,
  revokeSession,
  type SessionDeps,
} from "../../src/session/sessions.ts";
import { dialects, openTestDatabase, stopSharedPostgres } from "../support/databases.ts";

// The same rules, checked on SQLite and on a real PostgreSQL 15 server (test/support/postgres.ts).
// Every test gets a fresh, migrated database, so no test depends on another or on their order.

import { createAccount, day, fakeClock, freshDatabase, limits } from "../support/storage.ts";

after(stopSharedPostgres);

// Every migration, in order: a new one is added here too, so its arrival is checked on both databases.
const allMigrations = [
  "001-initial",
  "002-password-reset",
  "003-email-reminder",
  "004-two-step",
  "005-sign-in-lockout",
  "006-sign-in-context",
  "007-passkeys",
  "008-oidc",
  "009-passkey-reauthentication",
  "010-oidc-account",
  "011-oidc-token-binding",
  "012-outbox-code-expiry",
  "013-profile",
  "014-account-closing",
  "015-two-step-recovery",
  "016-oidc-logout",
  "017-device-flow",
  "018-session-change-feed",
  "019-webhooks",
  "020-federated-identities",
  "021-staff",
];

for (const dialect of dialects) {
  describe(dialect, () => {
    describe("migrations", () => {
      test("migrations run twice leave the schema unchanged", async (t) => {
        const db = await freshDatabase(t, dialect, false);
        assert.deepEqual(await migrateToLatest(db), allMigrations);
        const schemaAfterFirst = await db.introspection.getTables();
        assert.deepEqual(await migrateToLatest(db), []);
        assert.deepEqual(await db.introspection.getTables(), schemaAfterFirst);
        const applied = await db.selectFrom("mamori_migration").select("id").execute();
        assert.deepEqual(
          applied.map((r) => r.id),
          allMigrations,
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
        assert.deepEqual(results.flat().sort(), allMigrations);
        const applied = await first.db.selectFrom("mamori_migration").select("id").execute();
        assert.equal(applied.length, allMigrations.length);
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
  });
}
