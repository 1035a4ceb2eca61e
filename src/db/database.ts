import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { Kysely, PostgresAdapter, PostgresDialect, SqliteDialect, sql } from "kysely";
import type PgModule from "pg";
import { type ChangeListener, PostgresChangeFeed } from "./postgres-change-feed.ts";
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
const feedsByDatabase = new WeakMap<Database, (listener: ChangeListener) => PostgresChangeFeed | undefined>();

/** The channel migration 018's triggers notify, and how the feed's connection shows in pg_stat_activity. */
export const sessionChangeChannel = "mamori_session_changes";
export const sessionFeedApplicationName = "mamori-session-feed";

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
  const pool = createPostgresPool(pg, url, options);
  let feed: PostgresChangeFeed | undefined;
  let ended = false;
  const db = new Kysely<Schema>({
    dialect: new PostgresDialect({
      pool: {
        connect: () => pool.connect(),
        end: () => {
          ended = true;
          feed?.close();
          return pool.end();
        },
      },
    }),
  });
  feedsByDatabase.set(db, (listener) => {
    if (ended || feed) return undefined;
    feed = new PostgresChangeFeed(
      pg,
      {
        url,
        channel: sessionChangeChannel,
        applicationName: sessionFeedApplicationName,
        readyQuery:
          "select 1 from pg_trigger where tgname in ('mamori_session_change_feed', 'mamori_account_change_feed') having count(*) = 2",
        ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
        ...(options.onConnectionError ? { onConnectionError: options.onConnectionError } : {}),
      },
      listener,
    );
    return feed;
  });
  return db;
}

/**
 * PostgreSQL: starts the feed of changes to session and account rows (migration 018's triggers,
 * src/db/postgres-change-feed.ts) for the one listener a database has, the session cache. Undefined
 * for SQLite, for a database already closed, or when the feed was started before.
 */
export function startSessionChangeFeed(
  db: Database,
  listener: ChangeListener,
): PostgresChangeFeed | undefined {
  return feedsByDatabase.get(db)?.(listener);
}

/**
 * What tells a cache of session and account rows when they may have changed, for a SQLite database
 * opened here; PostgreSQL has its change feed instead (startSessionChangeFeed).
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
