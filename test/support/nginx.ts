import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, watch, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requestSignal, startTimeoutMs, stopTimeoutMs } from "./patience.ts";

/**
 * Debian's nginx as a plain child process for a test: its own prefix, config, pid, logs and temp
 * directories in a fresh temp directory, listening on loopback only, in the foreground
 * (`daemon off`), stopped by the test. Never the system service.
 */
export const nginxBinary = "/usr/sbin/nginx";

export type Nginx = {
  /** Everything nginx wrote to its error log, for failure messages. */
  errors(): string;
  stop(): Promise<void>;
};

/** Fails with a clear message when nginx is missing: the test must not pass by doing nothing. */
export function requireNginx(): void {
  if (!existsSync(nginxBinary)) {
    throw new Error(
      `${nginxBinary} is missing: install Debian's nginx (apt-get install nginx-light or nginx; .ci/run does it)`,
    );
  }
}

/**
 * Starts nginx with `httpBlock` inside `http { … }` and waits until it answers on `port`.
 * The caller chooses the port (see `freePort`) because the config names it.
 */
export async function startNginx(httpBlock: string, port: number): Promise<Nginx> {
  requireNginx();
  const prefix = mkdtempSync(join(tmpdir(), "mamori-nginx-"));
  const errorLog = join(prefix, "error.log");
  const config = `daemon off;
master_process off;
worker_processes 1;
pid ${join(prefix, "nginx.pid")};
error_log ${errorLog} warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${join(prefix, "client_body")};
  proxy_temp_path ${join(prefix, "proxy")};
  fastcgi_temp_path ${join(prefix, "fastcgi")};
  uwsgi_temp_path ${join(prefix, "uwsgi")};
  scgi_temp_path ${join(prefix, "scgi")};
${httpBlock}
}
`;
  const configFile = join(prefix, "nginx.conf");
  writeFileSync(configFile, config);
  const child = spawn(nginxBinary, ["-p", prefix, "-c", configFile, "-e", errorLog], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  child.stdout?.on("data", (chunk: Buffer) => output.push(chunk.toString("utf8")));
  child.stderr?.on("data", (chunk: Buffer) => output.push(chunk.toString("utf8")));
  // The log may not exist until nginx writes to it.
  const readErrors = (): string =>
    `${output.join("")}${existsSync(errorLog) ? readFileSync(errorLog, "utf8") : ""}`;
  const stop = async (): Promise<void> => {
    await stopChild(child);
    rmSync(prefix, { recursive: true, force: true });
  };
  try {
    await waitForPidFile(prefix, child, readErrors);
    // The pid file comes after the listening sockets; one answer shows the config serves.
    await fetch(`http://127.0.0.1:${port}/`, { signal: requestSignal(), redirect: "manual" });
  } catch (error) {
    await stop();
    throw error;
  }
  return { errors: readErrors, stop };
}

/**
 * Resolves when nginx writes its pid file, which it does once its listening sockets are open
 * (ngx_init_cycle binds them before main() creates the pid file): an event to wait for, not a
 * guess of how long a start takes. Fails when nginx exits first, or after a generous cap.
 */
function waitForPidFile(prefix: string, child: ChildProcess, errors: () => string): Promise<void> {
  const pidFile = join(prefix, "nginx.pid");
  return new Promise((resolve, reject) => {
    const watcher = watch(prefix);
    const finish = (error?: Error): void => {
      watcher.close();
      clearTimeout(deadline);
      child.off("exit", exited);
      if (error) reject(error);
      else resolve();
    };
    const exited = (code: number | null, signal: string | null): void =>
      finish(new Error(`nginx exited (${code ?? signal}) before listening:\n${errors()}`));
    const deadline = setTimeout(
      () => finish(new Error(`nginx wrote no pid file within ${startTimeoutMs / 1000} s:\n${errors()}`)),
      startTimeoutMs,
    );
    watcher.on("change", () => {
      if (existsSync(pidFile)) finish();
    });
    child.once("exit", exited);
    // Written before the watch began.
    if (existsSync(pidFile)) finish();
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  // SIGQUIT: nginx's graceful shutdown.
  child.kill("SIGQUIT");
  const timer = setTimeout(() => child.kill("SIGKILL"), stopTimeoutMs);
  await exited;
  clearTimeout(timer);
}

/** A free loopback port, for a server whose config must name its port before it starts. */
export function freePort(): Promise<number> {
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
