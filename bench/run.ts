/**
 * `npm run bench`: measures Mamori against the project's performance targets and writes the results
 * to docs/benchmarks.md. About two minutes (the phases, bench/phases.ts), then the password
 * generator's part (bench/generator.ts, under a minute; `npm run bench -- --generator-only`) and the
 * scale part (bench/scale.ts, about six more; `npm run bench -- --scale-only` runs only that). See
 * the preamble of that file for the method. `npm run bench -- --strength-only` runs only the
 * strength-burst phase (bench/strength-burst.ts, under a minute) and prints its figure, writing
 * nothing. After the phases, the session check side by side (bench/session-check.ts, about three
 * minutes; `npm run bench -- --session-check-only` runs only that): bare node:http, SQLite and
 * PostgreSQL (one process and --workers 2), with PostgreSQL's CPU per 1,000 checks.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../src/config/config.ts";
import { runGeneratorBench } from "./generator.ts";
import { runPhases } from "./phases.ts";
import { buildReport, strengthBurstRow } from "./phases-report.ts";
import { log, renderText, writeMarkdown } from "./report.ts";
import { measureResetTiming } from "./reset-timing.ts";
import { runScaleBench } from "./scale.ts";
import { requireNode24, Servers } from "./servers.ts";
import { runSessionCheckBench } from "./session-check.ts";
import { cores, patience, productionHashing, root } from "./settings.ts";
import { SharedMachine } from "./shared-machine.ts";
import { measureStrengthBurst, strengthBurstRows } from "./strength-burst.ts";

/** The servers of the phases: stopped on Ctrl-C too, while the phases run. */
const servers = new Servers();
const stopOnSignal = (): void => {
  void servers.stopAll().then(() => process.exit(130));
};

/** The phases and the password reset timing, written into the day's section of docs/benchmarks.md. */
async function main(): Promise<void> {
  requireNode24();
  const limits = loadConfig({ NODE_ENV: "development" }).limits;
  if (
    limits.argon2MemoryKib !== productionHashing.memoryKib ||
    limits.argon2Iterations !== productionHashing.iterations
  ) {
    throw new Error("the default argon2id parameters are no longer the production ones this bench expects");
  }

  const startedAt = new Date();
  const machine = new SharedMachine(cores, () => servers.pids(), patience);
  const directory = mkdtempSync(join(tmpdir(), "mamori-bench-"));
  // Only while the phases run: the scale part has its own handler, which also stops PostgreSQL.
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, stopOnSignal);
  try {
    const measured = await runPhases(servers, machine, directory);
    // Timing of "forgot password" for an existing vs an unknown email (the recovery issue's bench).
    log("password reset timing: 200 existing and 200 unknown emails, in-process");
    const resetTiming = await measureResetTiming(200);
    const command = process.argv.includes("--no-scale") ? "npm run bench -- --no-scale" : "npm run bench";
    const report = buildReport(startedAt, command, measured, resetTiming, machine.record());
    log(renderText(report));
    const docs = join(root, "docs/benchmarks.md");
    writeMarkdown(docs, report);
    log(`written to ${docs}`);
  } finally {
    await servers.stopAll();
    rmSync(directory, { recursive: true, force: true });
    for (const signal of ["SIGINT", "SIGTERM"] as const) process.off(signal, stopOnSignal);
  }
}

/** `--strength-only`: the strength-burst phase alone, its figure and rows on the terminal. */
async function strengthOnly(): Promise<void> {
  requireNode24();
  const machine = new SharedMachine(cores, () => servers.pids(), patience);
  const directory = mkdtempSync(join(tmpdir(), "mamori-bench-"));
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, stopOnSignal);
  try {
    const burst = await measureStrengthBurst(servers, machine, directory);
    const row = strengthBurstRow(burst);
    log(`${row.figure}: ${row.measured} (target ${row.target}; ${row.versus}) ${row.verdict}`);
    for (const phase of strengthBurstRows(burst)) {
      log(
        `  ${phase.phase} [${phase.load}]: ${phase.okPerSecond.toFixed(1)} 2xx/s, p50 ${phase.p50} ms, p99 ${phase.p99} ms, max ${phase.max} ms; server ${phase.serverCores.toFixed(2)} cores, load generator ${phase.benchCores.toFixed(2)}, other ${phase.otherCores.toFixed(2)}`,
      );
    }
  } finally {
    await servers.stopAll();
    rmSync(directory, { recursive: true, force: true });
    for (const signal of ["SIGINT", "SIGTERM"] as const) process.off(signal, stopOnSignal);
  }
}

// The session check side by side (bench/session-check.ts): alone with `--session-check-only`.
if (process.argv.includes("--session-check-only")) {
  await runSessionCheckBench("npm run bench -- --session-check-only");
  process.exit(0);
}
// The generator's part (bench/generator.ts, in this process) and the scale part (bench/scale.ts)
// run after the phases above, or alone with `--generator-only` / `--scale-only`.
const scaleOnly = process.argv.includes("--scale-only");
const generatorOnly = process.argv.includes("--generator-only");
if (process.argv.includes("--strength-only")) {
  await strengthOnly();
  process.exit(0);
}
if (!scaleOnly && !generatorOnly) {
  await main();
  await runSessionCheckBench(
    process.argv.includes("--no-scale") ? "npm run bench -- --no-scale" : "npm run bench",
  );
}
if (!scaleOnly) runGeneratorBench(generatorOnly ? "npm run bench -- --generator-only" : "npm run bench");
// `--no-scale`: the first two parts only (the scale part takes six minutes and a PostgreSQL).
const noScale = process.argv.includes("--no-scale");
if (!generatorOnly && !noScale)
  await runScaleBench(scaleOnly ? "npm run bench -- --scale-only" : "npm run bench");
