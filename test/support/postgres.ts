import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chownSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { requestTimeoutMs, startTimeoutMs } from "./patience.ts";

/**
 * A throwaway PostgreSQL 15 server for storage tests: Debian's binaries, a fresh data directory
 * under the system temp directory, loopback TCP only, trust auth, no fsync. Every wait is bounded,
 * so a server that cannot start fails the test run with its log instead of hanging it.
 */
export type PostgresServer = { url: string; stop(): Promise<void> };

// MAMORI_POSTGRES_BIN lets a machine with another layout point at its binaries.
const binDirectory = process.env.MAMORI_POSTGRES_BIN ?? "/usr/lib/postgresql/15/bin";
const superuser = "postgres";
const databaseName = "mamori";
const waitLimitMs = startTimeoutMs;
const startAttempts = 3;

type RunAs = { uid: number; gid: number } | undefined;

export async function startPostgres(): Promise<PostgresServer> {
  const server = await launchPostgres();
  return track(server.child, server.url, server.dataDirectory, server.removeDirectory);
}

/** A server a test can crash, restart, freeze and thaw, to see what its clients do meanwhile. */
export type FaultablePostgres = PostgresServer & {
  /** `pg_ctl stop -m immediate`: every backend ends at once, no checkpoint (a crash, to clients). */
  crash(): Promise<void>;
  /** Starts the server again on the same port and data directory; resolves once it answers. */
  restart(): Promise<void>;
  /** SIGSTOP to the postmaster and every backend: connections stay open and nothing answers. */
  freeze(): void;
  /** SIGCONT to what freeze() stopped. */
  thaw(): void;
};

export async function startFaultablePostgres(): Promise<FaultablePostgres> {
  // A crash must keep what was committed: commits wait for their WAL to reach the operating system.
  const server = await launchPostgres(true);
  let child = server.child;
  let frozen: number[] = [];
  const exited = (): boolean => child.exitCode !== null || child.signalCode !== null;
  const onExit = (): void => {
    for (const pid of frozen) signal(pid, "SIGCONT");
    child.kill("SIGKILL");
    try {
      server.removeDirectory();
    } catch {
      // Left in the temp directory: nothing more can be done while the process exits.
    }
  };
  process.once("exit", onExit);
  child.unref();
  let stopping: Promise<void> | undefined;
  return {
    url: server.url,
    async crash(): Promise<void> {
      const ended = new Promise<void>((resolve) =>
        exited() ? resolve() : child.once("exit", () => resolve()),
      );
      await runBounded(
        join(binDirectory, "pg_ctl"),
        ["stop", "-D", server.dataDirectory, "-m", "immediate", "-w", "-t", String(waitLimitMs / 1000)],
        server.runAs,
        server.directory,
      );
      await ended;
    },
    async restart(): Promise<void> {
      const logPath = join(server.directory, `server-restart-${Date.now()}.log`);
      child = spawnServer(
        server.postgres,
        server.dataDirectory,
        server.port,
        logPath,
        server.runAs,
        server.directory,
        true,
      );
      child.unref();
      await waitUntilReady(server.serverUrl, child, logPath);
    },
    freeze(): void {
      const pid = child.pid;
      if (pid === undefined || exited()) throw new Error("PostgreSQL is not running: nothing to freeze");
      // The postmaster first, so it forks no new backend while its children are stopped.
      frozen = [pid, ...childProcesses(pid)];
      for (const each of frozen) signal(each, "SIGSTOP");
    },
    thaw(): void {
      for (const each of frozen.toReversed()) signal(each, "SIGCONT");
      frozen = [];
    },
    stop(): Promise<void> {
      stopping ??= (async () => {
        process.removeListener("exit", onExit);
        for (const pid of frozen) signal(pid, "SIGCONT");
        frozen = [];
        await stopServer(child);
        server.removeDirectory();
      })();
      return stopping;
    },
  };
}

type LaunchedPostgres = {
  child: ChildProcess;
  /** The test database's URL. */
  url: string;
  /** The server's own `postgres` database, for administration. */
  serverUrl: string;
  port: number;
  postgres: string;
  dataDirectory: string;
  directory: string;
  runAs: RunAs;
  removeDirectory: () => void;
};

