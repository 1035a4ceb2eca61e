/**
 * The session check side by side (issue 21), a part of `npm run bench` (after the phases), or alone
 * with `npm run bench -- --session-check-only`: on the same machine, the forward-auth check
 * `GET /api/v1/session/check` with a session cookie over 10 connections against
 *
 * 1. a bare node:http server with a fixed JSON body (bench/baseline-server.ts), the yardstick;
 * 2. Mamori on a SQLite file (LOG_LEVEL warn, then info, the default), and with `--workers 2` (warn),
 *    to tell what two workers cost on two cores from what PostgreSQL costs;
 * 3. Mamori on PostgreSQL, one process (warn, then info), and `mamori serve --workers 2` (warn);
 *
 * with the CPU of every process read from /proc before and after: the server's tree,
 * PostgreSQL's (the postmaster and its backends), the load generator's (this process) and the rest
 * of the machine's. PostgreSQL's CPU per 1,000 checks is its CPU time divided by the checks answered.
 *
 * A shared machine's speed drifts by a fifth within a minute (measured: bare node:http at 29,000
 * and then 20,000 a second, five seconds apart). So every server is started at once, and each
 * Mamori measurement is five one-second slices taken in turn with five of bare node:http: the share
 * of bare is taken within that pair, and the table shows the pair with the median share of `rounds`
 * (3). The servers write their log to files, as `npm start >> mamori.log` would, not to a pipe this
 * process reads: the load generator is this process, and reading a log line per request took its
 * time from the requests it measured. The figures are written into the day's section of docs/benchmarks.md.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestDatabase } from "../test/support/postgres.ts";
import { assertAllOk, type LoadResult, runLoad } from "./load.ts";
import type { ServerProcess } from "./processes.ts";
import {
  type BlockKind,
  formatNumber,
  log,
  machineLine,
  renderScaleText,
  writeScaleMarkdown,
} from "./report.ts";
import { type TreeCpu, TreeCpuMeter } from "./scale-processes.ts";
import { ScaleServers } from "./scale-servers.ts";
import { benchEmail, benchPassword, seedAccounts } from "./seed.ts";
import {
  checkConnections,
  cores,
  host,
  productionHashing,
  root,
  sessionShareOfBaseline,
} from "./settings.ts";

const block: BlockKind = {
  marker: "bench-session-check",
  heading: "Session check side by side: bare node:http, SQLite, PostgreSQL (issue 21)",
};
const accounts = 200;
const warmupSeconds = 3;
/** A measurement: this many slices of a second, taken in turn with bare node:http's. */
const slices = 5;
const rounds = 3;
const path = "/api/v1/session/check";
// The figure before the PostgreSQL session cache (docs/benchmarks.md, 2026-11-25's scale run):
// PostgreSQL used 0.78 cores while one Mamori process answered 6,177 session checks a second.
const earlierPostgresCpuMsPerThousand = (0.78 / 6_177) * 1_000_000;
const postgresCpuTarget = 5;

type Target = {
  name: string;
  server: ServerProcess;
  cookies: readonly string[];
  database?: number;
};
type Measurement = { result: LoadResult; cpu: TreeCpu };
/** One round of a Mamori server: its measurement and bare node:http's just before it. */
type Pair = { bare: Measurement; mamori: Measurement; share: number };

async function cookiesFor(url: string, count: number): Promise<string[]> {
  const cookies: string[] = [];
  for (let i = 0; i < count; i++) {
    const response = await fetch(`${url}/api/v1/sign-in`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ identifier: benchEmail(i), password: benchPassword }),
      signal: AbortSignal.timeout(60_000),
    });
    const cookie = response.headers
      .getSetCookie()
      .map((line) => line.split(";")[0] ?? "")
      .find((pair) => pair.startsWith("mamori_session="));
    if (response.status !== 200 || !cookie) throw new Error(`sign-in ${i}: ${response.status}`);
    cookies.push(cookie);
  }
  return cookies;
}

