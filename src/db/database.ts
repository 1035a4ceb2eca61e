import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { Kysely, PostgresAdapter, PostgresDialect, SqliteDialect, sql } from "kysely";
import type PgModule from "pg";
import { createPostgresPool, type PostgresPoolOptions } from "./postgres-pool.ts";
import type { Schema } from "./schema.ts";
import type { SqliteChanges } from "./sqlite-changes.ts";
import { openSqlite } from "./sqlite-driver.ts";

export type Database = Kysely<Schema>;
export type DialectName = "sqlite" | "postgres";

// The tables whose rows the session cache holds (src/session/session-cache.ts): a session and its
// account. A session row also goes when its account is deleted (the only reference it has).
const cachedTables: ReadonlySet<string> = new Set(["session", "account"]);
const changesByDatabase = new WeakMap<Database, SqliteChanges>();

/**
 * Opens the database named by DATABASE_URL: `sqlite:PATH`, `sqlite::memory:` or `postgres://…`.
 * The options bound a PostgreSQL connection's waits (src/db/postgres-pool.ts); SQLite has none.
 */
export function openDatabase(url: string, options: PostgresPoolOptions = {}): Database {
  if (url.startsWith("sqlite:")) {
    const path = url.slice("sqlite:".length) || ":memory:";
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    const sqlite = openSqlite(path, cachedTables);
    const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: sqlite }) });
    changesByDatabase.set(db, sqlite.changes);
    return db;
  }
  // The PostgreSQL driver is loaded only when it is the database (a SQLite process never holds it).
  const pg = createRequire(import.meta.url)("pg") as typeof PgModule;
  return new Kysely<Schema>({ dialect: new PostgresDialect({ pool: createPostgresPool(pg, url, options) }) });
}

/**
 * What tells a cache of session and account rows when they may have changed: known for a SQLite
 * database opened here; none for PostgreSQL, where other processes commit unseen (every lookup reads).
 */
export function cachedRowChangesOf(db: Database): SqliteChanges | undefined {
  return changesByDatabase.get(db);
}

export function dialectOf(db: Database): DialectName {
  return db.getExecutor().adapter instanceof PostgresAdapter ? "postgres" : "sqlite";
}

/**
 * True when the database answers a trivial query within `timeoutMs`: what /readyz reports. A frozen
 * database is "not ready" after the timeout; the query itself ends at its own connect or query limit.
 */
export async function isDatabaseReady(db: Database, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const answered = sql`select 1`.execute(db).then(
    () => true,
    () => false,
  );
  try {
    return await Promise.race([answered, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
