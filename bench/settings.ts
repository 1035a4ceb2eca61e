/**
 * What the bench (bench/run.ts) measures: what both its parts share, then the targets and load of
 * the phases and how long they may wait for a quiet machine (the scale part's own are in
 * bench/scale-settings.ts).
 */
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import type { HashingParameters } from "../src/passwords/hashing.ts";
import type { Patience } from "./shared-machine.ts";

export const root = fileURLToPath(new URL("..", import.meta.url));
export const host = "127.0.0.1";
export const cores = availableParallelism();
/** The default argon2id parameters (the phases check that they still are before they start). */
export const productionHashing: HashingParameters = { memoryKib: 19_456, iterations: 2 };

// The targets (the project's performance issue).
export const sessionShareOfBaseline = 0.5;
export const sessionP99Ms = 10;
export const signInShareOfLimit = 0.9;
export const sessionP99UnderSignInsMs = 50;
export const rssLimitMiB = 120;
/** /healthz's median while one client bursts strength checks (issue 15: it was 445 ms). */
export const healthzP50UnderStrengthBurstMs = 20;

// The load.
export const checkConnections = 10;
export const warmupSeconds = 5;
export const checkSeconds = 10;
export const signInConnections = Math.max(8, cores * 4);
export const signInWarmupSeconds = 3;
export const signInSeconds = 15;
export const mixedSeconds = 15;
export const mixedCheckRate = 200;
export const seededAccounts = 2_000;
export const sessionCount = checkConnections;
export const settleSeconds = 2;
export const strengthBurstConnections = 100;
export const strengthBurstPasswordLength = 64;
export const strengthBurstSeconds = 10;
export const healthzRateDuringBurst = 50;

// On a shared machine other work comes and goes: each measurement waits a little for a lull, and
// a measurement that other processes disturbed (a quarter of a core or more) is taken once more,
// the less disturbed of the two kept, within budgets that keep the whole run near 3 minutes.
export const patience: Patience = {
  quietWaitSeconds: 10,
  totalWaitSeconds: 40,
  disturbedCores: 0.25,
  retryUntilSeconds: 110,
};
