import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { createServer } from "node:net";

/** A server under test, running in its own process. */
export type ServerProcess = {
  name: string;
  pid: number;
  url: string;
  /** The last few kilobytes the process wrote, for error messages. */
  output(): string;
  stop(): Promise<void>;
};

export type StartOptions = {
  name: string;
  command: string;
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  host: string;
  port: number;
  /** A line on stdout that says the server is listening. */
  ready: RegExp;
  timeoutMs?: number;
  /**
   * Standard output goes to this file instead of a pipe the bench reads: the server's log lines
   * are then the kernel's to store, not the load generator's to read (at LOG_LEVEL=info, reading
   * a line a request took the load generator's time from the requests it measures).
   */
  logFile?: string;
};

/** A TCP port nobody listens on right now (the OS picks it; the race until the server binds is harmless here). */
export async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      probe.close(() => (port > 0 ? resolve(port) : reject(new Error("no free port"))));
    });
  });
}

/**
 * How `npm start` (package.json) runs Mamori, so it is measured as it is run: its environment
 * assignments (MALLOC_ARENA_MAX=2: two glibc malloc arenas, not eight a core for the libuv, V8 and
 * argon2 threads, each keeping its freed memory; NODE_COMPILE_CACHE: Node keeps what type
 * stripping made of each file, so from the second start the stripper is never loaded) and its Node flags (--max-semi-space-size=4: V8
 * would size the young generation from the machine's memory, tens of MiB here, for a server whose
 * live objects are a few MiB; --no-maglev: V8's second optimising compiler, Maglev, left about 10 MiB
 * more resident after load, code and the freed compiler memory glibc keeps, for no speed the session
 * check shows).
 */
export function startCommand(): { env: Record<string, string>; flags: string[] } {
  const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
    scripts: { start: string };
  };
  const words = manifest.scripts.start.split(/\s+/);
  const env = Object.fromEntries(
    words.filter((word) => /^[A-Z_]+=/.test(word)).map((word) => word.split("=", 2) as [string, string]),
  );
  return { env, flags: words.filter((word) => word.startsWith("--")) };
}

/** The last `bytes` of a file (what a server wrote to its log file), for error messages. */
function tailOf(path: string, bytes: number): string {
  const fd = openSync(path, "r");
  try {
    const size = statSync(path).size;
    const length = Math.min(size, bytes);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    return buffer.toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/** Starts a server process and resolves once it prints its ready line. */
export async function startServer(options: StartOptions): Promise<ServerProcess> {
  const logFile = options.logFile;
  const logFd = logFile ? openSync(logFile, "w") : undefined;
  const child = spawn(options.command, [...options.args], {
    cwd: options.cwd,
    env: options.env,
    stdio: ["ignore", logFd ?? "pipe", "pipe"],
  });
  // The child holds its own copy of the descriptor.
  if (logFd !== undefined) closeSync(logFd);
  let log = "";
  const keep = (chunk: Buffer): void => {
    log = (log + chunk.toString("utf8")).slice(-8192);
  };
  child.stderr?.on("data", keep);
  const output = (): string => (logFile ? tailOf(logFile, 8192) : "") + log;
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${options.name}: could not start ${options.command}`);

  await new Promise<void>((resolve, reject) => {
    let poll: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      clearInterval(poll);
      child.kill("SIGKILL");
      reject(new Error(`${options.name} did not become ready in time:\n${output()}`));
    }, options.timeoutMs ?? 30_000);
    const ready = (): void => {
      clearTimeout(timer);
      clearInterval(poll);
      resolve();
    };
    if (logFile) {
      // Written by the server, not read through a pipe: looked at until the ready line is there.
      poll = setInterval(() => {
        if (options.ready.test(tailOf(logFile, 65_536))) ready();
      }, 50);
    } else {
      const onData = (chunk: Buffer): void => {
        keep(chunk);
        if (options.ready.test(log)) {
          child.stdout?.off("data", onData);
          child.stdout?.on("data", keep);
          ready();
        }
      };
      child.stdout?.on("data", onData);
    }
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      clearInterval(poll);
      reject(new Error(`${options.name} exited early (${code ?? signal}):\n${output()}`));
    });
  });

  return {
    name: options.name,
    pid,
    url: `http://${options.host}:${options.port}`,
    output,
    stop: () => stopProcess(child),
  };
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

export type Memory = { rssMiB: number; peakRssMiB: number };

/** Resident set size now (VmRSS) and at its peak (VmHWM), from /proc/<pid>/status. */
export function readMemory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (field: string): number => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
    if (!match?.[1]) throw new Error(`no ${field} in /proc/${pid}/status`);
    return Number(match[1]);
  };
  return { rssMiB: kib("VmRSS") / 1024, peakRssMiB: kib("VmHWM") / 1024 };
}

