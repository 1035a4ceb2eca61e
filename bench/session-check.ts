/**
 * The session check side by side (issue 21), a part of `npm run bench` (after the phases), or alone
 * with `npm run bench -- --session-check-only`: in one run, on the same machine, the forward-auth
 * check `GET /api/v1/session/check` with a session cookie over 10 connections against
 *
 * 1. a bare node:http server with a fixed JSON body (bench/baseline-server.ts), the yardstick;
 * 2. Mamori on a SQLite file (LOG_LEVEL warn, then info, the default);
 * 3. Mamori on PostgreSQL, one process (warn, then info), and `mamori serve --workers 2` (warn);
 *
 * each after a warm-up, with the CPU of every process read from /proc before and after: the
 * server's tree, PostgreSQL's (the postmaster and its backends), the load generator's (this
 * process) and the rest of the machine's. PostgreSQL's CPU per 1,000 checks is its CPU time
 * divided by the checks answered. The figures are written into the day's section of
 * docs/benchmarks.md.
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
const measureSeconds = 8;
const path = "/api/v1/session/check";
// The figure before the PostgreSQL session cache (docs/benchmarks.md, 2026-11-25's scale run):
// PostgreSQL used 0.78 cores while one Mamori process answered 6,177 session checks a second.
const earlierPostgresCpuMsPerThousand = (0.78 / 6_177) * 1_000_000;
const postgresCpuTarget = 5;

type Row = { name: string; result: LoadResult; cpu: TreeCpu };

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

async function measure(
  name: string,
  server: ServerProcess,
  cookies: readonly string[],
  groups: { database?: number; idle: readonly number[] },
): Promise<Row> {
  const options = {
    title: name,
    url: server.url,
    path,
    connections: checkConnections,
    headersPerConnection: cookies.map((cookie) => ({ cookie })),
  };
  log(`  ${name}: warming up (${warmupSeconds} s), then measuring (${measureSeconds} s)`);
  assertAllOk(await runLoad({ ...options, title: `${name} (warm-up)`, durationSeconds: warmupSeconds }));
  const meter = new TreeCpuMeter(cores, { server: server.pid, database: groups.database, idle: groups.idle });
  const result = await runLoad({ ...options, durationSeconds: measureSeconds });
  const cpu = meter.read();
  assertAllOk(result);
  return { name, result, cpu };
}

/** PostgreSQL's CPU time per 1,000 answered checks, in milliseconds. */
function postgresCpuMsPerThousand(row: Row): number {
  return ((row.cpu.databaseCores * row.result.durationSeconds) / row.result.ok) * 1_000_000;
}

