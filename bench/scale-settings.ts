/**
 * What the scale part of the bench (bench/scale.ts) measures, with what load and within what
 * bounds, and the shapes its results take (bench/scale-report.ts writes them up). What it shares
 * with the phases (the root, the host, the cores, the argon2id parameters) is in bench/settings.ts.
 */
import type { ServerProcess } from "./processes.ts";
import type { ScaleLoadResult } from "./scale-load.ts";
import type { TreeCpu } from "./scale-processes.ts";
import type { SeedResult } from "./scale-seed.ts";
import type { Patience } from "./shared-machine.ts";

// The targets (the issue "Beyond one machine").
export const smallAccounts = 1_000;
export const largeAccounts = 1_000_000;
/** A figure at 1M may be at most 20% worse than at 1k. */
export const allowedSlowdown = 0.2;

// The load.
export const checkConnections = 10;
export const checkWarmupSeconds = 3;
export const checkSeconds = 8;
export const signInRate = 50;
export const signInWarmupSeconds = 2;
export const signInSeconds = 12;
export const mixedConnections = 10;
export const mixedWarmupSeconds = 5;
export const mixedSeconds = 60;
/** Of every 50 requests of the mixed load: 45 session checks, 4 sign-ins, 1 password reset. */
export const mixPattern = [
  ...Array<Kind>(45).fill("session check"),
  ...Array<Kind>(4).fill("sign-in"),
  "password reset",
];
export const cookiePool = 20;
/**
 * Limits raised for every server of the bench: the mixed load asks for thousands of resets (a few
 * per account) and sign-ins from one address in a minute; the report's notes say so.
 */
export const benchLimits = {
  MAMORI_PASSWORD_RESET_REQUESTS_PER_IDENTIFIER: "1000",
  MAMORI_PASSWORD_RESET_REQUESTS_PER_IP: "100000",
  MAMORI_SIGN_IN_FAILURES_PER_IP: "100000",
};

// On a shared machine: a bounded wait for a lull before each measurement, and a disturbed
// measurement of part 1 taken once more while the run is young enough.
export const scalePatience: Patience = {
  quietWaitSeconds: 8,
  totalWaitSeconds: 60,
  disturbedCores: 0.25,
  retryUntilSeconds: 330,
};
/** The whole scale part is stopped (servers and PostgreSQL with it) if it ever takes this long. */
export const watchdogSeconds = 14 * 60;

export type Kind = "session check" | "sign-in" | "password reset";
export type Dialect = "SQLite" | "PostgreSQL";

export type Target = { name: string; server: ServerProcess; database?: number | undefined };
export type Measured = { target: Target; load: string; result: ScaleLoadResult; cpu: TreeCpu };
export type Pair = { dialect: Dialect; small: Measured; large: Measured };
export type SizeComparison = { checks: Pair; signIns: Pair; seeds: { small: SeedResult; large: SeedResult } };
/** `accountsUsed`: sign-ins to the 1k database (beyond 1,000, accounts signed in before again). */
export type DialectResult = { comparison: SizeComparison; mixed: Measured; accountsUsed: number };
