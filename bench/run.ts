/**
 * `npm run bench`: measures Mamori against the project's performance targets and writes the results
 * to docs/benchmarks.md. About two minutes, then the password generator's part (bench/generator.ts,
 * under a minute; `npm run bench -- --generator-only`) and the scale part (bench/scale.ts, about six
 * more; `npm run bench -- --scale-only` runs only that). See the preamble of that file for the method.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, release, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../src/config/config.ts";
import type { HashingParameters } from "../src/passwords/hashing.ts";
import { calibrateHashing, type HashCalibration } from "./argon2.ts";
import { runGeneratorBench } from "./generator.ts";
import { assertAllOk, type LoadOptions, type LoadResult, runLoad } from "./load.ts";
import {
  CpuMeter,
  freePort,
  readMemory,
  type ServerProcess,
  startCommand,
  startServer,
  waitForQuiet,
} from "./processes.ts";
import {
  cpuModel,
  formatNumber,
  type PhaseRow,
  type Report,
  renderText,
  type SummaryRow,
  writeMarkdown,
} from "./report.ts";
import { measureResetTiming } from "./reset-timing.ts";
import { runScaleBench } from "./scale.ts";
import { benchEmail, benchPassword, seedAccounts } from "./seed.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const host = "127.0.0.1";
const cores = availableParallelism();

// The targets (the project's performance issue).
const sessionShareOfBaseline = 0.5;
const sessionP99Ms = 10;
const signInShareOfLimit = 0.9;
const sessionP99UnderSignInsMs = 50;
const rssLimitMiB = 120;
const productionHashing: HashingParameters = { memoryKib: 19_456, iterations: 2 };

// The load.
const checkConnections = 10;
const warmupSeconds = 5;
const checkSeconds = 10;
const signInConnections = Math.max(8, cores * 4);
const signInSeconds = 15;
const mixedSeconds = 15;
const mixedCheckRate = 200;
const seededAccounts = 2_000;
const sessionCount = checkConnections;
const settleSeconds = 2;

const running = new Set<ServerProcess>();

function log(message: string): void {
  process.stdout.write(`${message}\n`);
}

async function stopAll(): Promise<void> {
  await Promise.all([...running].map((server) => server.stop()));
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    void stopAll().then(() => process.exit(130));
  });
}

async function start(
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  port: number,
  ready: RegExp,
): Promise<ServerProcess> {
  const server = await startServer({
    name,
    command: process.execPath,
    args,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LANG: "C.UTF-8", ...env },
    cwd: root,
    host,
    port,
    ready,
  });
  running.add(server);
  return server;
}

async function stop(server: ServerProcess): Promise<void> {
  await server.stop();
  running.delete(server);
}

// On a shared machine other work comes and goes: each measurement waits a little for a lull, and
// a disturbed measurement is taken again, within budgets that keep the whole run near 3 minutes.
const quietWaitSeconds = 10;
const totalWaitSeconds = 40;
const retryUntilSeconds = 110;
const benchStart = performance.now();
const waits: number[] = [];

function elapsedSeconds(): number {
  return (performance.now() - benchStart) / 1000;
}

async function quiet(): Promise<void> {
  const ownPids = [...running].map((server) => server.pid);
  const budget = Math.min(quietWaitSeconds, totalWaitSeconds - waits.reduce((sum, w) => sum + w, 0));
  if (budget <= 0) return;
  const { waitedSeconds, backgroundCores } = await waitForQuiet(cores, ownPids, budget);
  waits.push(waitedSeconds);
  if (backgroundCores >= 0.2) {
    log(
      `  the machine is busy (${backgroundCores.toFixed(2)} cores used by other processes): measuring anyway`,
    );
  }
}

type Cpu = ReturnType<CpuMeter["read"]>;
type Measured = { result: LoadResult; cpu: Cpu };

// A measurement that other processes disturbed (this much CPU or more) is taken once more, and the
// less disturbed of the two is kept.
const disturbedCores = 0.25;
const retried: string[] = [];

async function leastDisturbed<T extends { cpu: Cpu }>(title: string, run: () => Promise<T>): Promise<T> {
  await quiet();
  const first = await run();
  if (first.cpu.otherCores < disturbedCores || elapsedSeconds() > retryUntilSeconds) return first;
  log(`  other processes used ${first.cpu.otherCores.toFixed(2)} cores: measuring ${title} once more`);
  retried.push(title);
  await quiet();
  const second = await run();
  return second.cpu.otherCores < first.cpu.otherCores ? second : first;
}

/** A warm-up run (not kept), then the measured run with the CPU meter around it. */
async function measure(server: ServerProcess, options: LoadOptions, warmup: number): Promise<Measured> {
  if (warmup > 0) {
    await quiet();
    log(`  warming up: ${options.title} (${warmup} s)`);
    assertAllOk(await runLoad({ ...options, title: `${options.title} (warm-up)`, durationSeconds: warmup }));
  }
  return leastDisturbed(options.title, async () => {
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

function verdict(pass: boolean): "PASS" | "FAIL" {
  return pass ? "PASS" : "FAIL";
}

async function main(): Promise<void> {
  const major = Number(process.versions.node.split(".")[0]);
  if (major !== 24) throw new Error(`run the bench with Node 24 (npm run bench), not ${process.version}`);
  const limits = loadConfig({ NODE_ENV: "development" }).limits;
  if (
    limits.argon2MemoryKib !== productionHashing.memoryKib ||
    limits.argon2Iterations !== productionHashing.iterations
  ) {
    throw new Error("the default argon2id parameters are no longer the production ones this bench expects");
  }

  const startedAt = new Date();
  const directory = mkdtempSync(join(tmpdir(), "mamori-bench-"));
  const phases: PhaseRow[] = [];
  try {
    // 1. The yardstick: a bare node:http server.
    log("baseline: bare node:http");
    const baselinePort = await freePort(host);
    const baseline = await start(
      "baseline",
      [join(root, "bench/baseline-server.ts")],
      { PORT: String(baselinePort), HOST: host },
      baselinePort,
      /baseline listening/,
    );
    const bare = await measure(
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
    await stop(baseline);
    phases.push(phaseRow("bare node:http, fixed JSON", `${checkConnections} connections`, bare));

    // 2. Mamori on a seeded SQLite file.
    log(`seeding ${seededAccounts} accounts`);
    const databaseUrl = `sqlite:${join(directory, "bench.db")}`;
    await seedAccounts(databaseUrl, seededAccounts, productionHashing);
    // npm start keeps Node's compile cache (what type stripping made of each file): a server is
    // measured as it runs from its second start on, so one start fills the cache first.
    const mamoriEnv = {
      ...startCommand().env,
      NODE_ENV: "development",
      LOG_LEVEL: "warn",
      DATABASE_URL: databaseUrl,
      HOST: host,
    };
    log("filling Node's compile cache: one start and stop");
    const warmPort = await freePort(host);
    const warm = await start(
      "mamori-warm",
      [...startCommand().flags, join(root, "src/main.ts")],
      { ...mamoriEnv, PORT: String(warmPort) },
      warmPort,
      /Mamori is serving/,
    );
    await stop(warm);
    const port = await freePort(host);
    log("starting Mamori");
    const mamori = await start(
      "mamori",
      [...startCommand().flags, join(root, "src/main.ts")],
      { ...mamoriEnv, PORT: String(port) },
      port,
      /Mamori is serving/,
    );

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
    const check = await measure(mamori, sessionCheck, warmupSeconds);
    phases.push(phaseRow("GET /api/v1/session", `${checkConnections} connections`, check));

    // 3. The password-hash limit, on this machine, now, with the server idle.
    const { hashing, cpu: hashingCpu } = await leastDisturbed("argon2id verification", async () => {
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
    const signIns = await measure(mamori, signIn, 3);
    phases.push(phaseRow("POST /api/v1/sign-in", `${signInConnections} connections`, signIns));

    // 5. Session checks at a steady pace while sign-ins saturate the CPU.
    const mixed = await leastDisturbed("the mixed run", async () => {
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
    const mixedSignIns = mixed.signInResult;
    const mixedChecks = mixed.checkResult;
    const mixedCpu = mixed.cpu;
    phases.push(
      phaseRow("mixed: POST /api/v1/sign-in", `${signInConnections} connections`, {
        result: mixedSignIns,
        cpu: mixedCpu,
      }),
      phaseRow("mixed: GET /api/v1/session", `${mixedCheckRate}/s over ${checkConnections} connections`, {
        result: mixedChecks,
        cpu: mixedCpu,
      }),
    );

    // 6. Memory once the runs are over and the last queued sign-ins have finished.
    await new Promise((resolve) => setTimeout(resolve, settleSeconds * 1000));
    const memory = readMemory(mamori.pid);
    await stop(mamori);

    const share = check.result.okPerSecond / bare.result.okPerSecond;
    const signInShare = signIns.result.okPerSecond / hashing.limitPerSecond;
    const summary: SummaryRow[] = [
      {
        figure: `bare node:http, fixed JSON, ${checkConnections} connections`,
        measured: `${formatNumber(bare.result.okPerSecond)} req/s`,
        target: "yardstick",
        versus: "",
        verdict: "",
      },
      {
        figure: `GET /api/v1/session (valid cookie), ${checkConnections} connections`,
        measured: `${formatNumber(check.result.okPerSecond)} req/s`,
        target: `≥ ${sessionShareOfBaseline * 100}% of bare (${formatNumber(bare.result.okPerSecond * sessionShareOfBaseline)} req/s)`,
        versus: `${(share * 100).toFixed(1)}% of bare = ${(share / sessionShareOfBaseline).toFixed(2)}× the target`,
        verdict: verdict(share >= sessionShareOfBaseline),
      },
      {
        figure: `GET /api/v1/session p99, ${checkConnections} connections`,
        measured: `${check.result.latencyMs.p99} ms`,
        target: `< ${sessionP99Ms} ms`,
        versus: `${(check.result.latencyMs.p99 / sessionP99Ms).toFixed(2)}× the limit`,
        verdict: verdict(check.result.latencyMs.p99 < sessionP99Ms),
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
        measured: `${formatNumber(signIns.result.okPerSecond)} /s`,
        target: `≥ ${signInShareOfLimit * 100}% of the limit (${formatNumber(hashing.limitPerSecond * signInShareOfLimit)} /s)`,
        versus: `${(signInShare * 100).toFixed(1)}% of the limit = ${(signInShare / signInShareOfLimit).toFixed(2)}× the target (${((signIns.result.okPerSecond / hashing.parallelPerSecond) * 100).toFixed(0)}% of the side-by-side verify rate)`,
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
    ];

    // Timing of "forgot password" for an existing vs an unknown email (the recovery issue's bench).
    log("password reset timing: 200 existing and 200 unknown emails, in-process");
    const resetTiming = await measureResetTiming(200);
    summary.push({
      figure: "POST /api/v1/password-resets, median server time: existing vs unknown email (200 each)",
      measured: `${resetTiming.existing.medianMs.toFixed(3)} ms vs ${resetTiming.unknown.medianMs.toFixed(3)} ms`,
      target: "differ by < 1 ms",
      versus: `${resetTiming.medianDifferenceMs.toFixed(3)} ms apart`,
      verdict: verdict(resetTiming.medianDifferenceMs < 1),
    });

    const busyPhases = phases
      .filter((phase) => phase.otherCores >= 0.25)
      .map((phase) => `${phase.phase} (${phase.otherCores.toFixed(2)})`);
    const report: Report = {
      startedAt,
      command: process.argv.includes("--no-scale") ? "npm run bench -- --no-scale" : "npm run bench",
      machine: [
        `Machine: ${cores} cores (${cpuModel()}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Linux ${release()}`,
        `Node ${process.version}; autocannon in the bench process; servers on ${host}`,
      ],
      summary,
      phases,
      notes: [
        `${seededAccounts} seeded accounts; sign-ins go round-robin over them with the right password (${next} sign-ins in all).`,
        `Session checks use ${sessionCount} sessions from real sign-ins, one per connection; on SQLite the server answers them from its session cache (src/session/session-cache.ts; the row is read again after any write to a session or an account, or a commit by another process, which PRAGMA data_version shows, read once per event-loop turn), and before Fastify (src/session/session-fast-path.ts, as LOG_LEVEL=warn allows).`,
        "Latencies are autocannon's (whole milliseconds); the paced session check in the mixed phase reports raw latencies (no coordinated-omission correction).",
        `Warm-up before each measured run: ${warmupSeconds} s for the GET runs, 3 s for sign-ins; RSS is read ${settleSeconds} s after the last run.`,
        ...(retried.length > 0
          ? [
              `Measured twice because other processes disturbed the first try (the less disturbed kept): ${retried.join(", ")}.`,
            ]
          : []),
        `Other processes used ${hashingCpu.otherCores.toFixed(2)} cores while argon2id was timed.`,
        `Password reset timing (bench/reset-timing.ts, in the bench process through inject(), so no network noise): existing p10/p90 ${resetTiming.existing.p10Ms.toFixed(3)}/${resetTiming.existing.p90Ms.toFixed(3)} ms, unknown ${resetTiming.unknown.p10Ms.toFixed(3)}/${resetTiming.unknown.p90Ms.toFixed(3)} ms, interleaved.`,
        `Before each measurement the bench waited for a quiet machine (other processes under 0.2 cores for 2 s, at most ${quietWaitSeconds} s each, ${totalWaitSeconds} s in all): ${waits.map((w) => w.toFixed(0)).join(", ")} s; the whole run took ${elapsedSeconds().toFixed(0)} s.`,
        ...(busyPhases.length > 0
          ? [
              `Other processes used at least 0.25 cores during: ${busyPhases.join("; ")}. Those figures are lower than this machine gives on its own.`,
            ]
          : []),
      ],
    };
    log(renderText(report));
    const docs = join(root, "docs/benchmarks.md");
    writeMarkdown(docs, report);
    log(`written to ${docs}`);
  } finally {
    await stopAll();
    rmSync(directory, { recursive: true, force: true });
  }
}

// The generator's part (bench/generator.ts, in this process) and the scale part (bench/scale.ts)
// run after the phases above, or alone with `--generator-only` / `--scale-only`.
const scaleOnly = process.argv.includes("--scale-only");
const generatorOnly = process.argv.includes("--generator-only");
if (!scaleOnly && !generatorOnly) await main();
if (!scaleOnly) runGeneratorBench(generatorOnly ? "npm run bench -- --generator-only" : "npm run bench");
// `--no-scale`: the first two parts only (the scale part takes six minutes and a PostgreSQL).
const noScale = process.argv.includes("--no-scale");
if (!generatorOnly && !noScale)
  await runScaleBench(scaleOnly ? "npm run bench -- --scale-only" : "npm run bench");
