import type { Kysely } from "kysely";
import { sql } from "kysely";
import type { Schema } from "../db/schema.ts";

export type ThrottleVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** What a hit answers: when allowed, how many hits the window holds now (this one included). */
export type HitVerdict = { allowed: true; hits: number } | { allowed: false; retryAfterSeconds: number };

export type ThrottleRule = { limit: number; windowSeconds: number };

/**
 * Where the counters live: the database by default, Redis/Valkey when REDIS_URL is set (then
 * many processes and machines share them without writing to the database on every request).
 * Passed in as `deps.throttle`; never a counter in one process's memory.
 */
export type ThrottleStore = {
  /** Counts one event, atomically, and answers whether it is within the limit. */
  hit(key: string, rule: ThrottleRule, now: Date): Promise<HitVerdict>;
  /** Takes one hit back (an attempt reserved by `hit` that turned out not to count). */
  release(key: string, now: Date): Promise<void>;
  peek(key: string, rule: ThrottleRule, now: Date): Promise<ThrottleVerdict>;
  clear(key: string): Promise<void>;
  /** Whether the store answers now, within its short timeout (for `/readyz`). */
  isReady(): Promise<boolean>;
  close(): Promise<void>;
};

/**
 * The store could not count (Redis down, frozen or unreachable): an outage, so it is thrown, and
 * the request answers 503 `throttle_unavailable`. Fail closed: a limit that cannot be counted is
 * not skipped, or an outage of Redis would open sign-in to unlimited guessing.
 */
export class ThrottleUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`throttle store unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "ThrottleUnavailableError";
  }
}

export function databaseThrottleStore(db: Kysely<Schema>): ThrottleStore {
  return {
    hit: (key, rule, now) => hitThrottle(db, key, rule, now),
    release: (key, now) => releaseThrottleHit(db, key, now),
    peek: (key, rule, now) => peekThrottle(db, key, rule, now),
    clear: (key) => clearThrottle(db, key),
    // The database's own readiness is what /readyz checks already.
    isReady: async () => true,
    close: async () => {},
  };
}

/**
 * Fixed-window counters in the database, shared by every process (never process-local).
 * `hit` counts one event and says whether the key is still under its limit; `peek` only reads.
 */
export async function hitThrottle(
  db: Kysely<Schema>,
  key: string,
  rule: ThrottleRule,
  now: Date,
): Promise<HitVerdict> {
  const nowText = now.toISOString();
  const expires = new Date(now.getTime() + rule.windowSeconds * 1000).toISOString();
  // One statement: a new window starts when the old one expired, else the count goes up.
  const row = await db
    .insertInto("throttle_counter")
    .values({ key, window_started_at: nowText, hits: 1, expires_at: expires })
    .onConflict((oc) =>
      oc.column("key").doUpdateSet({
        hits: sql`case when throttle_counter.expires_at <= ${nowText} then 1 else throttle_counter.hits + 1 end`,
        window_started_at: sql`case when throttle_counter.expires_at <= ${nowText} then ${nowText} else throttle_counter.window_started_at end`,
        expires_at: sql`case when throttle_counter.expires_at <= ${nowText} then ${expires} else throttle_counter.expires_at end`,
      }),
    )
    .returning(["hits", "expires_at"])
    .executeTakeFirstOrThrow();
  const counted = verdict(row.hits, rule.limit, row.expires_at, now, true);
  return counted.allowed ? { allowed: true, hits: row.hits } : counted;
}

/** One hit taken back, in the live window only (an expired window starts from zero anyway). */
export async function releaseThrottleHit(db: Kysely<Schema>, key: string, now: Date): Promise<void> {
  await db
    .updateTable("throttle_counter")
    .set({ hits: sql`hits - 1` })
    .where("key", "=", key)
    .where("hits", ">", 0)
    .where("expires_at", ">", now.toISOString())
    .execute();
}

export async function peekThrottle(
  db: Kysely<Schema>,
  key: string,
  rule: ThrottleRule,
  now: Date,
): Promise<ThrottleVerdict> {
  const row = await db
    .selectFrom("throttle_counter")
    .select(["hits", "expires_at"])
    .where("key", "=", key)
    .executeTakeFirst();
  if (!row || row.expires_at <= now.toISOString()) return { allowed: true };
  return verdict(row.hits, rule.limit, row.expires_at, now, false);
}

export async function clearThrottle(db: Kysely<Schema>, key: string): Promise<void> {
  await db.deleteFrom("throttle_counter").where("key", "=", key).execute();
}

export function verdict(
  hits: number,
  limit: number,
  expiresAt: string,
  now: Date,
  counted: boolean,
): ThrottleVerdict {
  // After a hit, hits == limit is the last allowed event; before one (peek), it is already over.
  const over = counted ? hits > limit : hits >= limit;
  if (!over) return { allowed: true };
  return {
    allowed: false,
    retryAfterSeconds: Math.max(1, Math.ceil((Date.parse(expiresAt) - now.getTime()) / 1000)),
  };
}