async function launchPostgres(durable = false): Promise<LaunchedPostgres> {
  const initdb = join(binDirectory, "initdb");
  const postgres = join(binDirectory, "postgres");
  for (const binary of [initdb, postgres]) {
    if (!existsSync(binary)) {
      throw new Error(`PostgreSQL 15 not found at ${binary}: install postgresql: apt-get install postgresql`);
    }
  }
  const runAs = postgresUserIfRoot();
  const directory = mkdtempSync(join(tmpdir(), "mamori-pg-"));
  const removeDirectory = (): void => rmSync(directory, { recursive: true, force: true, maxRetries: 3 });
  try {
    // PostgreSQL refuses to run as root, so under root the directory belongs to the `postgres` user.
    if (runAs) chownSync(directory, runAs.uid, runAs.gid);
    const dataDirectory = join(directory, "data");
    await runBounded(
      initdb,
      [
        `--pgdata=${dataDirectory}`,
        `--username=${superuser}`,
        "--auth=trust",
        "--encoding=UTF8",
        "--locale=C",
        "--no-sync",
        "--no-instructions",
      ],
      runAs,
      directory,
    );
    let lastError: Error | undefined;
    for (let attempt = 1; attempt <= startAttempts; attempt++) {
      // Another process may take the free port before the server binds it: then try a new one.
      const port = await findFreePort();
      const logPath = join(directory, `server-${attempt}.log`);
      const child = spawnServer(postgres, dataDirectory, port, logPath, runAs, directory, durable);
      const serverUrl = `postgres://${superuser}@127.0.0.1:${port}/postgres`;
      try {
        await waitUntilReady(serverUrl, child, logPath);
        await createDatabase(serverUrl, databaseName);
      } catch (error) {
        lastError = error as Error;
        await stopServer(child);
        continue;
      }
      const url = withDatabase(serverUrl, databaseName);
      return { child, url, serverUrl, port, postgres, dataDirectory, directory, runAs, removeDirectory };
    }
    throw lastError ?? new Error("PostgreSQL did not start");
  } catch (error) {
    removeDirectory();
    throw error;
  }
}

/** The processes whose parent is `pid` (a postmaster's backends and helpers), from /proc. */
function childProcesses(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // Ended meanwhile.
    }
    // "pid (comm) state ppid …": the command may hold spaces and parentheses, so read after the last ")".
    const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (parent === pid) children.push(Number(entry));
  }
  return children;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // The process has ended: nothing to stop or continue.
  }
}

/**
 * A new, empty database on the server at `serverUrl`, with a random name: one per test keeps tests
 * independent of each other and of their order. Returns the new database's URL.
 */
export async function createTestDatabase(serverUrl: string): Promise<string> {
  const name = `mamori_test_${randomBytes(8).toString("hex")}`;
  await createDatabase(serverUrl, name);
  return withDatabase(serverUrl, name);
}

async function createDatabase(serverUrl: string, name: string): Promise<void> {
  const client = new pg.Client({
    connectionString: serverUrl,
    connectionTimeoutMillis: requestTimeoutMs,
    query_timeout: waitLimitMs,
  });
  await client.connect();
  try {
    // The name is ours (letters, digits, underscores), so quoting it as an identifier is enough.
    await client.query(`create database "${name}"`);
  } finally {
    await client.end();
  }
}

function withDatabase(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Keeps the server from outliving the test process, and gives its owner a single `stop()`. */
function track(
  child: ChildProcess,
  url: string,
  dataDirectory: string,
  removeDirectory: () => void,
): PostgresServer {
  // If the test process ends without stop() (a crash, a forgotten hook), take the server down with
  // it.
  const onExit = (): void => {
    // Immediate shutdown; the postmaster deletes its pid file as it exits. Only synchronous code
    // runs at exit, so wait for that file by sleeping on an Atomics wait, a few seconds at most.
    child.kill("SIGQUIT");
    const pidFile = join(dataDirectory, "postmaster.pid");
    const sleeper = new Int32Array(new SharedArrayBuffer(4));
    for (let waited = 0; existsSync(pidFile) && waited < 5000; waited += 20) Atomics.wait(sleeper, 0, 0, 20);
    try {
      removeDirectory();
    } catch {
      // Left in the temp directory: nothing more can be done while the process exits.
    }
  };
  process.once("exit", onExit);
  // The server must not keep the test process alive on its own.
  child.unref();
  let stopping: Promise<void> | undefined;
  return {
    url,
    stop(): Promise<void> {
      stopping ??= (async () => {
        process.removeListener("exit", onExit);
        await stopServer(child);
        removeDirectory();
      })();
      return stopping;
    },
  };
}

function postgresUserIfRoot(): RunAs {
  if (process.getuid?.() !== 0) return undefined;
  const passwd = readFileSync("/etc/passwd", "utf8");
  const entry = passwd.split("\n").find((line) => line.startsWith("postgres:"));
  const [, , uid, gid] = entry?.split(":") ?? [];
  if (uid === undefined || gid === undefined) {
    throw new Error(
      "PostgreSQL cannot run as root and there is no `postgres` system user: install postgresql: apt-get install postgresql",
    );
  }
  return { uid: Number(uid), gid: Number(gid) };
}

function childEnvironment(directory: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: directory, LANG: "C", LC_ALL: "C", TZ: "UTC" };
}

