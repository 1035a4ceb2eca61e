import type { DatabaseSync, StatementSync } from "node:sqlite";

/**
 * When rows read from one SQLite connection may no longer be what the database holds: a
 * generation number that moves on whenever they may have changed. Two things change them:
 *
 * - a statement on this connection that may write to a watched table (the driver reports it,
 *   see `mayChangeTables`), and
 * - a commit by any other connection: another worker, `mamori accounts suspend` in a terminal.
 *   SQLite's `PRAGMA data_version` moves when another connection has committed; it is read at most
 *   once per turn of the event loop, by the first request of the turn. The requests handled in that
 *   turn were already waiting when it began (bar bytes landing in the microseconds between the poll
 *   and the socket's read), so each is answered with what the database held after it was sent; a
 *   commit that lands while answers are being written is a race any design has.
 *
 * While a transaction is open on this connection the generation is unknown: the transaction's
 * snapshot hides other connections' commits, and its own writes may still be rolled back.
 */
export class SqliteChanges {
  readonly #raw: DatabaseSync;
  readonly #dataVersion: StatementSync;
  #generation = 0;
  #lastDataVersion: number | undefined;
  #checkedThisTurn = false;
  readonly #endTurn = (): void => {
    this.#checkedThisTurn = false;
  };

  constructor(raw: DatabaseSync) {
    this.#raw = raw;
    this.#dataVersion = raw.prepare("PRAGMA data_version");
    this.#dataVersion.setReturnArrays(true);
  }

  /** A statement on this connection may have changed a watched row. */
  noteChange(): void {
    this.#generation += 1;
  }

  /** The generation rows read now belong to; undefined while a transaction is open. */
  current(): number | undefined {
    if (this.#raw.isTransaction) return undefined;
    if (!this.#checkedThisTurn) {
      this.#checkedThisTurn = true;
      setImmediate(this.#endTurn);
      const [version] = this.#dataVersion.get() as unknown as [number];
      if (version !== this.#lastDataVersion) {
        this.#lastDataVersion = version;
        this.#generation += 1;
      }
    }
    return this.#generation;
  }
}

const select = /^\s*select\b/i;
const transactionControl = /^\s*(?:begin|commit|end|rollback|savepoint|release)\b/i;
const plainInsert = /^\s*insert\s+into\s+"?(\w+)"?/i;
const updateOrDelete = /^\s*(?:update|delete\s+from)\s+"?(\w+)"?/i;
const onConflict = /\bon\s+conflict\b/i;

/**
 * Whether a statement may change a row of one of `tables`, read from its SQL text (as Kysely
 * writes it). A SELECT cannot write in SQLite; transaction control changes no row by itself; a
 * plain INSERT adds rows and changes none; UPDATE and DELETE change their own table, and a table's
 * rows also go when a row they reference is deleted (ON DELETE CASCADE), so `tables` must hold
 * the referenced tables too. Anything else (an upsert into a watched table, INSERT OR REPLACE,
 * WITH, DDL, a PRAGMA) is taken to change everything.
 */
export function mayChangeTables(sql: string, tables: ReadonlySet<string>): boolean {
  if (select.test(sql) || transactionControl.test(sql)) return false;
  const insert = plainInsert.exec(sql);
  if (insert) return onConflict.test(sql) && tables.has(insert[1] ?? "");
  const change = updateOrDelete.exec(sql);
  if (change) return tables.has(change[1] ?? "");
  return true;
}