/** CPU time of one process (all its threads), in clock ticks, from /proc/<pid>/stat. */
export function processTicks(pid: number | "self"): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name may hold spaces and parentheses: fields are counted after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of the line, i.e. 12 and 13 after the name.
  return Number(fields[11]) + Number(fields[12]);
}

/** Busy and total clock ticks of the whole machine, from /proc/stat. */
export function machineTicks(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  const values = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = values.reduce((sum, v) => sum + v, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: total - idle, total };
}

/**
 * Measures how much CPU went where during a phase, in cores: the server under test, this load
 * generator, and everything else on the machine (other work that makes the figures noisy).
 */
export class CpuMeter {
  readonly #cores: number;
  readonly #serverPid: number;
  #start = { machine: machineTicks(), server: 0, bench: 0 };

  constructor(cores: number, serverPid: number) {
    this.#cores = cores;
    this.#serverPid = serverPid;
    this.reset();
  }

  reset(): void {
    this.#start = {
      machine: machineTicks(),
      server: processTicks(this.#serverPid),
      bench: processTicks("self"),
    };
  }

  read(): { serverCores: number; benchCores: number; otherCores: number } {
    const machine = machineTicks();
    const total = machine.total - this.#start.machine.total;
    const busy = machine.busy - this.#start.machine.busy;
    const server = processTicks(this.#serverPid) - this.#start.server;
    const bench = processTicks("self") - this.#start.bench;
    const toCores = (ticks: number): number => (total > 0 ? (ticks / total) * this.#cores : 0);
    return {
      serverCores: toCores(server),
      benchCores: toCores(bench),
      otherCores: Math.max(0, toCores(busy - server - bench)),
    };
  }
}

/** Pids given outright, or read afresh at each sample (a process tree whose members come and go). */
export type OwnPids = readonly number[] | (() => readonly number[]);

/** CPU ticks of each process; one that has ended meanwhile is left out. */
export function ticksByPid(pids: readonly number[]): Map<number, number> {
  const ticks = new Map<number, number>();
  for (const pid of pids) {
    try {
      ticks.set(pid, processTicks(pid));
    } catch {
      // Gone (a database backend closed, a worker restarted).
    }
  }
  return ticks;
}

/** Ticks the processes used between two `ticksByPid` readings; a process born in between counts whole. */
export function ticksBetween(
  before: ReadonlyMap<number, number>,
  after: ReadonlyMap<number, number>,
): number {
  let sum = 0;
  for (const [pid, ticks] of after) sum += ticks - (before.get(pid) ?? 0);
  return sum;
}

/** A process and all its descendants, from /proc/<pid>/task/<tid>/children. */
export function processTree(root: number): number[] {
  const tree: number[] = [];
  const pending = [root];
  for (let pid = pending.pop(); pid !== undefined; pid = pending.pop()) {
    tree.push(pid);
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const task of tasks) {
      try {
        const children = readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim();
        if (children) pending.push(...children.split(/\s+/).map(Number));
      } catch {
        // The thread ended.
      }
    }
  }
  return tree;
}

/** CPU used by everything but the given processes over `ms` milliseconds, in cores. */
export async function backgroundCores(cores: number, ownPids: OwnPids, ms: number): Promise<number> {
  const pids = (): readonly number[] => (typeof ownPids === "function" ? ownPids() : ownPids);
  const machineBefore = machineTicks();
  const selfBefore = processTicks("self");
  const ownBefore = ticksByPid(pids());
  await new Promise((resolve) => setTimeout(resolve, ms));
  const machineAfter = machineTicks();
  const own = processTicks("self") - selfBefore + ticksBetween(ownBefore, ticksByPid(pids()));
  const total = machineAfter.total - machineBefore.total;
  const busy = machineAfter.busy - machineBefore.busy - own;
  return total > 0 ? Math.max(0, (busy / total) * cores) : 0;
}

/**
 * Waits (at most `maxSeconds`) until the rest of the machine has been nearly idle for two seconds
 * running: other work on a shared machine takes cores from the servers and the load generator.
 * Returns the seconds waited and the background load last seen.
 */
export async function waitForQuiet(
  cores: number,
  ownPids: OwnPids,
  maxSeconds: number,
  thresholdCores = 0.2,
): Promise<{ waitedSeconds: number; backgroundCores: number }> {
  const start = performance.now();
  let quietSamples = 0;
  let last = 0;
  while ((performance.now() - start) / 1000 < maxSeconds) {
    last = await backgroundCores(cores, ownPids, 1000);
    quietSamples = last < thresholdCores ? quietSamples + 1 : 0;
    if (quietSamples >= 2) break;
  }
  return { waitedSeconds: (performance.now() - start) / 1000, backgroundCores: last };
}
