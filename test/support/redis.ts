import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";

/**
 * A throwaway redis-server (Debian's `redis-server`) on a free loopback port, without persistence,
 * for tests of what several Mamori processes share and of what Mamori does when Redis fails.
 * Every wait is for an event (the server's "Ready to accept connections" line, its exit), bounded.
 */
export type RedisServer = {
  url: string;
  stop(): Promise<void>;
  /** SIGKILL, as a crash would: connections drop at once, counters are gone (no persistence). */
  kill(): Promise<void>;
  /** A new redis-server on the same port (after `kill`), resolved once it accepts connections. */
  restart(): Promise<void>;
  /** SIGSTOP: connections stay open and nothing answers, as a frozen or swapping host. */
  freeze(): void;
  /** SIGCONT after `freeze`. */
  thaw(): void;
};

const binary = "/usr/bin/redis-server";
const startLimitMs = 10_000;
const stopLimitMs = 5_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Starts redis-server on `port` and resolves when it says it accepts connections. */
function spawnRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    binary,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => fail(new Error(`redis-server did not start within ${startLimitMs} ms`)),
      startLimitMs,
    );
    function fail(error: Error): void {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new Error(`${error.message}\n${output}`));
    }
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
      if (output.includes("Ready to accept connections")) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8");
    });
    child.once("exit", (code, signal) => fail(new Error(`redis-server exited (${code ?? signal})`)));
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

export async function startRedis(): Promise<RedisServer> {
  if (!existsSync(binary))
    throw new Error(`redis-server not found at ${binary}: apt-get install redis-server`);
  const port = await freePort();
  let child = await spawnRedis(port);
  return {
    url: `redis://127.0.0.1:${port}/0`,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGCONT"); // a frozen server cannot act on SIGTERM
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), stopLimitMs);
      await exited(child);
      clearTimeout(timer);
    },
    async kill() {
      child.kill("SIGKILL");
      await exited(child);
    },
    async restart() {
      child = await spawnRedis(port);
    },
    freeze() {
      child.kill("SIGSTOP");
    },
    thaw() {
      child.kill("SIGCONT");
    },
  };
}
