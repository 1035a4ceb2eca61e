import type { Kysely } from "kysely";
import { sql } from "kysely";
import type { Database } from "./database.ts";
import { dialectOf } from "./database.ts";
import * as initial from "./migrations/001-initial.ts";
import * as passwordReset from "./migrations/002-password-reset.ts";
import * as emailReminder from "./migrations/003-email-reminder.ts";
import * as twoStep from "./migrations/004-two-step.ts";
import * as signInLockout from "./migrations/005-sign-in-lockout.ts";
import * as signInContext from "./migrations/006-sign-in-context.ts";
import * as passkeys from "./migrations/007-passkeys.ts";
import * as oidc from "./migrations/008-oidc.ts";
import * as passkeyReauthentication from "./migrations/009-passkey-reauthentication.ts";
import * as oidcAccount from "./migrations/010-oidc-account.ts";
import * as oidcTokenBinding from "./migrations/011-oidc-token-binding.ts";
import * as outboxCodeExpiry from "./migrations/012-outbox-code-expiry.ts";
import * as profile from "./migrations/013-profile.ts";

import * as accountClosing from "./migrations/014-account-closing.ts";
import * as twoStepRecovery from "./migrations/015-two-step-recovery.ts";
import * as oidcLogout from "./migrations/016-oidc-logout.ts";
import * as deviceFlow from "./migrations/017-device-flow.ts";
import * as sessionChangeFeed from "./migrations/018-session-change-feed.ts";
import * as webhooks from "./migrations/019-webhooks.ts";
import * as federatedIdentities from "./migrations/020-federated-identities.ts";

import * as staff from "./migrations/021-staff.ts";

type Migration = { id: string; up(db: Kysely<unknown>): Promise<void> };

/** Every migration, oldest first. Never edit one that has shipped: add the next. */
const migrations: readonly Migration[] = [
  { id: "001-initial", ...initial },
  { id: "002-password-reset", ...passwordReset },
  { id: "003-email-reminder", ...emailReminder },
  { id: "004-two-step", ...twoStep },
  { id: "005-sign-in-lockout", ...signInLockout },
  { id: "006-sign-in-context", ...signInContext },
  { id: "007-passkeys", ...passkeys },
  { id: "008-oidc", ...oidc },
  { id: "009-passkey-reauthentication", ...passkeyReauthentication },
  { id: "010-oidc-account", ...oidcAccount },
  { id: "011-oidc-token-binding", ...oidcTokenBinding },
  { id: "012-outbox-code-expiry", ...outboxCodeExpiry },
  { id: "013-profile", ...profile },
  { id: "014-account-closing", ...accountClosing },
  { id: "015-two-step-recovery", ...twoStepRecovery },
  { id: "016-oidc-logout", ...oidcLogout },
  { id: "017-device-flow", ...deviceFlow },
  { id: "018-session-change-feed", ...sessionChangeFeed },
  { id: "019-webhooks", ...webhooks },
  { id: "020-federated-identities", ...federatedIdentities },
  { id: "021-staff", ...staff },
];

// A migrating process may hold the SQLite write lock for a while; others wait this long at most.
const sqliteLockWaitMs = 30_000;
const sqliteRetryMs = 25;

/**
 * Applies the migrations not yet applied, in one transaction. Safe to run from several processes
 * at once: on PostgreSQL an advisory lock serialises them; on SQLite `BEGIN IMMEDIATE` takes the
 * single write lock before anything is read, so no two processes both see a migration as missing.
 */
export async function migrateToLatest(db: Database): Promise<string[]> {
  if (dialectOf(db) === "postgres") {
    return db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(7366269)`.execute(trx);
      return applyMissing(trx);
    });
  }
  return db.connection().execute(async (connection) => {
    // node:sqlite waits for a busy lock synchronously, which would stall this whole process; here the
    // wait is asynchronous instead (busy_timeout 0, retry), and the usual timeout comes back after.
    await sql`pragma busy_timeout = 0`.execute(connection);
    try {
      await beginImmediate(connection);
      try {
        const applied = await applyMissing(connection);
        await sql`commit`.execute(connection);
        return applied;
      } catch (error) {
        await sql`rollback`.execute(connection);
        throw error;
      }
    } finally {
      await sql`pragma busy_timeout = 5000`.execute(connection);
    }
  });
}

async function beginImmediate(connection: Database): Promise<void> {
  const deadline = Date.now() + sqliteLockWaitMs;
  for (;;) {
    try {
      await sql`begin immediate`.execute(connection);
      return;
    } catch (error) {
      const busy = /database is locked|SQLITE_BUSY/i.test((error as Error).message);
      if (!busy || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, sqliteRetryMs));
    }
  }
}

async function applyMissing(db: Database): Promise<string[]> {
  await db.schema
    .createTable("mamori_migration")
    .ifNotExists()
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("applied_at", "text", (c) => c.notNull())
    .execute();
  const done = new Set((await db.selectFrom("mamori_migration").select("id").execute()).map((r) => r.id));
  const applied: string[] = [];
  for (const migration of migrations) {
    if (done.has(migration.id)) continue;
    await migration.up(db as unknown as Kysely<unknown>);
    await db
      .insertInto("mamori_migration")
      .values({ id: migration.id, applied_at: new Date().toISOString() })
      .execute();
    applied.push(migration.id);
  }
  return applied;
}
