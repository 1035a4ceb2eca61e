import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { SqliteDatabase, SqliteStatement } from "kysely";

/**
 * Adapts Node's built-in `node:sqlite` to the better-sqlite3 shape Kysely's SqliteDialect expects,
 * with a statement cache: Kysely compiles the same SQL text again and again on hot paths.
 */
export function openSqlite(path: string): SqliteDatabase & { raw: DatabaseSync } {
  const raw = new DatabaseSync(path);
  // WAL lets readers go on while one writer commits; NORMAL is durable across process crashes
  // (only an OS crash can lose the last transactions), which is what a kill -9 test checks.
  raw.exec("PRAGMA journal_mode = WAL");
  raw.exec("PRAGMA synchronous = NORMAL");
  raw.exec("PRAGMA foreign_keys = ON");
  raw.exec("PRAGMA busy_timeout = 5000");
  // Whether a statement returns rows is cached with it: `columns()` builds an object per column
  // and costs more than running a primary-key lookup.
  const cache = new Map<string, { statement: StatementSync; reader: boolean }>();
  const maxCached = 500;

  function prepare(sql: string): SqliteStatement {
    let cached = cache.get(sql);
    if (!cached) {
      const prepared = raw.prepare(sql);
      cached = { statement: prepared, reader: prepared.columns().length > 0 };
      if (cache.size >= maxCached) cache.clear();
      cache.set(sql, cached);
    }
    const { statement, reader } = cached;
    return {
      reader,
      // node:sqlite returns null-prototype rows; plain objects behave like the pg driver's everywhere.
      all: (parameters) => statement.all(...toSqliteValues(parameters)).map((row) => ({ ...row })),
      run: (parameters) => {
        const result = statement.run(...toSqliteValues(parameters));
        return { changes: result.changes, lastInsertRowid: result.lastInsertRowid };
      },
      iterate: function* (parameters) {
        for (const row of statement.iterate(...toSqliteValues(parameters))) yield { ...row };
      },
    };
  }

  return {
    raw,
    prepare,
    close: () => {
      cache.clear();
      raw.close();
    },
  };
}

type SqliteValue = null | number | bigint | string | NodeJS.ArrayBufferView;

function toSqliteValues(parameters: ReadonlyArray<unknown>): SqliteValue[] {
  return parameters.map((value) => {
    if (typeof value === "boolean") return value ? 1 : 0;
    if (value === undefined) return null;
    if (value instanceof Date) return value.toISOString();
    return value as SqliteValue;
  });
}
