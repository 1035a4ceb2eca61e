/**
 * The phases of `npm run bench` (bench/run.ts), in order: a bare node:http server as the yardstick;
 * then Mamori on a seeded SQLite file: session checks, the password-hash limit timed beside the idle
 * server, sign-ins, session checks at a steady pace while sign-ins saturate the CPU, and Mamori's
 * memory once the runs are over; last, /healthz while one client bursts strength checks, on a server
 * of its own (bench/strength-burst.ts). Each measured run follows a warm-up and has the CPU meter
 * around it.
 */
import { join } from "node:path";
import { calibrateHashing, type HashCalibration } from "./argon2.ts";
import { assertAllOk, type LoadOptions, type LoadResult, runLoad } from "./load.ts";
import { CpuMeter, type Memory, readMemory, type ServerProcess } from "./processes.ts";
import { log, type PhaseRow } from "./report.ts";
import { benchEmail, benchPassword, seedAccounts } from "./seed.ts";
import type { Servers } from "./servers.ts";
import {
  checkConnections,
  checkSeconds,
  cores,
  mixedCheckRate,
  mixedSeconds,
  productionHashing,
  root,
  seededAccounts,
  sessionCount,
  settleSeconds,
  signInConnections,
  signInSeconds,
  signInWarmupSeconds,
  warmupSeconds,
} from "./settings.ts";
import type { SharedMachine } from "./shared-machine.ts";
import { measureStrengthBurst, type StrengthBurst, strengthBurstRows } from "./strength-burst.ts";

export type Cpu = ReturnType<CpuMeter["read"]>;
type Measured = { result: LoadResult; cpu: Cpu };

/** What the phases measured, for the report (bench/phases-report.ts). */
export type PhaseResults = {
  /** Every measured phase in detail, in the order they ran. */
  phases: PhaseRow[];
  bare: LoadResult;
  check: LoadResult;
  hashing: HashCalibration;
  /** Where the CPU went while argon2id was timed. */
  hashingCpu: Cpu;
  signIns: LoadResult;
  /** The session checks paced while sign-ins saturated the CPU. */
  mixedChecks: LoadResult;
  /** Mamori's memory once the runs were over. */
  memory: Memory;
  /** Sign-ins sent in all: warm-up, measured run and mixed run, each try. */
  signInsSent: number;
  /** /healthz while one client bursts strength checks. */
  strengthBurst: StrengthBurst;
};

/** A measurement after a wait for a lull, taken once more when other processes disturbed it. */
function leastDisturbed<T extends { cpu: Cpu }>(
  machine: SharedMachine,
  title: string,
  run: () => Promise<T>,
): Promise<T> {
  return machine.leastDisturbed(
    async () => {
      await machine.quiet();
      return run();
    },
    (measured) => measured.cpu.otherCores,
    {
      noted: title,
      message: (other) => `  other processes used ${other.toFixed(2)} cores: measuring ${title} once more`,
    },
  );
}

/** A warm-up run (not kept), then the measured run with the CPU meter around it. */
async function measure(
  machine: SharedMachine,
  server: ServerProcess,
  options: LoadOptions,
  warmup: number,
): Promise<Measured> {
  if (warmup > 0) {
    await machine.quiet();
    log(`  warming up: ${options.title} (${warmup} s)`);
    assertAllOk(await runLoad({ ...options, title: `${options.title} (warm-up)`, durationSeconds: warmup }));
  }
  return leastDisturbed(machine, options.title, async () => {
    log(`  measuring: ${options.title} (${options.durationSeconds} s)`);
    const meter = new CpuMeter(cores, server.pid);
    const result = await runLoad(options);
    const cpu = meter.read();
    assertAllOk(result);
    return { result, cpu };
  });
}

function phaseRow(phase: string, load: string, m: Measured): PhaseRow {
  return {
    phase,
    load,
    seconds: m.result.durationSeconds,
    okPerSecond: m.result.okPerSecond,
    p50: m.result.latencyMs.p50,
    p99: m.result.latencyMs.p99,
    max: m.result.latencyMs.max,
    ...m.cpu,
  };
}

async function signInForCookie(url: string, identifier: string): Promise<string> {
  const response = await fetch(`${url}/api/v1/sign-in`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ identifier, password: benchPassword }),
  });
  if (response.status !== 200) throw new Error(`sign-in for ${identifier}: ${response.status}`);
  const cookie = response.headers
    .getSetCookie()
    .map((c) => c.split(";")[0] ?? "")
    .find((c) => c.startsWith("mamori_session="));
  if (!cookie) throw new Error(`sign-in for ${identifier}: no session cookie`);
  const check = await fetch(`${url}/api/v1/session`, { headers: { cookie } });
  if (check.status !== 200) throw new Error(`session check for ${identifier}: ${check.status}`);
  return cookie;
}

/** The yardstick: a bare node:http server answering a fixed JSON body. */
async function measureBaseline(servers: Servers, machine: SharedMachine): Promise<Measured> {
  log("baseline: bare node:http");
  const baseline = await servers.start({
    name: "baseline",
    args: [join(root, "bench/baseline-server.ts")],
    env: {},
    ready: /baseline listening/,
  });
  const bare = await measure(
    machine,
    baseline,
    {
      title: "bare node:http",
      url: baseline.url,
      path: "/",
      connections: checkConnections,
      durationSeconds: checkSeconds,
    },
    warmupSeconds,
  );
  await servers.stop(baseline);
  return bare;
}

