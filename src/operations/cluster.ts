import cluster, { type Worker } from "node:cluster";
import type { Config } from "../config/config.ts";
import { openDatabase } from "../db/database.ts";
import { migrateToLatest } from "../db/migrate.ts";
import { serve } from "../main.ts";
import { clusterMetrics, startMetricsServer } from "./metrics-server.ts";

/**
 * `mamori serve --workers N`: N processes on one machine (node:cluster), sharing the listening
 * port, each with its HTTP server and outbox dispatcher. Nothing lives in one process's memory
 * (sessions, flows, throttles, the outbox are in the database), so any worker answers any request.
 * The primary migrates once, restarts a worker that dies (after a pause if they keep dying), and
 * passes SIGTERM/SIGINT on for a clean stop.
 */
const restartPauseMs = 1000;

export async function serveWithWorkers(config: Config, workers: number): Promise<void> {
  if (cluster.isWorker) {
    await serve(config, { banner: cluster.worker?.id === 1, metrics: "report_to_primary" });
    return;
  }
  // Migrate before forking, so the workers do not queue up behind each other's migration lock.
  const db = openDatabase(config.databaseUrl);
  await migrateToLatest(db);
  await db.destroy();

  // The primary answers the scrape with every worker's figures summed.
  const metricsServer = config.metrics
    ? await startMetricsServer(config.metrics, clusterMetrics())
    : undefined;
  let stopping = false;
  const fork = (): Worker => cluster.fork();
  for (let i = 0; i < workers; i++) fork();
  cluster.on("exit", (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    process.stderr.write(
      `mamori: worker ${worker.process.pid} ended (${signal ?? code}); starting another\n`,
    );
    setTimeout(fork, restartPauseMs).unref();
  });
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    metricsServer?.close();
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill(signal);
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}
