/**
 * The report of the phases (bench/phases.ts): each figure against its target in the summary, the
 * phases in detail, and the notes that say how they were measured. bench/report.ts renders it.
 */
import type { PhaseResults } from "./phases.ts";
import { formatNumber, machineLine, type Report, type SummaryRow, verdict } from "./report.ts";
import type { ResetTiming } from "./reset-timing.ts";
import {
  checkConnections,
  cores,
  healthzP50UnderStrengthBurstMs,
  host,
  mixedCheckRate,
  patience,
  productionHashing,
  rssLimitMiB,
  seededAccounts,
  sessionCount,
  sessionP99Ms,
  sessionP99UnderSignInsMs,
  sessionShareOfBaseline,
  settleSeconds,
  signInConnections,
  signInShareOfLimit,
  signInWarmupSeconds,
  strengthBurstConnections,
  strengthBurstPasswordLength,
  warmupSeconds,
} from "./settings.ts";
import type { RunRecord } from "./shared-machine.ts";
import type { StrengthBurst } from "./strength-burst.ts";

/** Each figure of the phases against its target (the project's performance issue). */
function summaryRows(m: PhaseResults): SummaryRow[] {
  const { bare, check, hashing, signIns, mixedChecks, memory } = m;
  const share = check.okPerSecond / bare.okPerSecond;
  const signInShare = signIns.okPerSecond / hashing.limitPerSecond;
  return [
    {
      figure: `bare node:http, fixed JSON, ${checkConnections} connections`,
      measured: `${formatNumber(bare.okPerSecond)} req/s`,
      target: "yardstick",
      versus: "",
      verdict: "",
    },
    {
      figure: `GET /api/v1/session (valid cookie), ${checkConnections} connections`,
      measured: `${formatNumber(check.okPerSecond)} req/s`,
      target: `≥ ${sessionShareOfBaseline * 100}% of bare (${formatNumber(bare.okPerSecond * sessionShareOfBaseline)} req/s)`,
      versus: `${(share * 100).toFixed(1)}% of bare = ${(share / sessionShareOfBaseline).toFixed(2)}× the target`,
      verdict: verdict(share >= sessionShareOfBaseline),
    },
    {
      figure: `GET /api/v1/session p99, ${checkConnections} connections`,
      measured: `${check.latencyMs.p99} ms`,
      target: `< ${sessionP99Ms} ms`,
      versus: `${(check.latencyMs.p99 / sessionP99Ms).toFixed(2)}× the limit`,
      verdict: verdict(check.latencyMs.p99 < sessionP99Ms),
    },
    {
      figure: `argon2id verify (m=${productionHashing.memoryKib} KiB, t=${productionHashing.iterations}, p=1)`,
      measured: `${hashing.verifyMs.toFixed(2)} ms`,
      target: `median of ${hashing.samples}, one at a time`,
      versus: "",
      verdict: "",
    },
    {
      figure: `password-hash limit (${cores} cores / verify time)`,
      measured: `${formatNumber(hashing.limitPerSecond)} /s`,
      target: `reference: ${cores} verifies side by side gave ${formatNumber(hashing.parallelPerSecond)} /s`,
      versus: "",
      verdict: "",
    },
    {
      figure: `POST /api/v1/sign-in, ${signInConnections} connections`,
      measured: `${formatNumber(signIns.okPerSecond)} /s`,
      target: `≥ ${signInShareOfLimit * 100}% of the limit (${formatNumber(hashing.limitPerSecond * signInShareOfLimit)} /s)`,
      versus: `${(signInShare * 100).toFixed(1)}% of the limit = ${(signInShare / signInShareOfLimit).toFixed(2)}× the target (${((signIns.okPerSecond / hashing.parallelPerSecond) * 100).toFixed(0)}% of the side-by-side verify rate)`,
      verdict: verdict(signInShare >= signInShareOfLimit),
    },
    {
      figure: `GET /api/v1/session p99 while sign-ins saturate the CPU (${mixedCheckRate}/s)`,
      measured: `${mixedChecks.latencyMs.p99} ms`,
      target: `< ${sessionP99UnderSignInsMs} ms`,
      versus: `${(mixedChecks.latencyMs.p99 / sessionP99UnderSignInsMs).toFixed(2)}× the limit`,
      verdict: verdict(mixedChecks.latencyMs.p99 < sessionP99UnderSignInsMs),
    },
    {
      figure: "Mamori RSS after the runs (VmRSS)",
      measured: `${memory.rssMiB.toFixed(1)} MiB`,
      target: `< ${rssLimitMiB} MiB`,
      versus: `${(memory.rssMiB / rssLimitMiB).toFixed(2)}× the limit (peak VmHWM ${memory.peakRssMiB.toFixed(1)} MiB)`,
      verdict: verdict(memory.rssMiB < rssLimitMiB),
    },
    strengthBurstRow(m.strengthBurst),
  ];
}

