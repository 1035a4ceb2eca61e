import type { BarrierWaiter, ChangeListener } from "../db/postgres-change-feed.ts";

/** What the cache needs of PostgreSQL's change feed (src/db/postgres-change-feed.ts). */
export type SessionFeed = {
  isUp(): boolean;
  whenSettled(waiter: BarrierWaiter): boolean;
  settled(): Promise<boolean> | false;
};

// The changes remembered, so a row read while others changed can still be kept when none was its.
const recentChanges = 512;

/**
 * Session rows (with their account) kept in memory by session id, on PostgreSQL, for every process
 * on every machine: PostgreSQL's change feed (migration 018's triggers, LISTEN/NOTIFY) evicts a
 * row the moment its session or account changes anywhere. Three rules keep it from ever answering
 * what a read of the database would not:
 *
 * - A row is handed out only after a barrier on the feed (`whenSettled`, `settled`) that was sent
 *   after the request arrived: by then every change committed before the request was sent has
 *   evicted its rows. Requests that arrive together share one barrier; one that arrives while a
 *   barrier is on its way waits for the next.
 * - A row read while a change to its session or account was told is not kept (the read may have
 *   seen the row before the change); nor one read while the feed was down or reconnecting.
 * - While the feed is down the cache is empty and off; it comes back empty when the feed listens
 *   again, since changes made meanwhile were never told.
 *
 * It holds no secret: the token's secret is checked against the stored hash on every request. At
 * most `capacity` rows; the oldest goes first.
 */
export class PostgresSessionCache<Row extends { account_id: string }> implements ChangeListener {
  readonly #capacity: number;
  readonly #rows = new Map<string, Row>();
  readonly #byAccount = new Map<string, Set<string>>();
  #feed: SessionFeed | undefined;
  /** Moves on with every change told, and when the feed goes down or up. */
  #version = 0;
  /** The last changes told: `#recent[v % recentChanges]` is the key of version v. */
  readonly #recent: string[] = new Array<string>(recentChanges).fill("*");

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** The feed that tells this cache (set once it is started, since it tells the cache from then on). */
  attach(feed: SessionFeed): void {
    this.#feed = feed;
  }

  change(payload: string): void {
    this.#note(payload);
    if (payload.startsWith("s")) this.#forget(payload.slice(1));
    else if (payload.startsWith("a")) {
      for (const id of this.#byAccount.get(payload.slice(1)) ?? []) this.#forget(id);
    } else this.#clear();
  }

  up(): void {
    this.#note("*");
    this.#clear();
  }

  down(): void {
    this.#note("*");
    this.#clear();
  }

  /** The generation a read made now belongs to (pass it to `remember`); undefined: do not cache. */
  generation(): number | undefined {
    return this.#feed?.isUp() ? this.#version : undefined;
  }

  /** The row cached for this session id; handed out only once a barrier asked for after the request came said yes. */
  get(id: string): Row | undefined {
    return this.#feed?.isUp() ? this.#rows.get(id) : undefined;
  }

  /**
   * "waiting": `waiter` is called with true once every change committed before this call has been
   * told (false: read instead); false at once (and `waiter` is never called) when the feed is down.
   */
  whenSettled(waiter: BarrierWaiter): "waiting" | false {
    return this.#feed?.whenSettled(waiter) ? "waiting" : false;
  }

  /** `whenSettled` as a promise, shared by every caller until the next barrier is sent (false: read instead). */
  settled(): Promise<boolean> | false {
    return this.#feed?.settled() ?? false;
  }

  /** Keeps a row read in `generation`, unless its session or account may have changed since the read began. */
  remember(id: string, row: Row, generation: number | undefined): void {
    if (generation === undefined || this.generation() === undefined) return;
    if (generation !== this.#version && !this.#untouchedSince(generation, id, row.account_id)) return;
    if (!this.#rows.has(id) && this.#rows.size >= this.#capacity) {
      const oldest = this.#rows.keys().next();
      if (!oldest.done) this.#forget(oldest.value);
    }
    this.#rows.set(id, row);
    let sessions = this.#byAccount.get(row.account_id);
    if (!sessions) {
      sessions = new Set();
      this.#byAccount.set(row.account_id, sessions);
    }
    sessions.add(id);
  }

  /** No change told since `generation` concerned this session or account (and all are still known). */
  #untouchedSince(generation: number, id: string, accountId: string): boolean {
    if (this.#version - generation >= recentChanges) return false;
    for (let version = generation + 1; version <= this.#version; version++) {
      const key = this.#recent[version % recentChanges];
      if (key === "*" || key === `s${id}` || key === `a${accountId}`) return false;
    }
    return true;
  }

  #note(key: string): void {
    this.#version += 1;
    this.#recent[this.#version % recentChanges] = key;
  }

  #forget(id: string): void {
    const row = this.#rows.get(id);
    if (!row) return;
    this.#rows.delete(id);
    const sessions = this.#byAccount.get(row.account_id);
    sessions?.delete(id);
    if (sessions?.size === 0) this.#byAccount.delete(row.account_id);
  }

  #clear(): void {
    this.#rows.clear();
    this.#byAccount.clear();
  }
}