function runBounded(file: string, args: string[], runAs: RunAs, directory: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // Node drops root's supplementary groups along with uid and gid (libuv calls setgroups).
    execFile(
      file,
      args,
      {
        ...runAs,
        cwd: directory,
        env: childEnvironment(directory),
        timeout: waitLimitMs,
        killSignal: "SIGKILL",
      },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${file} failed: ${error.message}\n${stdout}${stderr}`));
        else resolve();
      },
    );
  });
}

function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no free port on 127.0.0.1"))));
    });
  });
}

function spawnServer(
  postgres: string,
  dataDirectory: string,
  port: number,
  logPath: string,
  runAs: RunAs,
  directory: string,
  durable = false,
): ChildProcess {
  // The log file is opened here, so the server need not be able to create it.
  const log = openSync(logPath, "a");
  try {
    return spawn(
      postgres,
      [
        "-D",
        dataDirectory,
        "-p",
        String(port),
        "-c",
        "listen_addresses=127.0.0.1",
        // No unix socket: nothing outside this test can reach the server but through loopback TCP.
        "-c",
        "unix_socket_directories=",
        // Durability against a machine's crash is worthless for a throwaway server; speed is not.
        // A durable server still survives its own crash: a commit's WAL is written (not synced)
        // before the commit is answered.
        "-c",
        "fsync=off",
        "-c",
        `synchronous_commit=${durable ? "on" : "off"}`,
        "-c",
        "full_page_writes=off",
        "-c",
        "max_connections=100",
      ],
      { ...runAs, cwd: directory, env: childEnvironment(directory), stdio: ["ignore", log, log] },
    );
  } finally {
    closeSync(log);
  }
}

async function waitUntilReady(serverUrl: string, child: ChildProcess, logPath: string): Promise<void> {
  const deadline = Date.now() + waitLimitMs;
  let exited: string | undefined;
  const onExit = (code: number | null, signal: string | null): void => {
    exited = `exited with ${signal ?? `code ${code}`}`;
  };
  child.once("exit", onExit);
  child.once("error", (error) => {
    exited = `could not be started (${error.message})`;
  });
  try {
    for (;;) {
      if (exited !== undefined) throw new Error(`PostgreSQL ${exited}:\n${tail(logPath)}`);
      const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 1000 });
      // A failed connect may still emit "error" later; it must not crash the process.
      client.on("error", () => {});
      try {
        await client.connect();
        await client.query("select 1");
        return;
      } catch {
        // Not up yet.
      } finally {
        await client.end().catch(() => {});
      }
      if (Date.now() > deadline) {
        throw new Error(
          `PostgreSQL did not accept connections within ${waitLimitMs / 1000} s:\n${tail(logPath)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    child.removeListener("exit", onExit);
  }
}

/** Fast shutdown (SIGINT: disconnect clients, then stop), SIGKILL if that takes over the limit. */
async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGINT");
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), waitLimitMs);
  });
  const late = await Promise.race([exited.then(() => false), timedOut]);
  clearTimeout(timer);
  if (late) {
    child.kill("SIGKILL");
    await exited;
  }
}

function tail(path: string): string {
  try {
    return readFileSync(path, "utf8").split("\n").slice(-20).join("\n");
  } catch {
    return "(no server log)";
  }
}
