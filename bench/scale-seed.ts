import { statSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { sql } from "kysely";
import { openDatabase } from "../src/db/database.ts";
import { migrateToLatest } from "../src/db/migrate.ts";

/**
 * Seeds many accounts fast, in SQL, for the scale bench: the rows `insertAccount` writes (an
 * active account with a verified email and a password, and its first password_history row), all
 * with one precomputed argon2id hash. Ids are random like the real ones (`acc_` + 26 characters),
 * so the primary-key indexes fill as they do in production; emails are `scale-0000042@example.com`.
 */
export const scalePassword = "kumo-no-ue-no-shiro-2025";

export function scaleEmail(index: number): string {
  return `scale-${String(index).padStart(7, "0")}@example.com`;
}

export type SeedResult = { accounts: number; seconds: number; bytes: number };

/** SQLite: one recursive CTE per table, in one transaction, then a checkpoint; size = file + WAL. */
export async function seedSqlite(path: string, count: number, passwordHash: string): Promise<SeedResult> {
  const started = performance.now();
  const db = openDatabase(`sqlite:${path}`);
  try {
    await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
  const now = new Date().toISOString();
  const raw = new DatabaseSync(path);
  try {
    raw.exec("PRAGMA journal_mode = WAL");
    raw.exec("PRAGMA synchronous = OFF");
    raw.exec("PRAGMA cache_size = -262144");
    raw.exec("BEGIN");
    raw
      .prepare(
        `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)
         INSERT INTO account (id, email, email_verified_at, name, phone, phone_verified_at, password_hash,
           password_changed_at, locale, status, status_reason, created_at, updated_at, two_step_enabled_at)
         SELECT 'acc_' || lower(hex(randomblob(13))), printf('scale-%07d@example.com', i), ?,
           'Scale Person ' || i, NULL, NULL, ?, ?, 'ja', 'active', NULL, ?, ?, NULL
         FROM n`,
      )
      .run(count, now, passwordHash, now, now, now);
    raw
      .prepare(
        `INSERT INTO password_history (id, account_id, sequence, password_hash, created_at)
         SELECT 'pwh_' || lower(hex(randomblob(12))), id, 1, password_hash, created_at FROM account`,
      )
      .run();
    raw.exec("COMMIT");
    raw.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  } finally {
    raw.close();
  }
  return { accounts: count, seconds: (performance.now() - started) / 1000, bytes: sqliteBytes(path) };
}

/** The database file and its WAL (the shared-memory index is not data). */
export function sqliteBytes(path: string): number {
  const size = (file: string): number => {
    try {
      return statSync(file).size;
    } catch {
      return 0;
    }
  };
  return size(path) + size(`${path}-wal`);
}

/** PostgreSQL: INSERT … SELECT from generate_series, then VACUUM ANALYZE and a checkpoint. */
export async function seedPostgres(url: string, count: number, passwordHash: string): Promise<SeedResult> {
  const started = performance.now();
  const db = openDatabase(url);
  try {
    await migrateToLatest(db);
    const now = new Date().toISOString();
    // One connection for it all, and no statement may wait or run for ever.
    await db.connection().execute(async (connection) => {
      await sql`set statement_timeout = '300s'`.execute(connection);
      await sql`begin`.execute(connection);
      try {
        await sql`
          insert into account (id, email, email_verified_at, name, phone, phone_verified_at, password_hash,
            password_changed_at, locale, status, status_reason, created_at, updated_at, two_step_enabled_at)
          select 'acc_' || substr(md5(random()::text || i::text), 1, 26),
            'scale-' || lpad(i::text, 7, '0') || '@example.com', ${now}, 'Scale Person ' || i, null, null,
            ${passwordHash}, ${now}, 'ja', 'active', null, ${now}, ${now}, null
          from generate_series(0, ${count - 1}::int) as i`.execute(connection);
        await sql`
          insert into password_history (id, account_id, sequence, password_hash, created_at)
          select 'pwh_' || substr(md5(random()::text || id), 1, 24), id, 1, password_hash, created_at
          from account`.execute(connection);
        await sql`commit`.execute(connection);
      } catch (error) {
        await sql`rollback`.execute(connection);
        throw error;
      }
      // What autovacuum would have done by the time a real database had a million accounts.
      await sql`vacuum (analyze) account, password_history`.execute(connection);
      await sql`checkpoint`.execute(connection);
    });
    return {
      accounts: count,
      seconds: (performance.now() - started) / 1000,
      bytes: await postgresBytes(db),
    };
  } finally {
    await db.destroy();
  }
}

export async function postgresBytes(db: ReturnType<typeof openDatabase>): Promise<number> {
  const { rows } = await sql<{
    bytes: string;
  }>`select pg_database_size(current_database())::text as bytes`.execute(db);
  return Number(rows[0]?.bytes ?? 0);
}
