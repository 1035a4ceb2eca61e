/**
 * The scale part of `npm run bench` (the issue "Beyond one machine"), run after the other phases,
 * or alone with `npm run bench -- --scale-only`:
 *
 * 1. 1,000 and 1,000,000 accounts seeded in SQL (bench/scale-seed.ts) on SQLite and on PostgreSQL;
 *    session checks and sign-ins measured against a Mamori process on each: at 1M they must be
 *    within 20% of 1k (bench/scale-sizes.ts). Database size per account reported.
 * 2. A mixed load (90% session checks, 8% sign-ins, 2% password resets) for 60 s against
 *    `mamori serve --workers 2` on PostgreSQL and against one process on SQLite: zero errors
 *    (bench/scale-mixed.ts).
 *
 * Everything on loopback; servers (and PostgreSQL) are stopped at the end, also on failure. This
 * file seeds each database kind and runs the servers of each in turn.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hashPassword } from "../src/passwords/hashing.ts";
import { createTestDatabase } from "../test/support/postgres.ts";
import { formatNumber, log, renderScaleText, writeScaleMarkdown } from "./report.ts";
import { ScaleMeasurer } from "./scale-measure.ts";
import { mixedLoad } from "./scale-mixed.ts";
import { buildReport } from "./scale-report.ts";
import { scalePassword, seedPostgres, seedSqlite } from "./scale-seed.ts";
import { ScaleServers } from "./scale-servers.ts";
import {
  type DialectResult,
  largeAccounts,
  scalePatience,
  smallAccounts,
  type Target,
  watchdogSeconds,
} from "./scale-settings.ts";
import { compareSizes } from "./scale-sizes.ts";
import { requireNode24 } from "./servers.ts";
import { cores, productionHashing, root } from "./settings.ts";
import { SharedMachine } from "./shared-machine.ts";

/** Seeding leaves a gigabyte or two of dirty pages: written out now, not during a measurement. */
function flushToDisk(): void {
  execFileSync("sync", { timeout: 120_000 });
}

async function onSqlite(
  servers: ScaleServers,
  measurer: ScaleMeasurer,
  directory: string,
  passwordHash: string,
): Promise<DialectResult> {
  log(`SQLite: seeding ${formatNumber(smallAccounts)} and ${formatNumber(largeAccounts)} accounts`);
  const smallPath = join(directory, "scale-1k.db");
  const largePath = join(directory, "scale-1m.db");
  const seeds = {
    small: await seedSqlite(smallPath, smallAccounts, passwordHash),
    large: await seedSqlite(largePath, largeAccounts, passwordHash),
  };
  flushToDisk();
  log(`  seeded in ${seeds.small.seconds.toFixed(1)} s and ${seeds.large.seconds.toFixed(1)} s`);
  const small: Target = {
    name: "SQLite 1k",
    server: await servers.startMamori("mamori-sqlite-1k", `sqlite:${smallPath}`, 1),
  };
  const large: Target = {
    name: "SQLite 1M",
    server: await servers.startMamori("mamori-sqlite-1m", `sqlite:${largePath}`, 1),
  };
  const { comparison, pickers } = await compareSizes(measurer, "SQLite", small, large, seeds);
  await servers.stopMamori(small.server);
  log("SQLite: the mixed load, one process, 1M accounts");
  const mixed = await mixedLoad(measurer, { ...large, name: "SQLite 1M, one process" }, pickers.large);
  await servers.stopMamori(large.server);
  return { comparison, mixed, accountsUsed: pickers.small.used };
}

async function onPostgres(
  servers: ScaleServers,
  measurer: ScaleMeasurer,
  passwordHash: string,
): Promise<DialectResult> {
  log("PostgreSQL: starting a throwaway server (test/support/postgres.ts)");
  const postgresUrl = await servers.startPostgres();
  const smallUrl = await createTestDatabase(postgresUrl);
  const largeUrl = await createTestDatabase(postgresUrl);
  log(`PostgreSQL: seeding ${formatNumber(smallAccounts)} and ${formatNumber(largeAccounts)} accounts`);
  const seeds = {
    small: await seedPostgres(smallUrl, smallAccounts, passwordHash),
    large: await seedPostgres(largeUrl, largeAccounts, passwordHash),
  };
  flushToDisk();
  log(`  seeded in ${seeds.small.seconds.toFixed(1)} s and ${seeds.large.seconds.toFixed(1)} s`);
  const postgresPid = await servers.adoptPostgres(smallUrl);
  const small: Target = {
    name: "PostgreSQL 1k",
    server: await servers.startMamori("mamori-pg-1k", smallUrl, 1),
    database: postgresPid,
  };
  const large: Target = {
    name: "PostgreSQL 1M",
    server: await servers.startMamori("mamori-pg-1m", largeUrl, 1),
    database: postgresPid,
  };
  const { comparison, pickers } = await compareSizes(measurer, "PostgreSQL", small, large, seeds);
  await servers.stopMamori(small.server);
  await servers.stopMamori(large.server);
  log("PostgreSQL: the mixed load, mamori serve --workers 2, 1M accounts");
  const workers: Target = {
    name: "PostgreSQL 1M, --workers 2",
    server: await servers.startMamori("mamori-pg-workers", largeUrl, 2),
    database: postgresPid,
  };
  // The banner is the first worker's; give the second a moment to listen too.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const mixed = await mixedLoad(measurer, workers, pickers.large);
  await servers.stopMamori(workers.server);
  return { comparison, mixed, accountsUsed: pickers.small.used };
}

/** Runs the scale part and writes its results into the day's section of docs/benchmarks.md. */
export async function runScaleBench(command: string): Promise<void> {
  requireNode24();
  const startedAt = new Date();
  const servers = new ScaleServers();
  // Started here, after the other phases in a full run: the retry budget is the scale part's own.
  const machine = new SharedMachine(cores, () => servers.ownPids(), scalePatience);
  const measurer = new ScaleMeasurer(servers, machine);
  const directory = mkdtempSync(join(tmpdir(), "mamori-bench-scale-"));
  const onSignal = (): void => {
    void servers.stopEverything().finally(() => process.exit(130));
  };
  // At exit (a signal, a crash), synchronously: servers killed, the seeded files removed.
  const atExit = (): void => {
    servers.killLeftovers();
    rmSync(directory, { recursive: true, force: true });
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("exit", atExit);
  const watchdog = setTimeout(() => {
    log(`the scale bench took over ${watchdogSeconds / 60} minutes: stopping`);
    void servers.stopEverything().finally(() => process.exit(1));
  }, watchdogSeconds * 1000);
  watchdog.unref();
  try {
    log("scale: one argon2id hash for every seeded account");
    const passwordHash = await hashPassword(scalePassword, productionHashing);
    const sqlite = await onSqlite(servers, measurer, directory, passwordHash);
    rmSync(directory, { recursive: true, force: true });
    const postgresResult = await onPostgres(servers, measurer, passwordHash);
    await servers.stopEverything();
    const report = buildReport(startedAt, command, sqlite, postgresResult, machine.record());
    log(renderScaleText(report));
    const docs = join(root, "docs/benchmarks.md");
    writeScaleMarkdown(docs, report);
    log(`written to ${docs}`);
  } finally {
    clearTimeout(watchdog);
    await servers.stopEverything();
    rmSync(directory, { recursive: true, force: true });
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("exit", atExit);
  }
}
