import { DatabaseSync, type SQLOutputValue, type StatementSync } from "node:sqlite";
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
  const cache = new Map<string, CachedStatement>();
  const maxCached = 500;

  function prepare(sql: string): SqliteStatement {
    let cached = cache.get(sql);
    if (!cached) {
      cached = prepareStatement(raw, sql);
      if (cache.size >= maxCached) cache.clear();
      cache.set(sql, cached);
    }
    const { statement, reader, toRow } = cached;
    return {
      reader,
      all: (parameters) =>
        (statement.all(...toSqliteValues(parameters)) as unknown as RowValues[]).map(toRow),
      run: (parameters) => {
        const result = statement.run(...toSqliteValues(parameters));
        return { changes: result.changes, lastInsertRowid: result.lastInsertRowid };
      },
      iterate: function* (parameters) {
        for (const values of statement.iterate(...toSqliteValues(parameters))) {
          yield toRow(values as unknown as RowValues);
        }
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
type RowValues = SQLOutputValue[];
type Row = Record<string, SQLOutputValue>;

type CachedStatement = {
  statement: StatementSync;
  /** Whether it returns rows: `columns()` builds an object per column, too slow to call per query. */
  reader: boolean;
  toRow: (values: RowValues) => Row;
};

/**
 * Rows come back from node:sqlite as arrays and are made plain objects here, with the column names
 * read once per statement: node:sqlite's own row objects have a null prototype (unlike the pg
 * driver's rows) and cost twice as much to build and copy. A repeated name keeps the last value,
 * as node:sqlite's objects do.
 */
function prepareStatement(db: DatabaseSync, sql: string): CachedStatement {
  const statement = db.prepare(sql);
  const names = statement.columns().map((column) => column.name);
  if (names.includes("__proto__")) throw new Error(`a column may not be named __proto__: ${sql}`);
  statement.setReturnArrays(true);
  const toRow = (values: RowValues): Row => {
    const row: Row = {};
    for (let i = 0; i < names.length; i++) row[names[i] as string] = values[i] ?? null;
    return row;
  };
  return { statement, reader: names.length > 0, toRow };
}

function toSqliteValues(parameters: ReadonlyArray<unknown>): SqliteValue[] {
  return parameters.map((value) => {
    if (typeof value === "boolean") return value ? 1 : 0;
    if (value === undefined) return null;
    if (value instanceof Date) return value.toISOString();
    return value as SqliteValue;
  });
}