function loadOptions(target: Target, durationSeconds: number, title = target.name) {
  return {
    title,
    url: target.server.url,
    path,
    connections: checkConnections,
    headersPerConnection: target.cookies.map((cookie) => ({ cookie })),
    durationSeconds,
  };
}

/** One second of load on `target`, with the CPU it took. */
async function slice(target: Target, idle: readonly number[]): Promise<Measurement> {
  const meter = new TreeCpuMeter(cores, { server: target.server.pid, database: target.database, idle });
  const result = await runLoad(loadOptions(target, 1));
  const cpu = meter.read();
  assertAllOk(result);
  return { result, cpu };
}

/** Slices as one measurement: answers and time summed, CPU weighted by time, latencies their median. */
function combined(parts: readonly Measurement[]): Measurement {
  const first = parts[0];
  if (!first) throw new Error("no slice");
  const seconds = parts.reduce((sum, part) => sum + part.result.durationSeconds, 0);
  const ok = parts.reduce((sum, part) => sum + part.result.ok, 0);
  const weighted = (value: (part: Measurement) => number): number =>
    parts.reduce((sum, part) => sum + value(part) * part.result.durationSeconds, 0) / seconds;
  const latency = (key: keyof LoadResult["latencyMs"]): number =>
    median(parts, (part) => part.result.latencyMs[key]).result.latencyMs[key];
  return {
    result: {
      ...first.result,
      durationSeconds: seconds,
      ok,
      okPerSecond: ok / seconds,
      notOk: parts.reduce((sum, part) => sum + part.result.notOk, 0),
      errors: parts.reduce((sum, part) => sum + part.result.errors, 0),
      latencyMs: {
        p50: latency("p50"),
        p90: latency("p90"),
        p99: latency("p99"),
        max: Math.max(...parts.map((part) => part.result.latencyMs.max)),
        mean: weighted((part) => part.result.latencyMs.mean),
      },
    },
    cpu: {
      serverCores: weighted((part) => part.cpu.serverCores),
      serverProcessCores: first.cpu.serverProcessCores.map((_, i) =>
        weighted((part) => part.cpu.serverProcessCores[i] ?? 0),
      ),
      databaseCores: weighted((part) => part.cpu.databaseCores),
      benchCores: weighted((part) => part.cpu.benchCores),
      otherCores: weighted((part) => part.cpu.otherCores),
    },
  };
}

/**
 * Bare node:http and `target` in turn, a second each, `slices` times: both see the same drift of
 * the machine's speed, which two measurements one after the other would not.
 */
async function measurePair(bare: Target, target: Target, idle: (target: Target) => number[]): Promise<Pair> {
  const bareParts: Measurement[] = [];
  const parts: Measurement[] = [];
  for (let i = 0; i < slices; i++) {
    bareParts.push(await slice(bare, idle(bare)));
    parts.push(await slice(target, idle(target)));
  }
  const bareRun = combined(bareParts);
  const run = combined(parts);
  return { bare: bareRun, mamori: run, share: run.result.okPerSecond / bareRun.result.okPerSecond };
}

/** PostgreSQL's CPU time per 1,000 answered checks, in milliseconds. */
function postgresCpuMsPerThousand(measurement: Measurement): number {
  const { cpu, result } = measurement;
  return ((cpu.databaseCores * result.durationSeconds) / result.ok) * 1_000_000;
}

/** The middle value's item (of an odd count; the lower middle of an even one). */
function median<T>(items: readonly T[], by: (item: T) => number): T {
  const sorted = [...items].sort((a, b) => by(a) - by(b));
  const middle = sorted[Math.floor((sorted.length - 1) / 2)];
  if (middle === undefined) throw new Error("no measurement");
  return middle;
}

