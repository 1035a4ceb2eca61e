import { DatabaseSync, type SQLOutputValue, type StatementSync } from "node:sqlite";
import type { SqliteDatabase, SqliteStatement } from "kysely";
import { mayChangeTables, SqliteChanges } from "./sqlite-changes.ts";

/**
 * Adapts Node's built-in `node:sqlite` to the better-sqlite3 shape Kysely's SqliteDialect expects,
 * with a statement cache: Kysely compiles the same SQL text again and again on hot paths. Every
 * statement that may write to one of `watchedTables` moves `changes` on (rows of those tables
 * may be cached).
 */
export function openSqlite(
  path: string,
  watchedTables: ReadonlySet<string> = new Set(),
): SqliteDatabase & { raw: DatabaseSync; changes: SqliteChanges } {
  const raw = new DatabaseSync(path);
  // WAL lets readers go on while one writer commits; NORMAL is durable across process crashes
  // (only an OS crash can lose the last transactions), which is what a kill -9 test checks.
  raw.exec("PRAGMA journal_mode = WAL");
  raw.exec("PRAGMA synchronous = NORMAL");
  raw.exec("PRAGMA foreign_keys = ON");
  raw.exec("PRAGMA busy_timeout = 5000");
  const changes = new SqliteChanges(raw);
  const cache = new Map<string, CachedStatement>();
  const maxCached = 500;

  function prepare(sql: string): SqliteStatement {
    let cached = cache.get(sql);
    if (!cached) {
      cached = prepareStatement(raw, sql, mayChangeTables(sql, watchedTables));
      if (cache.size >= maxCached) cache.clear();
      cache.set(sql, cached);
    }
    const { statement, reader, toRow, writesWatched } = cached;
    return {
      reader,
      all: (parameters) => {
        // Noted before running: a failed statement may still have written part of its rows.
        if (writesWatched) changes.noteChange();
        return (statement.all(...toSqliteValues(parameters)) as unknown as RowValues[]).map(toRow);
      },
      run: (parameters) => {
        if (writesWatched) changes.noteChange();
        const result = statement.run(...toSqliteValues(parameters));
        return { changes: result.changes, lastInsertRowid: result.lastInsertRowid };
      },
      iterate: function* (parameters) {
        if (writesWatched) changes.noteChange();
        for (const values of statement.iterate(...toSqliteValues(parameters))) {
          yield toRow(values as unknown as RowValues);
        }
      },
    };
  }

  return {
    raw,
    changes,
    prepare,
    close: () => {
      cache.clear();
      raw.close();
    },
  };
}

type SqliteValue = null | number | bigint | string | NodeJS.ArrayBufferView;
type RowValues = SQLOutputValue[];
type Row = Record<string, SQLOutputValue>;

type CachedStatement = {
  statement: StatementSync;
  /** Whether it returns rows: `columns()` builds an object per column, too slow to call per query. */
  reader: boolean;
  toRow: (values: RowValues) => Row;
  /** Whether running it may change a row of a watched table. */
  writesWatched: boolean;
};

/**
 * Rows come back from node:sqlite as arrays and are made plain objects here, with the column names
 * read once per statement: node:sqlite's own row objects have a null prototype (unlike the pg
 * driver's rows) and cost twice as much to build and copy. A repeated name keeps the last value,
 * as node:sqlite's objects do.
 */
function prepareStatement(db: DatabaseSync, sql: string, writesWatched: boolean): CachedStatement {
  const statement = db.prepare(sql);
  const names = statement.columns().map((column) => column.name);
  if (names.includes("__proto__")) throw new Error(`a column may not be named __proto__: ${sql}`);
  statement.setReturnArrays(true);
  const toRow = (values: RowValues): Row => {
    const row: Row = {};
    for (let i = 0; i < names.length; i++) row[names[i] as string] = values[i] ?? null;
    return row;
  };
  return { statement, reader: names.length > 0, toRow, writesWatched };
}

function toSqliteValues(parameters: ReadonlyArray<unknown>): SqliteValue[] {
  return parameters.map((value) => {
    if (typeof value === "boolean") return value ? 1 : 0;
    if (value === undefined) return null;
    if (value instanceof Date) return value.toISOString();
    return value as SqliteValue;
  });
}
