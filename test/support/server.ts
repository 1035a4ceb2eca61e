import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { eventTimeoutMs, requestSignal, startTimeoutMs, stopTimeoutMs } from "./patience.ts";

/**
 * A real Mamori server for black-box and browser tests: `node src/main.ts` as a child process on a
 * free loopback port, with its own SQLite file in a temp directory and the development outbox on.
 * Every wait is bounded, so a server that cannot start fails the run with its output instead of
 * hanging it.
 */
export type MamoriServer = {
  /** The public URL, e.g. http://127.0.0.1:41234 (no trailing slash). */
  url: string;
  /**
   * The server's database (`sqlite:PATH`), for a test to set up what no page can yet, such as a
   * verified mobile number.
   */
  databaseUrl: string;
  /** Everything the server has printed so far (stdout and stderr), for failure messages. */
  output(): string;
  stop(): Promise<void>;
  /** SIGKILL, as a crash or an out-of-memory kill would: no clean shutdown. Keeps the database. */
  kill(): Promise<void>;
};

export type OutboxMessage = {
  channel: "email" | "sms" | "voice";
  to: string;
  subject?: string;
  text: string;
  code?: string;
  createdAt: string;
};

const projectRoot = fileURLToPath(new URL("../../", import.meta.url));
// Node 24 from the `node` npm package: the system node may be older than the project needs.
const nodeBinary = join(projectRoot, "node_modules", ".bin", "node");
const startLimitMs = startTimeoutMs;
const stopLimitMs = stopTimeoutMs;
const startAttempts = 3;

/** Starts a server; `env` adds or overrides variables (e.g. a short code lifetime). */
export async function startMamori(env: Record<string, string> = {}): Promise<MamoriServer> {
  const directory = mkdtempSync(join(tmpdir(), "mamori-server-"));
  const removeDirectory = (): void => rmSync(directory, { recursive: true, force: true, maxRetries: 3 });
  let lastError: Error | undefined;
  try {
    for (let attempt = 1; attempt <= startAttempts; attempt++) {
      // Another process may take the free port before the server binds it: then try a new one.
      const port = await findFreePort();
      const url = `http://127.0.0.1:${port}`;
      const databaseUrl = env.DATABASE_URL ?? `sqlite:${join(directory, `mamori-${attempt}.db`)}`;
      const child = spawn(nodeBinary, ["src/main.ts"], {
        cwd: projectRoot,
        stdio: ["ignore", "pipe", "pipe"],
        env: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          HOME: directory,
          TZ: "UTC",
          NODE_ENV: "test",
          PORT: String(port),
          HOST: "127.0.0.1",
          DATABASE_URL: databaseUrl,
          MAMORI_PUBLIC_URL: url,
          MAMORI_DEV_OUTBOX: "true",
          // Cheap hashing keeps the tests fast; production refuses these numbers.
          MAMORI_ARGON2_MEMORY_KIB: "1024",
          MAMORI_ARGON2_ITERATIONS: "1",
          LOG_LEVEL: "warn",
          ...env,
        },
      });
      const output = collectOutput(child);
      try {
        await waitUntilHealthy(url, child, output);
      } catch (error) {
        lastError = error as Error;
        await stopChild(child);
        continue;
      }
      return track(child, { url, databaseUrl, output }, removeDirectory);
    }
  } catch (error) {
    removeDirectory();
    throw error;
  }
  removeDirectory();
  throw lastError ?? new Error("Mamori did not start");
}

/** The development outbox's messages to one address or phone, newest first. */
export async function outboxMessages(server: MamoriServer, to: string): Promise<OutboxMessage[]> {
  const response = await fetch(`${server.url}/api/v1/dev/outbox?to=${encodeURIComponent(to)}`, {
    signal: requestSignal(),
  });
  if (!response.ok) throw new Error(`GET /api/v1/dev/outbox answered ${response.status}`);
  const body = (await response.json()) as { messages: OutboxMessage[] };
  return body.messages;
}

/**
 * The newest security code sent to `to`, waiting (bounded) for it to appear. `after` skips codes
 * that were already known, so a resent code is not mistaken for the old one.
 */
export async function latestCode(
  server: MamoriServer,
  to: string,
  options: { after?: string; timeoutMs?: number } = {},
): Promise<string> {
  const deadline = Date.now() + (options.timeoutMs ?? eventTimeoutMs);
  for (;;) {
    const withCode = (await outboxMessages(server, to)).find((m) => m.code !== undefined);
    if (withCode?.code !== undefined && withCode.code !== options.after) return withCode.code;
    if (Date.now() > deadline) throw new Error(`no new security code for ${to} in the development outbox`);
    await sleep(100);
  }
}

function collectOutput(child: ChildProcess): () => string {
  const chunks: string[] = [];
  let length = 0;
  const keep = (chunk: Buffer): void => {
    // A bounded buffer: only the start and the most recent output matter for a failure message.
    chunks.push(chunk.toString("utf8"));
    length += chunk.length;
    while (length > 200_000 && chunks.length > 1) length -= Buffer.byteLength(chunks.splice(1, 1)[0] ?? "");
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return () => chunks.join("");
}

async function waitUntilHealthy(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + startLimitMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`Mamori exited (${child.exitCode ?? child.signalCode}) before answering:\n${output()}`);
    }
    try {
      const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5_000) });
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
  throw new Error(`Mamori did not answer /healthz within ${startLimitMs} ms:\n${output()}`);
}

/** Keeps the server from outliving the test process, and gives its owner a single `stop()`. */
function track(
  child: ChildProcess,
  server: Pick<MamoriServer, "url" | "databaseUrl" | "output">,
  removeDirectory: () => void,
): MamoriServer {
  const onExit = (): void => {
    child.kill("SIGKILL");
    try {
      removeDirectory();
    } catch {
      // Left in the temp directory: nothing more can be done while the process exits.
    }
  };
  process.once("exit", onExit);
  let stopping: Promise<void> | undefined;
  return {
    ...server,
    stop(): Promise<void> {
      stopping ??= (async () => {
        process.removeListener("exit", onExit);
        await stopChild(child);
        removeDirectory();
      })();
      return stopping;
    },
    async kill(): Promise<void> {
      process.removeListener("exit", onExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGKILL");
      await Promise.race([exited, cap(stopLimitMs)]);
    },
  };
}

/** SIGTERM (Mamori closes cleanly), then SIGKILL if it is still running after a bound. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), stopLimitMs);
  });
  const late = await Promise.race([exited.then(() => false), timedOut]);
  clearTimeout(timer);
  if (late) {
    child.kill("SIGKILL");
    await Promise.race([exited, cap(stopLimitMs)]);
  }
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

/** A bound on a wait that must not itself keep the test process alive once the wait is over. */
function cap(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
