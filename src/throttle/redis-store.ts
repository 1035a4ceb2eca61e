import { createRequire } from "node:module";
import type { Redis as RedisClient } from "ioredis";
import type { HitVerdict, ThrottleStore, ThrottleVerdict } from "./throttle.ts";

/**
 * Throttle counters in Redis or Valkey: one fixed window per key, as in the database store. A hit
 * is one atomic script (INCR, and the window's expiry set with the first hit), so processes on
 * several machines count together. Keys are prefixed, so a shared Redis can hold other data too.
 */
const prefix = "mamori:throttle:";

// KEYS[1] the counter; ARGV[1] the window in milliseconds. Returns {hits, milliseconds left}.
const hitScript = `
local hits = redis.call("INCR", KEYS[1])
if hits == 1 then redis.call("PEXPIRE", KEYS[1], ARGV[1]) end
local ttl = redis.call("PTTL", KEYS[1])
if ttl < 0 then redis.call("PEXPIRE", KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {hits, ttl}`;

// KEYS[1] the counter: one hit taken back while its window lives (never below zero).
const releaseScript = `
local hits = tonumber(redis.call("GET", KEYS[1]) or "0")
if hits > 0 then redis.call("DECR", KEYS[1]) end
return 0`;

function verdictOf(hits: number, limit: number, millisecondsLeft: number, counted: boolean): ThrottleVerdict {
  // After a hit, hits == limit is the last allowed event; before one (peek), it is already over.
  const over = counted ? hits > limit : hits >= limit;
  if (!over) return { allowed: true };
  return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(millisecondsLeft / 1000)) };
}

export function redisThrottleStore(url: string): ThrottleStore {
  // ioredis is loaded only when REDIS_URL is set.
  const { Redis } = createRequire(import.meta.url)("ioredis") as { Redis: typeof RedisClient };
  const client = new Redis(url, {
    // Fail fast rather than queue: a throttle that cannot count must not stall sign-in for long.
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    lazyConnect: false,
  });
  // A connection error is reported per command (and the command fails); never crash the process.
  client.on("error", () => {});
  return {
    async hit(key, rule): Promise<HitVerdict> {
      const [hits, left] = (await client.eval(
        hitScript,
        1,
        prefix + key,
        String(rule.windowSeconds * 1000),
      )) as [number, number];
      const counted = verdictOf(hits, rule.limit, left, true);
      return counted.allowed ? { allowed: true, hits } : counted;
    },
    async release(key) {
      await client.eval(releaseScript, 1, prefix + key);
    },
    async peek(key, rule) {
      const [hits, left] = await Promise.all([client.get(prefix + key), client.pttl(prefix + key)]);
      if (hits === null || left <= 0) return { allowed: true };
      return verdictOf(Number(hits), rule.limit, left, false);
    },
    async clear(key) {
      await client.del(prefix + key);
    },
    async close() {
      await client.quit().catch(() => client.disconnect());
    },
  };
}