/** /healthz's median while one client bursts strength checks (issue 15, point 5). */
export function strengthBurstRow(burst: StrengthBurst): SummaryRow {
  const p50 = burst.healthz.latencyMs.p50;
  return {
    figure: `GET /healthz p50 during a burst of strength checks (${strengthBurstConnections} connections, ${strengthBurstPasswordLength}-character random passwords, one client)`,
    measured: `${p50} ms`,
    target: `< ${healthzP50UnderStrengthBurstMs} ms`,
    versus: `${(p50 / healthzP50UnderStrengthBurstMs).toFixed(2)}× the limit (p99 ${burst.healthz.latencyMs.p99} ms; ${formatNumber(burst.strength.okPerSecond)} checks/s answered)`,
    verdict: verdict(p50 < healthzP50UnderStrengthBurstMs),
  };
}

/** Timing of "forgot password" for an existing vs an unknown email (the recovery issue's bench). */
function resetTimingRow(resetTiming: ResetTiming): SummaryRow {
  return {
    figure: "POST /api/v1/password-resets, median server time: existing vs unknown email (200 each)",
    measured: `${resetTiming.existing.medianMs.toFixed(3)} ms vs ${resetTiming.unknown.medianMs.toFixed(3)} ms`,
    target: "differ by < 1 ms",
    versus: `${resetTiming.medianDifferenceMs.toFixed(3)} ms apart`,
    verdict: verdict(resetTiming.medianDifferenceMs < 1),
  };
}

/** How the figures were measured, and what on the machine may have disturbed them. */
function notes(m: PhaseResults, resetTiming: ResetTiming, run: RunRecord): string[] {
  const { waits, retried } = run;
  const busyPhases = m.phases
    .filter((phase) => phase.otherCores >= 0.25)
    .map((phase) => `${phase.phase} (${phase.otherCores.toFixed(2)})`);
  return [
    `${seededAccounts} seeded accounts; sign-ins go round-robin over them with the right password (${m.signInsSent} sign-ins in all).`,
    `Session checks use ${sessionCount} sessions from real sign-ins, one per connection; on SQLite the server answers them from its session cache (src/session/session-cache.ts; the row is read again after any write to a session or an account, or a commit by another process, which PRAGMA data_version shows, read once per event-loop turn), and before Fastify (src/session/session-fast-path.ts, as LOG_LEVEL=warn allows).`,
    "Latencies are autocannon's (whole milliseconds); the paced session check in the mixed phase and the paced /healthz of the strength burst report raw latencies (no coordinated-omission correction).",
    "The strength burst runs on a Mamori of its own (fresh SQLite file) with MAMORI_PASSWORD_STRENGTH_CHECKS_PER_IP_PER_MINUTE at its maximum, so checks run for the whole measurement; its 429s are the queue's (an address may have four checks waiting, src/passwords/strength-queue.ts).",
    `Warm-up before each measured run: ${warmupSeconds} s for the GET runs, ${signInWarmupSeconds} s for sign-ins; RSS is read ${settleSeconds} s after the last run.`,
    ...(retried.length > 0
      ? [
          `Measured twice because other processes disturbed the first try (the less disturbed kept): ${retried.join(", ")}.`,
        ]
      : []),
    `Other processes used ${m.hashingCpu.otherCores.toFixed(2)} cores while argon2id was timed.`,
    `Password reset timing (bench/reset-timing.ts, in the bench process through inject(), so no network noise): existing p10/p90 ${resetTiming.existing.p10Ms.toFixed(3)}/${resetTiming.existing.p90Ms.toFixed(3)} ms, unknown ${resetTiming.unknown.p10Ms.toFixed(3)}/${resetTiming.unknown.p90Ms.toFixed(3)} ms, interleaved.`,
    `Before each measurement the bench waited for a quiet machine (other processes under 0.2 cores for 2 s, at most ${patience.quietWaitSeconds} s each, ${patience.totalWaitSeconds} s in all): ${waits.map((w) => w.toFixed(0)).join(", ")} s; the whole run took ${run.elapsedSeconds.toFixed(0)} s.`,
    ...(busyPhases.length > 0
      ? [
          `Other processes used at least 0.25 cores during: ${busyPhases.join("; ")}. Those figures are lower than this machine gives on its own.`,
        ]
      : []),
  ];
}

/** The report of the phases, with the reset timing's row last in the summary. */
export function buildReport(
  startedAt: Date,
  command: string,
  measured: PhaseResults,
  resetTiming: ResetTiming,
  run: RunRecord,
): Report {
  return {
    startedAt,
    command,
    machine: [
      machineLine(cores),
      `Node ${process.version}; autocannon in the bench process; servers on ${host}`,
    ],
    summary: [...summaryRows(measured), resetTimingRow(resetTiming)],
    phases: measured.phases,
    notes: notes(measured, resetTiming, run),
  };
}