/** Mamori on a SQLite file in `directory`, seeded before it starts, measured as from its second start. */
async function startSeededMamori(servers: Servers, directory: string): Promise<ServerProcess> {
  log(`seeding ${seededAccounts} accounts`);
  const databaseUrl = `sqlite:${join(directory, "bench.db")}`;
  await seedAccounts(databaseUrl, seededAccounts, productionHashing);
  // npm start keeps Node's compile cache (what type stripping made of each file): a server is
  // measured as it runs from its second start on, so one start fills the cache first.
  log("filling Node's compile cache: one start and stop");
  await servers.stop(await servers.startMamori("mamori-warm", databaseUrl));
  log("starting Mamori");
  return servers.startMamori("mamori", databaseUrl);
}

/** Runs the phases with `servers`, on a SQLite file in `directory`. */
export async function runPhases(
  servers: Servers,
  machine: SharedMachine,
  directory: string,
): Promise<PhaseResults> {
  const phases: PhaseRow[] = [];
  // 1. The yardstick: a bare node:http server.
  const bare = await measureBaseline(servers, machine);
  phases.push(phaseRow("bare node:http, fixed JSON", `${checkConnections} connections`, bare));

  // 2. Mamori on a seeded SQLite file.
  const mamori = await startSeededMamori(servers, directory);
  const cookies: string[] = [];
  for (let i = 0; i < sessionCount; i++) cookies.push(await signInForCookie(mamori.url, benchEmail(i)));
  const sessionCheck: LoadOptions = {
    title: "GET /api/v1/session",
    url: mamori.url,
    path: "/api/v1/session",
    connections: checkConnections,
    durationSeconds: checkSeconds,
    headersPerConnection: cookies.map((cookie) => ({ cookie })),
  };
  const check = await measure(machine, mamori, sessionCheck, warmupSeconds);
  phases.push(phaseRow("GET /api/v1/session", `${checkConnections} connections`, check));

  // 3. The password-hash limit, on this machine, now, with the server idle.
  const { hashing, cpu: hashingCpu } = await leastDisturbed(machine, "argon2id verification", async () => {
    log("  timing argon2id verification");
    const meter = new CpuMeter(cores, mamori.pid);
    const calibration: HashCalibration = await calibrateHashing(productionHashing, cores, benchPassword);
    return { hashing: calibration, cpu: meter.read() };
  });

  // 4. Sign-ins, correct passwords spread over the seeded accounts (failures are what is throttled).
  let next = 0;
  const signIn: LoadOptions = {
    title: "POST /api/v1/sign-in",
    url: mamori.url,
    path: "/api/v1/sign-in",
    method: "POST",
    connections: signInConnections,
    durationSeconds: signInSeconds,
    headers: { "content-type": "application/json" },
    nextBody: () => {
      const identifier = benchEmail(next % seededAccounts);
      next += 1;
      return JSON.stringify({ identifier, password: benchPassword });
    },
  };
  const signIns = await measure(machine, mamori, signIn, signInWarmupSeconds);
  phases.push(phaseRow("POST /api/v1/sign-in", `${signInConnections} connections`, signIns));

  // 5. Session checks at a steady pace while sign-ins saturate the CPU.
  const mixed = await leastDisturbed(machine, "the mixed run", async () => {
    log(`  measuring: sign-ins + session checks at ${mixedCheckRate}/s (${mixedSeconds} s)`);
    const meter = new CpuMeter(cores, mamori.pid);
    const [signInResult, checkResult] = await Promise.all([
      runLoad({ ...signIn, title: "sign-in (mixed)", durationSeconds: mixedSeconds }),
      runLoad({
        ...sessionCheck,
        title: "session check (mixed)",
        durationSeconds: mixedSeconds,
        overallRate: mixedCheckRate,
      }),
    ]);
    const cpu = meter.read();
    assertAllOk(signInResult);
    assertAllOk(checkResult);
    return { signInResult, checkResult, cpu };
  });
  phases.push(
    phaseRow("mixed: POST /api/v1/sign-in", `${signInConnections} connections`, {
      result: mixed.signInResult,
      cpu: mixed.cpu,
    }),
    phaseRow("mixed: GET /api/v1/session", `${mixedCheckRate}/s over ${checkConnections} connections`, {
      result: mixed.checkResult,
      cpu: mixed.cpu,
    }),
  );

  // 6. Memory once the runs are over and the last queued sign-ins have finished.
  await new Promise((resolve) => setTimeout(resolve, settleSeconds * 1000));
  const memory = readMemory(mamori.pid);
  await servers.stop(mamori);

  // 7. /healthz while one client bursts strength checks of long random passwords.
  const strengthBurst = await measureStrengthBurst(servers, machine, directory);
  phases.push(...strengthBurstRows(strengthBurst));

  return {
    phases,
    bare: bare.result,
    check: check.result,
    hashing,
    hashingCpu,
    signIns: signIns.result,
    mixedChecks: mixed.checkResult,
    memory,
    signInsSent: next,
    strengthBurst,
  };
}
