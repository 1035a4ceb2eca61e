import { readFileSync } from "node:fs";
import { sql } from "kysely";
import { openDatabase } from "../src/db/database.ts";
import { machineTicks, processTicks, processTree, ticksBetween, ticksByPid } from "./processes.ts";

/** Where the CPU went during a phase, in cores: process trees, since a server may be several processes. */
export type TreeCpu = {
  /** The server under test: its process and its workers. */
  serverCores: number;
  /** Each process of the server's tree (the cluster primary first, then its workers). */
  serverProcessCores: number[];
  /** PostgreSQL's processes (0 for SQLite, which runs inside the server). */
  databaseCores: number;
  benchCores: number;
  /** Everything else on the machine (our idle servers are not counted here). */
  otherCores: number;
};

export type CpuGroups = {
  server: number;
  database?: number | undefined;
  /** Our own processes not under test (another server, idle). */
  idle: readonly number[];
};

type Snapshot = {
  machine: { busy: number; total: number };
  bench: number;
  server: Map<number, number>;
  database: Map<number, number>;
  idle: Map<number, number>;
};

function snapshot(groups: CpuGroups): Snapshot {
  return {
    machine: machineTicks(),
    bench: processTicks("self"),
    server: ticksByPid(processTree(groups.server)),
    database: ticksByPid(groups.database !== undefined ? processTree(groups.database) : []),
    idle: ticksByPid(groups.idle.flatMap((pid) => processTree(pid))),
  };
}

/** Like CpuMeter (processes.ts), for process trees whose members may come and go. */
export class TreeCpuMeter {
  readonly #cores: number;
  readonly #groups: CpuGroups;
  readonly #start: Snapshot;

  constructor(cores: number, groups: CpuGroups) {
    this.#cores = cores;
    this.#groups = groups;
    this.#start = snapshot(groups);
  }

  read(): TreeCpu {
    const end = snapshot(this.#groups);
    const start = this.#start;
    const total = end.machine.total - start.machine.total;
    const toCores = (ticks: number): number => (total > 0 ? (ticks / total) * this.#cores : 0);
    const server = ticksBetween(start.server, end.server);
    const database = ticksBetween(start.database, end.database);
    const bench = end.bench - start.bench;
    const idle = ticksBetween(start.idle, end.idle);
    const busy = end.machine.busy - start.machine.busy;
    return {
      serverCores: toCores(server),
      serverProcessCores: [...end.server].map(([pid, ticks]) =>
        toCores(ticks - (start.server.get(pid) ?? 0)),
      ),
      databaseCores: toCores(database),
      benchCores: toCores(bench),
      otherCores: Math.max(0, toCores(busy - server - database - bench - idle)),
    };
  }
}

/** The PostgreSQL postmaster's pid: the parent of the backend serving a fresh connection. */
export async function postmasterPid(url: string): Promise<number> {
  const db = openDatabase(url);
  try {
    const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db);
    const backend = rows[0]?.pid;
    if (backend === undefined) throw new Error("no backend pid");
    const stat = readFileSync(`/proc/${backend}/stat`, "utf8");
    const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (!Number.isInteger(parent) || parent <= 1) throw new Error(`no postmaster for backend ${backend}`);
    return parent;
  } finally {
    await db.destroy();
  }
}
