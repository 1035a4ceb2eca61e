import { createRequire } from "node:module";
import type { Redis as RedisClient } from "ioredis";
import {
  type HitVerdict,
  type ThrottleStore,
  ThrottleUnavailableError,
  type ThrottleVerdict,
} from "./throttle.ts";

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

/**
 * How long a Redis command, a connection attempt or the wait for one may take: Redis answers a
 * healthy request in well under a millisecond, so a second means it is down or frozen. Every
 * sign-in waits at most this long (twice for a peek's two commands sent together: still once).
 */
export const redisTimeoutMs = 1000;

// Between reconnection attempts: quickly at first, never more than a second apart, so counting
// resumes within about a second of Redis coming back, without a restart of Mamori.
function reconnectDelayMs(times: number): number {
  return Math.min(times * 100, 1000);
}

export function redisThrottleStore(url: string): ThrottleStore {
  // ioredis is loaded only when REDIS_URL is set.
  const { Redis } = createRequire(import.meta.url)("ioredis") as { Redis: typeof RedisClient };
  const client = new Redis(url, {
    connectTimeout: redisTimeoutMs,
    commandTimeout: redisTimeoutMs,
    // No queue while disconnected: a command fails at once instead of waiting for a Redis that may
    // not come back, and nothing queued during an outage is replayed (counted) after it.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    retryStrategy: reconnectDelayMs,
    lazyConnect: false,
  });
  // A connection error is reported per command (and the command fails); never crash the process.
  client.on("error", () => {});

  // While a connection attempt runs (at start, or a reconnection under way), commands wait for it
  // to end, at most `redisTimeoutMs`: one shared wait, not a listener per request.
  let connecting: Promise<void> | undefined;
  function connectionAttempt(): Promise<void> {
    connecting ??= new Promise<void>((resolve, reject) => {
      const settle = (error?: Error): void => {
        clearTimeout(timer);
        client.off("ready", onReady);
        client.off("close", onClose);
        connecting = undefined;
        if (error) reject(error);
        else resolve();
      };
      const onReady = (): void => settle();
      const onClose = (): void => settle(new Error("connection to Redis closed"));
      const timer = setTimeout(() => settle(new Error("no connection to Redis")), redisTimeoutMs);
      client.once("ready", onReady);
      client.once("close", onClose);
    });
    return connecting;
  }

  async function bounded<T>(command: () => Promise<T>): Promise<T> {
    try {
      if (client.status === "wait" || client.status === "connecting" || client.status === "connect") {
        await connectionAttempt();
      }
      // Not ready (reconnecting, ended): fails at once, as the offline queue is off.
      return await command();
    } catch (error) {
      throw new ThrottleUnavailableError(error);
    }
  }

  return {
    hit: (key, rule) =>
      bounded(async (): Promise<HitVerdict> => {
        const [hits, left] = (await client.eval(
          hitScript,
          1,
          prefix + key,
          String(rule.windowSeconds * 1000),
        )) as [number, number];
        const counted = verdictOf(hits, rule.limit, left, true);
        return counted.allowed ? { allowed: true, hits } : counted;
      }),
    release: (key) =>
      bounded(async () => {
        await client.eval(releaseScript, 1, prefix + key);
      }),
    peek: (key, rule) =>
      bounded(async (): Promise<ThrottleVerdict> => {
        const [hits, left] = await Promise.all([client.get(prefix + key), client.pttl(prefix + key)]);
        if (hits === null || left <= 0) return { allowed: true };
        return verdictOf(Number(hits), rule.limit, left, false);
      }),
    clear: (key) =>
      bounded(async () => {
        await client.del(prefix + key);
      }),
    async isReady() {
      try {
        return (await bounded(() => client.ping())) === "PONG";
      } catch {
        return false;
      }
    },
    async close() {
      await client.quit().catch(() => client.disconnect());
    },
  };
}
