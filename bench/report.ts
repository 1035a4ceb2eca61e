import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { release, totalmem } from "node:os";

/** A line of the bench's progress on the terminal. */
export function log(message: string): void {
  process.stdout.write(`${message}\n`);
}

export type Verdict = "PASS" | "FAIL" | "";

export function verdict(pass: boolean): "PASS" | "FAIL" {
  return pass ? "PASS" : "FAIL";
}

/** One line of the summary: a figure, its target, how far from it, and the verdict. */
export type SummaryRow = {
  figure: string;
  measured: string;
  target: string;
  versus: string;
  verdict: Verdict;
};

/** One measured phase in detail: the load and where the CPU went. */
export type PhaseRow = {
  phase: string;
  load: string;
  seconds: number;
  okPerSecond: number;
  p50: number;
  p99: number;
  max: number;
  serverCores: number;
  benchCores: number;
  otherCores: number;
};

export type Report = {
  startedAt: Date;
  machine: string[];
  summary: SummaryRow[];
  phases: PhaseRow[];
  notes: string[];
  command: string;
};

const summaryHeader = ["Figure", "Measured", "Target", "Measured vs target", "Result"];
const phaseHeader = [
  "Phase",
  "Load",
  "s",
  "2xx/s",
  "p50 ms",
  "p99 ms",
  "max ms",
  "server CPU",
  "load-gen CPU",
  "other CPU",
];

function summaryCells(row: SummaryRow): string[] {
  return [row.figure, row.measured, row.target, row.versus, row.verdict];
}

function phaseCells(row: PhaseRow): string[] {
  const cores = (v: number): string => `${v.toFixed(2)} cores`;
  return [
    row.phase,
    row.load,
    row.seconds.toFixed(1),
    formatNumber(row.okPerSecond),
    String(row.p50),
    String(row.p99),
    String(row.max),
    cores(row.serverCores),
    cores(row.benchCores),
    cores(row.otherCores),
  ];
}

export function formatNumber(value: number): string {
  return value >= 100 ? Math.round(value).toLocaleString("en-US") : value.toFixed(1);
}

function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ");
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

function markdownTable(header: string[], rows: string[][]): string {
  const escapeCell = (cell: string): string => cell.replaceAll("|", "\\|");
  const line = (cells: string[]): string => `| ${cells.map(escapeCell).join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/** The report for the terminal. */
export function renderText(report: Report): string {
  return [
    "",
    ...report.machine,
    "",
    textTable(summaryHeader, report.summary.map(summaryCells)),
    "",
    textTable(phaseHeader, report.phases.map(phaseCells)),
    "",
    ...report.notes.map((n) => `- ${n}`),
    "",
  ].join("\n");
}

function dayOf(date: Date): string {
  return date.toISOString().slice(0, 10);
}

function sectionMarkers(day: string): { open: string; close: string } {
  return { open: `<!-- bench-run ${day} -->`, close: `<!-- /bench-run ${day} -->` };
}

/** The dated section of docs/benchmarks.md for this run. */
export function renderMarkdown(report: Report): string {
  const day = dayOf(report.startedAt);
  const { open, close } = sectionMarkers(day);
  const time = report.startedAt.toISOString().slice(11, 16);
  return [
    open,
    `## ${day} (run at ${time} UTC)`,
    "",
    `Command: \`${report.command}\``,
    "",
    ...report.machine.map((m) => `- ${m}`),
    "",
    markdownTable(summaryHeader, report.summary.map(summaryCells)),
    "",
    markdownTable(phaseHeader, report.phases.map(phaseCells)),
    "",
    ...report.notes.map((n) => `- ${n}`),
    close,
  ].join("\n");
}