export async function runSessionCheckBench(command: string): Promise<void> {
  const startedAt = new Date();
  const servers = new ScaleServers();
  const directory = mkdtempSync(join(tmpdir(), "mamori-bench-check-"));
  const stop = (): void => {
    servers.killLeftovers();
    process.exit(130);
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, stop);
  const rows: Row[] = [];
  try {
    log("session check side by side: bare node:http, SQLite, PostgreSQL");
    const bare = await servers.startBaseline(join(root, "bench/baseline-server.ts"));
    rows.push(await measure("bare node:http, fixed JSON", bare, [], { idle: [] }));
    await servers.stopMamori(bare);

    const sqliteUrl = `sqlite:${join(directory, "check.db")}`;
    await seedAccounts(sqliteUrl, accounts, productionHashing);
    for (const level of ["warn", "info"] as const) {
      const sqlite = await servers.startMamori(`sqlite-${level}`, sqliteUrl, 1, { LOG_LEVEL: level });
      const cookies = await cookiesFor(sqlite.url, checkConnections);
      rows.push(await measure(`SQLite, 1 process, LOG_LEVEL=${level}`, sqlite, cookies, { idle: [] }));
      await servers.stopMamori(sqlite);
    }

    const postgresUrl = await createTestDatabase(await servers.startPostgres());
    await seedAccounts(postgresUrl, accounts, productionHashing);
    const postmaster = await servers.adoptPostgres(postgresUrl);
    for (const [workers, level] of [
      [1, "warn"],
      [1, "info"],
      [2, "warn"],
    ] as const) {
      const name = `PostgreSQL, ${workers === 1 ? "1 process" : "--workers 2"}, LOG_LEVEL=${level}`;
      const server = await servers.startMamori(`postgres-${workers}-${level}`, postgresUrl, workers, {
        LOG_LEVEL: level,
      });
      const cookies = await cookiesFor(server.url, checkConnections);
      rows.push(await measure(name, server, cookies, { database: postmaster, idle: [] }));
      await servers.stopMamori(server);
    }
  } finally {
    await servers.stopEverything();
    rmSync(directory, { recursive: true, force: true });
    for (const signal of ["SIGINT", "SIGTERM"] as const) process.off(signal, stop);
  }

  const bare = rows[0];
  if (!bare) throw new Error("no baseline");
  const share = (row: Row): number => row.result.okPerSecond / bare.result.okPerSecond;
  const header = [
    "Server",
    "2xx/s",
    "of bare",
    "p50 ms",
    "p99 ms",
    "server CPU",
    "PostgreSQL CPU",
    "PostgreSQL CPU per 1,000 checks",
    "load-gen CPU",
    "other CPU",
  ];
  const table = rows.map((row) => [
    row.name,
    formatNumber(Math.round(row.result.okPerSecond)),
    `${(share(row) * 100).toFixed(1)}%`,
    String(row.result.latencyMs.p50),
    String(row.result.latencyMs.p99),
    `${row.cpu.serverCores.toFixed(2)} cores`,
    row.name.startsWith("PostgreSQL") ? `${row.cpu.databaseCores.toFixed(2)} cores` : "",
    row.name.startsWith("PostgreSQL") ? `${postgresCpuMsPerThousand(row).toFixed(1)} ms` : "",
    `${row.cpu.benchCores.toFixed(2)} cores`,
    `${row.cpu.otherCores.toFixed(2)} cores`,
  ]);
  const postgres = rows.filter((row) => row.name.startsWith("PostgreSQL"));
  const targets = postgres.map((row) => {
    const ratio = earlierPostgresCpuMsPerThousand / postgresCpuMsPerThousand(row);
    const fast = share(row) >= sessionShareOfBaseline;
    const lean = ratio >= postgresCpuTarget;
    return [
      row.name,
      `${(share(row) * 100).toFixed(1)}% of bare (target ≥ ${sessionShareOfBaseline * 100}%)`,
      fast ? "PASS" : "FAIL",
      `${postgresCpuMsPerThousand(row).toFixed(1)} ms per 1,000 (before: ${earlierPostgresCpuMsPerThousand.toFixed(0)} ms; ${ratio.toFixed(1)}× lower, target ≥ ${postgresCpuTarget}×)`,
      lean ? "PASS" : "FAIL",
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
        title: `GET ${path} with a session cookie, ${checkConnections} connections, ${measureSeconds} s each`,
        header,
        rows: table,
      },
      {
        title: "Targets (issue 21)",
        header: ["Server", "Speed", "", "PostgreSQL CPU per check", ""],
        rows: targets,
      },
    ],
    notes: [
      `${accounts} accounts seeded with the production argon2id parameters; ${checkConnections} sessions from real sign-ins, one per connection; ${warmupSeconds} s of the same load before each measurement.`,
      "Mamori runs as `npm start` runs it (bench/processes.ts), NODE_ENV=development; LOG_LEVEL as named (info is the default: every request logged, here to a pipe the bench drains).",
      "PostgreSQL CPU: the postmaster and all its backends (/proc/<pid>/stat utime+stime), before and after the measured run; per 1,000 checks = that CPU time / the checks answered.",
      `The earlier figure (${earlierPostgresCpuMsPerThousand.toFixed(0)} ms of PostgreSQL CPU per 1,000 checks) is 2026-11-25's scale run below: 0.78 cores at 6,177 checks/s, without the cache.`,
      '"other CPU": processes outside the bench (other work on the machine) during the measured run; when it is not near zero, the figures are low.',
    ],
  };
  log(renderScaleText(report));
  const docs = join(root, "docs/benchmarks.md");
  writeScaleMarkdown(docs, report, block);
  log(`written to ${docs}`);
}
