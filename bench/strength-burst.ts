/**
 * The strength-burst phase of `npm run bench` (issue 15, point 5): one client sends strength checks
 * of long random passwords on many connections at once, while /healthz is asked at a steady pace;
 * the figure is /healthz's median latency meanwhile. Mamori runs on a fresh SQLite file with the
 * per-minute strength limit at its maximum, so the checks keep running for the whole measurement:
 * what is measured is how zxcvbn's runs share the event loop (src/passwords/strength-queue.ts), not
 * the per-minute limit cutting the burst short.
 */
import { randomInt } from "node:crypto";
import { join } from "node:path";
import { type LoadResult, runLoad } from "./load.ts";
import { CpuMeter } from "./processes.ts";
import { log, type PhaseRow } from "./report.ts";
import type { Servers } from "./servers.ts";
import {
  cores,
  healthzRateDuringBurst,
  strengthBurstConnections,
  strengthBurstPasswordLength,
  strengthBurstSeconds,
} from "./settings.ts";
import type { SharedMachine } from "./shared-machine.ts";

export type StrengthBurst = {
  healthz: LoadResult;
  strength: LoadResult;
  cpu: ReturnType<CpuMeter["read"]>;
};

const printable = Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i)).join("");

function randomPassword(): string {
  return Array.from(
    { length: strengthBurstPasswordLength },
    () => printable[randomInt(printable.length)],
  ).join("");
}

/** Starts its own Mamori in `directory`, measures the burst (once more if disturbed), stops it. */
export async function measureStrengthBurst(
  servers: Servers,
  machine: SharedMachine,
  directory: string,
): Promise<StrengthBurst> {
  log("strength burst: Mamori on a fresh SQLite file, the per-minute strength limit at its maximum");
  const mamori = await servers.startMamori("mamori-strength", `sqlite:${join(directory, "strength.db")}`, {
    env: { MAMORI_PASSWORD_STRENGTH_CHECKS_PER_IP_PER_MINUTE: "100000" },
  });
  try {
    // zxcvbn and its dictionaries load on the first check (about a second): not part of the burst.
    const first = await fetch(`${mamori.url}/api/v1/passwords/strength`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ password: randomPassword() }),
      signal: AbortSignal.timeout(30_000),
    });
    if (first.status !== 200) throw new Error(`the first strength check answered ${first.status}`);
    return await machine.leastDisturbed(
      async () => {
        await machine.quiet();
        log(
          `  measuring: ${strengthBurstConnections} connections of strength checks + /healthz at ${healthzRateDuringBurst}/s (${strengthBurstSeconds} s)`,
        );
        const meter = new CpuMeter(cores, mamori.pid);
        const [strength, healthz] = await Promise.all([
          runLoad({
            title: "POST /api/v1/passwords/strength (burst)",
            url: mamori.url,
            path: "/api/v1/passwords/strength",
            method: "POST",
            connections: strengthBurstConnections,
            durationSeconds: strengthBurstSeconds,
            headers: { "content-type": "application/json" },
            nextBody: () => JSON.stringify({ password: randomPassword() }),
          }),
          runLoad({
            title: "GET /healthz (during the burst)",
            url: mamori.url,
            path: "/healthz",
            connections: 2,
            durationSeconds: strengthBurstSeconds,
            overallRate: healthzRateDuringBurst,
          }),
        ]);
        const cpu = meter.read();
        // The burst gets 200s, or 429s from the queue; its "errors" are autocannon's 10-second
        // timeouts of checks still waiting their turn (a hundred at a time wait that long: the
        // client is held back, which is the point). /healthz must always answer 200.
        const unexpected = Object.keys(strength.statuses).filter(
          (status) => status !== "200" && status !== "429",
        );
        if (strength.ok === 0 || unexpected.length > 0 || healthz.notOk > 0 || healthz.errors > 0) {
          throw new Error(
            `strength burst: ${JSON.stringify(strength.statuses)} (${strength.errors} errors); /healthz ${JSON.stringify(healthz.statuses)} (${healthz.errors} errors)`,
          );
        }
        return { strength, healthz, cpu };
      },
      (measured) => measured.cpu.otherCores,
      {
        noted: "the strength burst",
        message: (other) =>
          `  other processes used ${other.toFixed(2)} cores: measuring the strength burst once more`,
      },
    );
  } finally {
    await servers.stop(mamori);
  }
}

/** The burst's two loads as rows of the phases table. */
export function strengthBurstRows(m: StrengthBurst): PhaseRow[] {
  const row = (phase: string, load: string, result: LoadResult): PhaseRow => ({
    phase,
    load,
    seconds: result.durationSeconds,
    okPerSecond: result.okPerSecond,
    p50: result.latencyMs.p50,
    p99: result.latencyMs.p99,
    max: result.latencyMs.max,
    ...m.cpu,
  });
  return [
    row(
      "burst: POST /api/v1/passwords/strength",
      `${strengthBurstConnections} connections, ${strengthBurstPasswordLength}-character random passwords (${m.strength.statuses["429"] ?? 0} answered 429, ${m.strength.errors} still waiting at autocannon's 10 s timeout)`,
      m.strength,
    ),
    row("burst: GET /healthz", `${healthzRateDuringBurst}/s over 2 connections`, m.healthz),
  ];
}