const preamble = `# Benchmarks

Measured by \`npm run bench\` (\`bench/run.ts\`), never in timed tests: first the phases below (about a
minute and a half), then the scale part (\`bench/scale.ts\`, about six minutes more).
\`npm run bench -- --scale-only\` runs the scale part alone. Each run adds a dated section below, or
replaces the section of the same day (a scale-only run replaces only the day's scale results); this
introduction is rewritten by every run.

How a run works:

- Each server runs in its own process; the load generator (autocannon, programmatic) runs in the
  bench process, on loopback. The machine's cores are shared by all three, so the figures are
  what one small box does with the load generator on it, not the server alone.
- The baseline is a bare \`node:http\` server answering a fixed JSON body of the size of a
  \`GET /api/v1/session\` answer (\`bench/baseline-server.ts\`).
- Mamori runs as \`node src/main.ts\` with the environment and Node flags of \`npm start\`
  (\`MALLOC_ARENA_MAX=2\`, \`NODE_COMPILE_CACHE\`, \`--max-semi-space-size=4\`, since 2026-11-25;
  \`--no-maglev\` since 2026-11-26;
  one start and stop fills the compile cache first, as any start after the first finds it), \`NODE_ENV=development\`, \`LOG_LEVEL=warn\`, a fresh
  SQLite file (WAL) and the production argon2id parameters (m=19456 KiB, t=2, p=1, the defaults).
  Accounts are seeded into the file with the project's own \`insertAccount\` and \`hashPassword\`
  before the server starts; the session cookies come from real sign-ins through the API.
- Each measured run follows a warm-up of the same load. Sign-ins use the right password, round-robin
  over the seeded accounts (the sign-in limits count failures only).
- The password-hash limit is cores / the median time of one argon2id verify, measured in the
  bench process while the server is idle, in the same run. The "side by side" figure is what
  \`cores\` verifies running at once actually give on the machine.
- The mixed run paces session checks at a fixed rate while sign-ins keep every core busy.
- The strength burst (\`bench/strength-burst.ts\`; \`npm run bench -- --strength-only\` runs it alone
  and writes nothing): one client sends strength checks of 64-character random passwords on 100
  connections while \`/healthz\` is asked 50 times a second, on a Mamori of its own whose per-minute
  strength limit is at its maximum, so checks run throughout; the figure is \`/healthz\`'s median.
- RSS is the server's VmRSS (/proc/<pid>/status) a couple of seconds after the last run.
- "other CPU" is what processes outside the bench used during a phase: when it is not near zero,
  something else was running on the machine and the figures are low. Before each measurement the
  bench waits (a bounded time) for the rest of the machine to go quiet.

How the session check side by side works (issue 21, \`bench/session-check.ts\`, after the phases;
\`npm run bench -- --session-check-only\` runs it alone):

- In one run, \`GET /api/v1/session/check\` with a session cookie over 10 connections (8 s after a
  3 s warm-up) against the bare \`node:http\` yardstick, Mamori on SQLite (\`LOG_LEVEL\` warn and
  info), and Mamori on a throwaway PostgreSQL 15 (one process at warn and info, and
  \`mamori serve --workers 2\`); 200 seeded accounts, sessions from real sign-ins.
- PostgreSQL's CPU is the postmaster's and all its backends' (/proc/<pid>/stat) before and after
  each run; per 1,000 checks it is that CPU time divided by the checks answered, set beside the
  figure before the PostgreSQL session cache (2026-11-25: 0.78 cores at 6,177 checks/s).
- This part does not wait for a quiet machine: "other CPU" says how busy the machine was.

How the scale part works (the issue "Beyond one machine"):

- 1,000 and 1,000,000 accounts are seeded in SQL (\`bench/scale-seed.ts\`: a recursive CTE on
  SQLite, INSERT … SELECT from generate_series on PostgreSQL), with the rows \`insertAccount\`
  writes (account and password_history) and one precomputed argon2id hash (production parameters).
  PostgreSQL 15 is a throwaway server on loopback (\`test/support/postgres.ts\`).
- A Mamori process (\`node src/main.ts\`) serves each database; the 1k and 1M servers are measured
  in turns (1k, 1M, 1M, 1k halves, pooled): session checks over 10 connections, and sign-ins one at
  a time at most 50/s (latency, not queueing). A figure at 1M may be at most 20% worse than at 1k.
  Latencies are kept per answer, to the hundredth of a millisecond.
- Database size per account: the SQLite file and WAL after a checkpoint, or pg_database_size,
  divided by the accounts.
- The mixed load (90% session checks, 8% sign-ins, 2% password resets, a closed loop over 10
  connections, 60 s) runs against \`mamori serve --workers 2\` on PostgreSQL and one process on
  SQLite, both with 1M accounts; every answer must have the expected status. The reset and
  sign-in-failure limits are raised for it (the notes say which), or one address asking thousands
  of times a minute would get 429s.
`;

/** The file with this bench's introduction and every run section kept (the introduction is rewritten). */
function withPreamble(path: string): string {
  const previous = existsSync(path) ? readFileSync(path, "utf8") : "";
  // Everything from the first run section on is kept; the introduction before it is this bench's.
  const firstRun = previous.indexOf("<!-- bench-run ");
  return `${preamble}\n${firstRun >= 0 ? previous.slice(firstRun) : ""}`;
}

