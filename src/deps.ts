import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { Config } from "./config/config.ts";
import type { Courier } from "./courier/courier.ts";
import type { Database } from "./db/database.ts";
import type { ThrottleStore } from "./throttle/throttle.ts";

/** The current time, passed in so tests can freeze and move it. */
export type Clock = { now(): Date };

/** Cryptographically secure bytes, passed in so tests can make runs repeatable where they need to. */
export type Random = { bytes(length: number): Buffer };

/** Everything the application needs from the outside world; `buildApp` takes one of these. */
export type Deps = {
  config: Config;
  db: Database;
  clock: Clock;
  random: Random;
  courier: Courier;
  /** Throttle counters: the database's, or Redis/Valkey's when REDIS_URL is set. */
  throttle: ThrottleStore;
  log: Logger;
};

export const systemClock: Clock = { now: () => new Date() };

export const secureRandom: Random = { bytes: (length) => randomBytes(length) };
