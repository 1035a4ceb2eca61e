import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Database, openDatabase } from "../../src/db/database.ts";
import { migrateToLatest } from "../../src/db/migrate.ts";
import { createTestDatabase, type PostgresServer, startPostgres } from "./postgres.ts";

/**
 * Storage tests run the same suite on both databases Mamori supports:
 *
 *   for (const dialect of dialects) describe(dialect, () => { … openTestDatabase(dialect) … });
 *   after(stopSharedPostgres);
 */
export const dialects = ["sqlite", "postgres"] as const;
export type TestDialect = (typeof dialects)[number];

export type TestDatabase = {
  db: Database;
  /** The URL the database was opened with: open it again to get a second, independent connection. */
  url: string;
  close(): Promise<void>;
};

export type TestDatabaseOptions = {
  /** Run the migrations before handing the database over (default true). */
  migrate?: boolean;
};

let sharedPostgres: Promise<PostgresServer> | undefined;

/**
 * A fresh, empty database for one test: a new SQLite file in its own temp directory (WAL, as in
 * production), or a new database on this process's PostgreSQL server, started on first use.
 */
export async function openTestDatabase(
  dialect: TestDialect,
  options: TestDatabaseOptions = {},
): Promise<TestDatabase> {
  let url: string;
  let removeFiles = (): void => {};
  if (dialect === "sqlite") {
    const directory = mkdtempSync(join(tmpdir(), "mamori-sqlite-"));
    url = `sqlite:${join(directory, "mamori.db")}`;
    removeFiles = () => rmSync(directory, { recursive: true, force: true });
  } else {
    sharedPostgres ??= startPostgres();
    url = await createTestDatabase((await sharedPostgres).url);
  }
  const db = openDatabase(url);
  const close = async (): Promise<void> => {
    await db.destroy();
    removeFiles();
  };
  try {
    if (options.migrate ?? true) await migrateToLatest(db);
  } catch (error) {
    await close();
    throw error;
  }
  return { db, url, close };
}

/** Stops this process's PostgreSQL server, if one was started; for an `after()` hook. */
export async function stopSharedPostgres(): Promise<void> {
  const starting = sharedPostgres;
  sharedPostgres = undefined;
  // A server that failed to start has nothing to stop; the tests already report why.
  const server = await starting?.catch(() => undefined);
  await server?.stop();
}
