import type { SqliteChanges } from "../db/sqlite-changes.ts";

/**
 * Session rows (with their account) kept in memory by session id, each tagged with the generation
 * of `SqliteChanges` it was read in. A row is handed out only while that generation is still the
 * current one: any write to a session or an account on this connection, and any commit by another
 * process, moves the generation on and empties the cache. So the cache never answers what a read
 * of the database would not: a revocation, a suspension or a password change anywhere takes effect
 * at once, as before. It holds no secret: the token's secret is checked against the stored hash on
 * every request. At most `capacity` rows; the oldest goes first.
 */
export class SessionCache<Row> {
  readonly #changes: SqliteChanges;
  readonly #capacity: number;
  readonly #rows = new Map<string, Row>();
  #generation: number | undefined;

  constructor(changes: SqliteChanges, capacity: number) {
    this.#changes = changes;
    this.#capacity = capacity;
  }

  /** The generation a read made now belongs to (pass it to `remember`); undefined: do not cache. */
  generation(): number | undefined {
    const current = this.#changes.current();
    // Unknown (a transaction is open): the rows are kept, but none is handed out until it is known.
    if (current !== undefined && current !== this.#generation) {
      this.#rows.clear();
      this.#generation = current;
    }
    return current;
  }

  /** The row for this session id, when one is cached and nothing may have changed it since. */
  get(id: string): Row | undefined {
    if (this.generation() === undefined) return undefined;
    return this.#rows.get(id);
  }

  /** `get` already answers only what the database holds: nothing to wait for (PostgreSQL's cache has). */
  settled(): true {
    return true;
  }

  /** As `settled`: nothing to wait for, so the waiter is never called. */
  whenSettled(): true {
    return true;
  }

  /** Keeps a row read in `generation`, unless something may have changed it since the read began. */
  remember(id: string, row: Row, generation: number | undefined): void {
    if (generation === undefined || this.generation() !== generation) return;
    if (!this.#rows.has(id) && this.#rows.size >= this.#capacity) {
      const oldest = this.#rows.keys().next();
      if (!oldest.done) this.#rows.delete(oldest.value);
    }
    this.#rows.set(id, row);
  }
}
