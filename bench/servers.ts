/**
 * The server processes a part of the bench starts (bench/phases.ts, bench/scale-servers.ts): Node
 * from the project's root, on loopback, with a bare environment, and each stopped at the end, also
 * on failure.
 */
import { join } from "node:path";
import { freePort, processTree, type ServerProcess, startCommand, startServer } from "./processes.ts";
import { host, root } from "./settings.ts";

/** Servers run on the bench's own Node (process.execPath), which must be the one the project runs on. */
export function requireNode24(): void {
  const major = Number(process.versions.node.split(".")[0]);
  if (major !== 24) throw new Error(`run the bench with Node 24 (npm run bench), not ${process.version}`);
}

export type ServerStart = {
  name: string;
  /** Node's arguments: its flags, then the script and the script's arguments. */
  args: readonly string[];
  /** Besides PATH, HOME and LANG, and HOST and PORT (a free port on loopback). */
  env: NodeJS.ProcessEnv;
  /** A line on stdout that says the server is listening. */
  ready: RegExp;
};

/** Mamori's options beyond the database: `mamori serve --workers <n>` for n > 1, and more environment. */
export type MamoriStart = { workers?: number; env?: NodeJS.ProcessEnv };

/** The servers that are running, so that whatever happens none is left behind. */
export class Servers {
  readonly #running = new Set<ServerProcess>();
  readonly #logDirectory: string | undefined;

  /** `logDirectory`: each server's standard output goes to `<name>.log` there, not to a pipe (processes.ts). */
  constructor(options: { logDirectory?: string } = {}) {
    this.#logDirectory = options.logDirectory;
  }

  /** Starts a server on a free port and resolves once it prints its ready line. */
  async start(options: ServerStart): Promise<ServerProcess> {
    const port = await freePort(host);
    const server = await startServer({
      name: options.name,
      command: process.execPath,
      args: options.args,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        LANG: "C.UTF-8",
        ...options.env,
        HOST: host,
        PORT: String(port),
      },
      cwd: root,
      host,
      port,
      ready: options.ready,
      ...(this.#logDirectory ? { logFile: join(this.#logDirectory, `${options.name}.log`) } : {}),
    });
    this.#running.add(server);
    return server;
  }

  /**
   * Starts Mamori as `npm start` runs it (its environment and Node flags, processes.ts), on the given
   * database, with NODE_ENV=development and LOG_LEVEL=warn.
   */
  async startMamori(name: string, databaseUrl: string, options: MamoriStart = {}): Promise<ServerProcess> {
    const workers = options.workers ?? 1;
    const { env, flags } = startCommand();
    const args =
      workers > 1
        ? [...flags, join(root, "bin/mamori.js"), "serve", "--workers", String(workers)]
        : [...flags, join(root, "src/main.ts")];
    return this.start({
      name,
      args,
      env: { ...env, NODE_ENV: "development", LOG_LEVEL: "warn", DATABASE_URL: databaseUrl, ...options.env },
      ready: /Mamori is serving/,
    });
  }

  async stop(server: ServerProcess): Promise<void> {
    await server.stop();
    this.#running.delete(server);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.#running].map((server) => server.stop()));
    this.#running.clear();
  }

  /** Every process of the running servers, their workers included: their CPU is ours, not "other". */
  pids(): number[] {
    return [...this.#running].flatMap((server) => processTree(server.pid));
  }

  /** The running servers other than `server` (idle while it is measured). */
  besides(server: ServerProcess): number[] {
    return [...this.#running].filter((other) => other !== server).map((other) => other.pid);
  }

  /** Kills every running server with its workers, synchronously (at exit: after a crash, a signal). */
  killAll(): void {
    for (const server of this.#running) {
      for (const pid of processTree(server.pid).reverse()) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // Already gone.
        }
      }
    }
  }
}