export async function runSessionCheckBench(command: string): Promise<void> {
  const startedAt = new Date();
  const directory = mkdtempSync(join(tmpdir(), "mamori-bench-check-"));
  const servers = new ScaleServers({ logDirectory: directory });
  const stop = (): void => {
    servers.killLeftovers();
    process.exit(130);
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, stop);
  const pairs = new Map<string, Pair[]>();
  let targets: Target[] = [];
  try {
    log("session check side by side: bare node:http, SQLite, PostgreSQL (every server started first)");
    const bare: Target = {
      name: "bare node:http, fixed JSON",
      server: await servers.startBaseline(join(root, "bench/baseline-server.ts")),
      cookies: [],
    };
    const sqliteUrl = `sqlite:${join(directory, "check.db")}`;
    await seedAccounts(sqliteUrl, accounts, productionHashing);
    const postgresUrl = await createTestDatabase(await servers.startPostgres());
    await seedAccounts(postgresUrl, accounts, productionHashing);
    const postmaster = await servers.adoptPostgres(postgresUrl);
    const mamori = async (
      name: string,
      key: string,
      url: string,
      workers: number,
      level: "warn" | "info",
      database?: number,
    ): Promise<Target> => {
      const server = await servers.startMamori(key, url, workers, { LOG_LEVEL: level });
      const cookies = await cookiesFor(server.url, checkConnections);
      return database === undefined ? { name, server, cookies } : { name, server, cookies, database };
    };
    targets = [
      await mamori("SQLite, 1 process, LOG_LEVEL=warn", "sqlite-warn", sqliteUrl, 1, "warn"),
      await mamori("SQLite, 1 process, LOG_LEVEL=info", "sqlite-info", sqliteUrl, 1, "info"),
      await mamori("SQLite, --workers 2, LOG_LEVEL=warn", "sqlite-2-warn", sqliteUrl, 2, "warn"),
      await mamori(
        "PostgreSQL, 1 process, LOG_LEVEL=warn",
        "postgres-1-warn",
        postgresUrl,
        1,
        "warn",
        postmaster,
      ),
      await mamori(
        "PostgreSQL, 1 process, LOG_LEVEL=info",
        "postgres-1-info",
        postgresUrl,
        1,
        "info",
        postmaster,
      ),
      await mamori(
        "PostgreSQL, --workers 2, LOG_LEVEL=warn",
        "postgres-2-warn",
        postgresUrl,
        2,
        "warn",
        postmaster,
      ),
    ];
    for (const target of [bare, ...targets]) {
      log(`  ${target.name}: warming up (${warmupSeconds} s)`);
      assertAllOk(await runLoad(loadOptions(target, warmupSeconds, `${target.name} (warm-up)`)));
    }
    for (let round = 1; round <= rounds; round++) {
      for (const target of targets) {
        const pair = await measurePair(bare, target, (t) => servers.idleBesides(t.server));
        log(
          `  round ${round}/${rounds}: ${target.name}: ${formatNumber(Math.round(pair.mamori.result.okPerSecond))}/s, bare ${formatNumber(Math.round(pair.bare.result.okPerSecond))}/s: ${(pair.share * 100).toFixed(1)}%`,
        );
        pairs.set(target.name, [...(pairs.get(target.name) ?? []), pair]);
      }
    }
  } finally {
    await servers.stopEverything();
    rmSync(directory, { recursive: true, force: true });
    for (const signal of ["SIGINT", "SIGTERM"] as const) process.off(signal, stop);
  }

  const chosen = targets.map((target) => {
    const all = pairs.get(target.name) ?? [];
    return { target, all, pair: median(all, (pair) => pair.share) };
  });
  const allBare = chosen.flatMap(({ all }) => all.map((pair) => pair.bare));
  const bareRow = median(allBare, (measurement) => measurement.result.okPerSecond);
  const isPostgres = (name: string): boolean => name.startsWith("PostgreSQL");
  const row = (name: string, measurement: Measurement, share: string, shares: string): string[] => [
    name,
    formatNumber(Math.round(measurement.result.okPerSecond)),
    share,
    shares,
    String(measurement.result.latencyMs.p50),
    String(measurement.result.latencyMs.p99),
    `${measurement.cpu.serverCores.toFixed(2)} cores`,
    isPostgres(name) ? `${measurement.cpu.databaseCores.toFixed(2)} cores` : "",
    isPostgres(name) ? `${postgresCpuMsPerThousand(measurement).toFixed(1)} ms` : "",
    `${measurement.cpu.benchCores.toFixed(2)} cores`,
    `${measurement.cpu.otherCores.toFixed(2)} cores`,
  ];
  const header = [
    "Server",
    "2xx/s",
    "of bare",
    "of bare, each round",
    "p50 ms",
    "p99 ms",
    "server CPU",
    "PostgreSQL CPU",
    "PostgreSQL CPU per 1,000 checks",
    "load-gen CPU",
    "other CPU",
  ];
  const percent = (share: number): string => `${(share * 100).toFixed(1)}%`;
  const table = [
    row(`bare node:http, fixed JSON (median of ${allBare.length})`, bareRow, "100.0%", ""),
    ...chosen.map(({ target, all, pair }) =>
      row(target.name, pair.mamori, percent(pair.share), all.map((p) => percent(p.share)).join(", ")),
    ),
  ];
  const targetsTable = chosen
    .filter(({ target }) => isPostgres(target.name))
    .map(({ target, all, pair }) => {
      const cpuMs = median(all, (p) => postgresCpuMsPerThousand(p.mamori));
      const perThousand = postgresCpuMsPerThousand(cpuMs.mamori);
      const ratio = earlierPostgresCpuMsPerThousand / perThousand;
      return [
        target.name,
        `${percent(pair.share)} of bare (target ≥ ${sessionShareOfBaseline * 100}%)`,
        pair.share >= sessionShareOfBaseline ? "PASS" : "FAIL",
        `${perThousand.toFixed(1)} ms per 1,000 (before: ${earlierPostgresCpuMsPerThousand.toFixed(0)} ms; ${ratio.toFixed(1)}× lower, target ≥ ${postgresCpuTarget}×)`,
        ratio >= postgresCpuTarget ? "PASS" : "FAIL",
      ];
    });
  const report = {
    startedAt,
    command,
    machine: [
      machineLine(cores),
      `Node ${process.version}; autocannon in the bench process; servers and PostgreSQL 15 on ${host}`,
    ],
    tables: [
      {
        title: `GET ${path} with a session cookie, ${checkConnections} connections, ${rounds} rounds of ${slices} one-second slices each`,
        header,
        rows: table,
      },
      {
        title: "Targets (issue 21): the median round",
        header: ["Server", "Speed", "", "PostgreSQL CPU per check", ""],
        rows: targetsTable,
      },
    ],
    notes: [
      `${accounts} accounts seeded with the production argon2id parameters; ${checkConnections} sessions from real sign-ins, one per connection; ${warmupSeconds} s of the same load on each server before the first round.`,
      `Each Mamori measurement is ${slices} one-second slices taken in turn with ${slices} of bare node:http, so both see the same drift of the machine; "of bare" is the share within that pair, and the row is the round with the median share (its other figures are that round's: answers and CPU over its slices, latencies the median slice's). The bare row is the median of its ${allBare.length} measurements.`,
      "Mamori runs as `npm start` runs it (bench/processes.ts), NODE_ENV=development; LOG_LEVEL as named (info is the default: every request logged, here to a file, as `npm start >> mamori.log` would).",
      "PostgreSQL CPU: the postmaster and all its backends (/proc/<pid>/stat utime+stime), before and after the measured run; per 1,000 checks = that CPU time / the checks answered (the target row: the median round).",
      `The earlier figure (${earlierPostgresCpuMsPerThousand.toFixed(0)} ms of PostgreSQL CPU per 1,000 checks) is 2026-11-25's scale run below: 0.78 cores at 6,177 checks/s, without the cache.`,
      '"other CPU": processes outside the bench (other work on the machine, and the kernel\'s own threads) during the measured run; when it is not near zero, the figures are low.',
    ],
  };
  log(renderScaleText(report));
  const docs = join(root, "docs/benchmarks.md");
  writeScaleMarkdown(docs, report, block);
  log(`written to ${docs}`);
}