/**
 * Adds the run's section to docs/benchmarks.md, replacing a section of the same day; the day's
 * blocks of the other parts (scale, generator) are kept, for a run may leave them out.
 */
export function writeMarkdown(path: string, report: Report): void {
  let section = renderMarkdown(report);
  const { open, close } = sectionMarkers(dayOf(report.startedAt));
  const existing = withPreamble(path);
  const start = existing.indexOf(open);
  const end = existing.indexOf(close);
  if (start >= 0 && end > start) {
    const kept =
      existing
        .slice(start, end)
        .match(/<!-- (bench-[a-z]+) \d{4}-\d\d-\d\d -->[\s\S]*?<!-- \/\1 \d{4}-\d\d-\d\d -->/g) ?? [];
    if (kept.length > 0) section = section.replace(close, `${kept.join("\n\n")}\n${close}`);
  }
  const next =
    start >= 0 && end > start
      ? `${existing.slice(0, start)}${section}${existing.slice(end + close.length)}`
      : `${existing.trimEnd()}\n\n${section}\n`;
  writeFileSync(path, next);
}

/** A table of the scale bench (bench/scale.ts). */
export type ExtraTable = { title: string; header: string[]; rows: string[][] };

export type ScaleReport = {
  startedAt: Date;
  command: string;
  machine: string[];
  tables: ExtraTable[];
  notes: string[];
};

export function renderScaleText(report: ScaleReport): string {
  return [
    "",
    ...report.machine,
    ...report.tables.flatMap((table) => ["", table.title, "", textTable(table.header, table.rows)]),
    "",
    ...report.notes.map((n) => `- ${n}`),
    "",
  ].join("\n");
}

/** A part of the bench that writes its own block into the day's section (scale, generator). */
export type BlockKind = { marker: string; heading: string };

export const scaleBlock: BlockKind = {
  marker: "bench-scale",
  heading: "Scale: 1,000 vs 1,000,000 accounts, and the mixed load",
};

function blockMarkers(kind: BlockKind, day: string): { open: string; close: string } {
  return { open: `<!-- ${kind.marker} ${day} -->`, close: `<!-- /${kind.marker} ${day} -->` };
}

function renderBlockMarkdown(report: ScaleReport, kind: BlockKind): string {
  const { open, close } = blockMarkers(kind, dayOf(report.startedAt));
  const time = report.startedAt.toISOString().slice(11, 16);
  return [
    open,
    `### ${kind.heading} (run at ${time} UTC)`,
    "",
    `Command: \`${report.command}\``,
    "",
    ...report.machine.map((m) => `- ${m}`),
    ...report.tables.flatMap((table) => [
      "",
      `**${table.title}**`,
      "",
      markdownTable(table.header, table.rows),
    ]),
    "",
    ...report.notes.map((n) => `- ${n}`),
    close,
  ].join("\n");
}

/**
 * Puts a block's results into the day's section of docs/benchmarks.md: replacing the day's earlier
 * block of that kind, else at the end of the day's section, else in a new section for the day.
 */
export function writeScaleMarkdown(path: string, report: ScaleReport, kind: BlockKind = scaleBlock): void {
  const day = dayOf(report.startedAt);
  const block = renderBlockMarkdown(report, kind);
  const markers = blockMarkers(kind, day);
  const section = sectionMarkers(day);
  const existing = withPreamble(path);
  const blockStart = existing.indexOf(markers.open);
  const blockEnd = existing.indexOf(markers.close);
  const sectionEnd = existing.indexOf(section.close);
  let next: string;
  if (blockStart >= 0 && blockEnd > blockStart) {
    next = `${existing.slice(0, blockStart)}${block}${existing.slice(blockEnd + markers.close.length)}`;
  } else if (sectionEnd >= 0) {
    next = `${existing.slice(0, sectionEnd)}\n${block}\n${existing.slice(sectionEnd)}`;
  } else {
    const heading = `## ${day} (run at ${report.startedAt.toISOString().slice(11, 16)} UTC)`;
    next = `${existing.trimEnd()}\n\n${section.open}\n${heading}\n\n${block}\n${section.close}\n`;
  }
  writeFileSync(path, next);
}

/** The machine a report's figures come from: its cores, processor, memory and kernel. */
export function machineLine(cores: number): string {
  return `Machine: ${cores} cores (${cpuModel()}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Linux ${release()}`;
}

/** The processor's model name, as /proc/cpuinfo gives it. */
function cpuModel(): string {
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    return match?.[1]?.trim() ?? "unknown CPU";
  } catch {
    return "unknown CPU";
  }
}
