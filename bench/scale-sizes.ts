/**
 * Part 1 of the scale part (bench/scale.ts): on one database kind, the same loads against the 1k
 * and the 1M server, measured in turns and pooled, so that the two sizes can be compared.
 */
import { mergeLoads, type ScaleLoadOptions } from "./scale-load.ts";
import type { ScaleMeasurer } from "./scale-measure.ts";
import type { TreeCpu } from "./scale-processes.ts";
import { AccountPicker, cookiesFor, signInRequest } from "./scale-requests.ts";
import type { SeedResult } from "./scale-seed.ts";
import {
  checkConnections,
  checkSeconds,
  checkWarmupSeconds,
  type Dialect,
  largeAccounts,
  type Measured,
  type SizeComparison,
  signInRate,
  signInSeconds,
  signInWarmupSeconds,
  smallAccounts,
  type Target,
} from "./scale-settings.ts";

/** Runs of one target pooled: answers together, CPU weighted by duration. */
function pooled(runs: readonly Measured[]): Measured {
  const first = runs[0];
  if (!first) throw new Error("nothing measured");
  const seconds = runs.reduce((sum, r) => sum + r.result.durationSeconds, 0);
  const weighted = (value: (cpu: TreeCpu) => number): number =>
    runs.reduce((sum, r) => sum + value(r.cpu) * r.result.durationSeconds, 0) / seconds;
  return {
    target: first.target,
    load: first.load,
    result: mergeLoads(runs.map((r) => r.result)),
    cpu: {
      serverCores: weighted((c) => c.serverCores),
      serverProcessCores: first.cpu.serverProcessCores.map((_, i) =>
        weighted((c) => c.serverProcessCores[i] ?? 0),
      ),
      databaseCores: weighted((c) => c.databaseCores),
      benchCores: weighted((c) => c.benchCores),
      otherCores: weighted((c) => c.otherCores),
    },
  };
}

type Side = { target: Target; options: ScaleLoadOptions };

/**
 * The same load on the 1k and the 1M server, in halves ordered 1k, 1M, 1M, 1k, so that a drift of
 * the machine weighs on both alike; the halves of each are pooled. Taken once more (the less
 * disturbed kept) when other processes took a share of the CPU and the run is young enough.
 */
async function compareLoad(
  measurer: ScaleMeasurer,
  load: string,
  small: Side,
  large: Side,
  warmupSeconds: number,
): Promise<{ small: Measured; large: Measured }> {
  await measurer.warmUp(small.target, small.options, warmupSeconds);
  await measurer.warmUp(large.target, large.options, warmupSeconds);
  const half = (side: Side): Promise<Measured> =>
    measurer.once(side.target, load, {
      ...side.options,
      durationSeconds: side.options.durationSeconds / 2,
    });
  const attempt = async (): Promise<{ small: Measured; large: Measured; disturbance: number }> => {
    const halves = [await half(small), await half(large), await half(large), await half(small)];
    const [a, b, c, d] = halves;
    if (!a || !b || !c || !d) throw new Error("a half is missing");
    return {
      small: pooled([a, d]),
      large: pooled([b, c]),
      disturbance: Math.max(...halves.map((h) => h.cpu.otherCores)),
    };
  };
  return measurer.machine.leastDisturbed(attempt, (pair) => pair.disturbance, {
    noted: `${small.target.name} and ${large.target.name}: ${small.options.title}`,
    message: (other) => `  other processes used up to ${other.toFixed(2)} cores: measuring once more`,
  });
}

async function sessionCheckLoad(target: Target, picker: AccountPicker): Promise<Side> {
  const cookies = await cookiesFor(target.server, picker, checkConnections);
  return {
    target,
    options: {
      title: "GET /api/v1/session",
      url: target.server.url,
      connections: checkConnections,
      durationSeconds: checkSeconds,
      send: {
        request: { kind: "session check", method: "GET", path: "/api/v1/session", headers: {}, expect: 200 },
        headersPerConnection: cookies.map((cookie) => ({ cookie })),
      },
    },
  };
}

function signInLoad(target: Target, picker: AccountPicker): Side {
  return {
    target,
    options: {
      title: "POST /api/v1/sign-in",
      url: target.server.url,
      // One connection: one sign-in at a time, at most 50 a second, so the latency is a sign-in's
      // own and not time spent queueing behind others for the hash slots.
      connections: 1,
      overallRate: signInRate,
      durationSeconds: signInSeconds,
      send: { next: () => signInRequest(picker) },
    },
  };
}

/**
 * Part 1 on one database kind: both sizes served at once, measured in turn. The pickers go on: the
 * mixed load takes its accounts from the 1M one after those used here, and the 1k one's count goes
 * into the notes.
 */
export async function compareSizes(
  measurer: ScaleMeasurer,
  dialect: Dialect,
  small: Target,
  large: Target,
  seeds: { small: SeedResult; large: SeedResult },
): Promise<{ comparison: SizeComparison; pickers: { small: AccountPicker; large: AccountPicker } }> {
  const pickers = { small: new AccountPicker(smallAccounts), large: new AccountPicker(largeAccounts) };
  const checks = await compareLoad(
    measurer,
    `${checkConnections} connections`,
    await sessionCheckLoad(small, pickers.small),
    await sessionCheckLoad(large, pickers.large),
    checkWarmupSeconds,
  );
  const signIns = await compareLoad(
    measurer,
    `1 connection, ≤ ${signInRate}/s`,
    signInLoad(small, pickers.small),
    signInLoad(large, pickers.large),
    signInWarmupSeconds,
  );
  return {
    comparison: { checks: { dialect, ...checks }, signIns: { dialect, ...signIns }, seeds },
    pickers,
  };
}
