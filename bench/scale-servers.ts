/**
 * The processes of the scale part (bench/scale.ts): the Mamori servers under test and the throwaway
 * PostgreSQL (test/support/postgres.ts), whose CPU is ours rather than "other", all stopped at the
 * end, also on failure.
 */
import { type PostgresServer, startPostgres } from "../test/support/postgres.ts";
import { processTree, type ServerProcess } from "./processes.ts";
import { postmasterPid } from "./scale-processes.ts";
import { benchLimits } from "./scale-settings.ts";
import { Servers } from "./servers.ts";

export class ScaleServers {
  readonly #servers: Servers;
  #postgres: PostgresServer | undefined;
  /** The postmaster, once PostgreSQL runs: its processes are ours, not "other". */
  #postgresPid: number | undefined;

  constructor(options: { logDirectory?: string } = {}) {
    this.#servers = new Servers(options);
  }

  /** Mamori on `databaseUrl` with the bench's raised limits; `mamori serve --workers <n>` for n > 1. */
  startMamori(
    name: string,
    databaseUrl: string,
    workers: number,
    env: NodeJS.ProcessEnv = {},
  ): Promise<ServerProcess> {
    return this.#servers.startMamori(name, databaseUrl, { workers, env: { ...benchLimits, ...env } });
  }

  /** The bare node:http yardstick (bench/baseline-server.ts); stopped with stopMamori. */
  startBaseline(script: string): Promise<ServerProcess> {
    return this.#servers.start({ name: "baseline", args: [script], env: {}, ready: /baseline listening/ });
  }

  stopMamori(server: ServerProcess): Promise<void> {
    return this.#servers.stop(server);
  }

  /** Starts PostgreSQL and returns its server URL (for createTestDatabase). */
  async startPostgres(): Promise<string> {
    this.#postgres = await startPostgres();
    return this.#postgres.url;
  }

  /** Finds the postmaster through a database of it: from then on its processes count as ours. */
  async adoptPostgres(databaseUrl: string): Promise<number> {
    this.#postgresPid = await postmasterPid(databaseUrl);
    return this.#postgresPid;
  }

  async stopEverything(): Promise<void> {
    await this.#servers.stopAll();
    await this.#postgres?.stop();
    this.#postgres = undefined;
    this.#postgresPid = undefined;
  }

  /** A server still up when the process exits (a crash, a signal) is killed with its workers. */
  killLeftovers(): void {
    this.#servers.killAll();
  }

  /** Every process of ours: the servers with their workers, and PostgreSQL's. */
  ownPids(): number[] {
    const servers = this.#servers.pids();
    return this.#postgresPid !== undefined ? [...servers, ...processTree(this.#postgresPid)] : servers;
  }

  /** Our servers other than `server` (idle while it is measured). */
  idleBesides(server: ServerProcess): number[] {
    return this.#servers.besides(server);
  }
}
