import { type ExtraTable, formatNumber, machineLine, type ScaleReport, verdict } from "./report.ts";
import type { KindResult, Latency } from "./scale-load.ts";
import type { SeedResult } from "./scale-seed.ts";
import {
  allowedSlowdown,
  benchLimits,
  checkConnections,
  checkWarmupSeconds,
  cookiePool,
  type Dialect,
  type DialectResult,
  type Kind,
  largeAccounts,
  type Measured,
  mixedConnections,
  mixedSeconds,
  mixedWarmupSeconds,
  type SizeComparison,
  scalePatience,
  signInRate,
  signInWarmupSeconds,
  smallAccounts,
} from "./scale-settings.ts";
import { cores, host, productionHashing } from "./settings.ts";
import type { RunRecord } from "./shared-machine.ts";

function ms(value: number): string {
  return value.toFixed(2);
}

function comparisonRows(comparison: SizeComparison): string[][] {
  const { checks, signIns: signIn, seeds } = comparison;
  const dialect = checks.dialect;
  const lower = (figure: string, small: number, large: number, unit: string): string[] => {
    const ratio = large / small;
    return [
      figure,
      dialect,
      `${formatNumber(small)} ${unit}`,
      `${formatNumber(large)} ${unit}`,
      ratio.toFixed(2),
      `≥ ${(1 - allowedSlowdown).toFixed(2)}`,
      verdict(ratio >= 1 - allowedSlowdown),
    ];
  };
  const latency = (figure: string, small: number, large: number): string[] => {
    const ratio = large / small;
    return [
      figure,
      dialect,
      `${ms(small)} ms`,
      `${ms(large)} ms`,
      ratio.toFixed(2),
      `≤ ${(1 + allowedSlowdown).toFixed(2)}`,
      verdict(ratio <= 1 + allowedSlowdown),
    ];
  };
  const c = (m: Measured): KindResult => kindOf(m, "session check");
  const s = (m: Measured): KindResult => kindOf(m, "sign-in");
  const perAccount = (seed: SeedResult): string => `${formatNumber(seed.bytes / seed.accounts)} B`;
  const marginal = (seeds.large.bytes - seeds.small.bytes) / (seeds.large.accounts - seeds.small.accounts);
  return [
    lower(
      `GET /api/v1/session, ${checkConnections} connections`,
      checks.small.result.okPerSecond,
      checks.large.result.okPerSecond,
      "req/s",
    ),
    latency("GET /api/v1/session p50", c(checks.small).p50, c(checks.large).p50),
    latency("GET /api/v1/session p99", c(checks.small).p99, c(checks.large).p99),
    latency(
      `POST /api/v1/sign-in p50 (one at a time, ≤ ${signInRate}/s)`,
      s(signIn.small).p50,
      s(signIn.large).p50,
    ),
    latency(
      `POST /api/v1/sign-in p99 (one at a time, ≤ ${signInRate}/s)`,
      s(signIn.small).p99,
      s(signIn.large).p99,
    ),
    [
      "Database size per account (after seeding)",
      dialect,
      `${perAccount(seeds.small)} (${mib(seeds.small.bytes)})`,
      `${perAccount(seeds.large)} (${mib(seeds.large.bytes)})`,
      "",
      "reported",
      `each further account: ${formatNumber(marginal)} B`,
    ],
  ];
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

function kindOf(m: Measured, kind: Kind): KindResult {
  const result = m.result.kinds[kind];
  if (!result) throw new Error(`${m.target.name}: no ${kind} answers`);
  return result;
}

function cores2(value: number): string {
  return `${value.toFixed(2)} cores`;
}

function phaseRow(dialect: Dialect, m: Measured): string[] {
  const all: Latency = m.result.all;
  return [
    m.target.name,
    m.result.title,
    m.load,
    m.result.durationSeconds.toFixed(1),
    formatNumber(m.result.okPerSecond),
    ms(all.p50),
    ms(all.p90),
    ms(all.p99),
    ms(all.max),
    cores2(m.cpu.serverCores),
    dialect === "PostgreSQL" ? cores2(m.cpu.databaseCores) : "(in the server)",
    cores2(m.cpu.benchCores),
    cores2(m.cpu.otherCores),
  ];
}

function mixedRows(m: Measured): string[][] {
  const errors = m.result.unexpected + m.result.errors;
  const row = (what: string, count: number, perSecond: number, latency: Latency, wrong: number): string[] => [
    m.target.name,
    what,
    formatNumber(count),
    formatNumber(perSecond),
    ms(latency.p50),
    ms(latency.p99),
    ms(latency.max),
    String(wrong),
  ];
  const unexpectedOf = (k: KindResult): number => Object.values(k.unexpected).reduce((sum, n) => sum + n, 0);
  return [
    [
      ...row("all", m.result.all.count, m.result.okPerSecond, m.result.all, m.result.unexpected),
      String(m.result.errors),
      verdict(errors === 0 && m.result.ok > 0),
    ],
    ...(["session check", "sign-in", "password reset"] as const).map((kind) => {
      const k = kindOf(m, kind);
      return [...row(kind, k.count, k.perSecond, k, unexpectedOf(k)), "", ""];
    }),
  ];
}

export function buildReport(
  startedAt: Date,
  command: string,
  sqlite: DialectResult,
  postgresResult: DialectResult,
  run: RunRecord,
): ScaleReport {
  const { waits, retried } = run;
  const tables: ExtraTable[] = [
    {
      title: `1,000,000 accounts vs 1,000: within ${allowedSlowdown * 100}% (a figure at 1M at most ${allowedSlowdown * 100}% worse)`,
      header: ["Figure", "Database", "1,000 accounts", "1,000,000 accounts", "1M / 1k", "Target", "Result"],
      rows: [...comparisonRows(sqlite.comparison), ...comparisonRows(postgresResult.comparison)],
    },
    {
      title: `Mixed load, ${mixedSeconds} s: 90% session checks, 8% sign-ins, 2% password resets (1M accounts)`,
      header: [
        "Server",
        "Kind",
        "Answers",
        "2xx/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "non-2xx",
        "errors",
        "Result",
      ],
      rows: [...mixedRows(postgresResult.mixed), ...mixedRows(sqlite.mixed)],
    },
    {
      title: "Phases (latencies from every answer, to the hundredth of a millisecond)",
      header: [
        "Server",
        "Run",
        "Load",
        "s",
        "2xx/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "server CPU",
        "PostgreSQL CPU",
        "load-gen CPU",
        "other CPU",
      ],
      rows: [sqlite, postgresResult].flatMap((r) => {
        const dialect = r.comparison.checks.dialect;
        return [
          r.comparison.checks.small,
          r.comparison.checks.large,
          r.comparison.signIns.small,
          r.comparison.signIns.large,
          r.mixed,
        ].map((m) => phaseRow(dialect, m));
      }),
    },
  ];
  const workerSplit = postgresResult.mixed.cpu.serverProcessCores.map((c) => c.toFixed(2)).join(" / ");
  const notes = [
    `Seeding (bench/scale-seed.ts): one SQL statement per table in one transaction (SQLite: a recursive CTE; PostgreSQL: INSERT … SELECT from generate_series), the rows insertAccount writes (an active account with a verified email, and its password_history row), one argon2id hash (m=${productionHashing.memoryKib} KiB, t=${productionHashing.iterations}, p=1) for all; random ids like real ones. SQLite ${formatNumber(largeAccounts)}: ${sqlite.comparison.seeds.large.seconds.toFixed(0)} s; PostgreSQL: ${postgresResult.comparison.seeds.large.seconds.toFixed(0)} s (then VACUUM ANALYZE and CHECKPOINT, what autovacuum would have done by then).`,
    "Size per account: SQLite, the file plus its WAL after a TRUNCATE checkpoint; PostgreSQL, pg_database_size. Divided by the accounts; at 1k the empty schema dominates, so the size each further account adds is given too.",
    `Part 1: the 1k and 1M servers (one process each, node src/main.ts) run side by side and are measured in halves, 1k, 1M, 1M, 1k, each size's two halves pooled (a drift of the machine weighs on both alike); session checks use ${checkConnections} sessions from real sign-ins, one per connection, to accounts spread over the whole range (on SQLite, since 2026-11-26, answered from the session cache after the first read of each, so they no longer measure the database lookup there; PostgreSQL reads every time); sign-ins go to accounts spread over the whole range, never the same twice, one at a time (1 connection) at most ${signInRate}/s, so the latency is a sign-in's own, not queueing. Warm-up before each: ${checkWarmupSeconds} s for the session checks, ${signInWarmupSeconds} s for sign-ins.`,
    "A latency ratio passes at ≤ 1.20 and a throughput ratio at ≥ 0.80: a figure may not be more than 20% worse at 1M; being better is no failure.",
    `Part 2: a closed loop over ${mixedConnections} connections, each next request taken from a fixed cycle of 50 (45 session checks over ${cookiePool} sessions, 4 sign-ins and 1 password reset for accounts spread over the 1M), after a ${mixedWarmupSeconds} s warm-up of the same. Session checks must answer 200, sign-ins 200, resets 202; non-2xx counts every other status, errors are autocannon's (connection errors and timeouts).`,
    `PostgreSQL ran as \`node bin/mamori.js serve --workers 2\` (CPU of the primary / worker / worker: ${workerSplit} cores); SQLite as one \`node src/main.ts\`.`,
    `For the bench, the servers run with ${Object.entries(benchLimits)
      .map(([k, v]) => `${k}=${v}`)
      .join(
        ", ",
      )}: the mixed load sends thousands of resets and sign-ins from 127.0.0.1 in a minute, which the defaults (5 per identifier and 50 per IP an hour for resets) would answer with 429. Throttle counters are in the database (no REDIS_URL).`,
    "PostgreSQL 15 is test/support/postgres.ts's throwaway server: loopback only, fsync, synchronous_commit and full_page_writes off, shared_buffers at its 128 MB default. SQLite: WAL, synchronous=NORMAL, as in production.",
    "Every server, PostgreSQL and the load generator share the machine's cores, so the figures are what one small box does with all of them on it.",
    `Sign-ins (cookies, warm-ups and measured) to the 1k databases: ${sqlite.accountsUsed} on SQLite, ${postgresResult.accountsUsed} on PostgreSQL${Math.max(sqlite.accountsUsed, postgresResult.accountsUsed) > smallAccounts ? " (past 1,000 the same accounts again, whose sign-in context is no longer new: slightly less work than at 1M)" : ", each to a different account, as at 1M"}.`,
    ...(retried.length > 0
      ? [
          `Measured twice because other processes disturbed the first try (the less disturbed kept): ${retried.join("; ")}.`,
        ]
      : []),
    `Before each measurement the bench waited for a quiet machine (at most ${scalePatience.quietWaitSeconds} s each, ${scalePatience.totalWaitSeconds} s in all): ${waits.map((w) => w.toFixed(0)).join(", ")} s; the scale part took ${run.elapsedSeconds.toFixed(0)} s.`,
  ];
  return {
    startedAt,
    command,
    machine: [
      machineLine(cores),
      `Node ${process.version}; autocannon in the bench process; servers and PostgreSQL on ${host}`,
    ],
    tables,
    notes,
  };
}
