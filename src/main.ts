import type { Server } from "node:http";
import { pathToFileURL } from "node:url";
import type { Logger } from "pino";
import { buildApp } from "./app.ts";
import { type Config, ConfigError, loadConfig, readConfigSource } from "./config/config.ts";
import { startupWarnings } from "./config/startup-warnings.ts";
import {
  type Courier,
  createCourier,
  devOutboxTransport,
  type Transport,
  unconfiguredTransport,
} from "./courier/courier.ts";
import { startDispatcher } from "./courier/dispatcher.ts";
import { createSmtpTransport } from "./courier/smtp-transport.ts";
import { createTwilioTransports } from "./courier/twilio-transport.ts";
import { type Database, dialectOf, openDatabase } from "./db/database.ts";
import { migrateToLatest } from "./db/migrate.ts";
import { type Deps, secureRandom, systemClock } from "./deps.ts";
import { startHousekeeping } from "./operations/housekeeping.ts";
import { standardLogOutput } from "./operations/log-output.ts";
import { createLogger } from "./operations/logger.ts";
import { watchServiceState } from "./operations/metrics.ts";
import { processMetrics, reportMetricsToPrimary, startMetricsServer } from "./operations/metrics-server.ts";
import { redisThrottleStore } from "./throttle/redis-store.ts";
import { databaseThrottleStore } from "./throttle/throttle.ts";

/**
 * The delivery set-up a configuration asks for: mail by SMTP when SMTP_URL is set, texts and calls
 * by Twilio when TWILIO_* is set; otherwise the development outbox when it is on, else a transport
 * that fails every send (the message is retried, then marked failed).
 */
export function createConfiguredCourier(config: Config): Courier {
  const email: Transport = config.smtpUrl
    ? createSmtpTransport(
        config.smtpUrl,
        config.mailFrom,
        config.publicUrl.hostname,
        config.limits.smtpTimeoutSeconds,
      )
    : config.devOutbox
      ? devOutboxTransport
      : unconfiguredTransport("email");
  const twilio = config.twilio ? createTwilioTransports(config.twilio) : undefined;
  const phone = (channel: "sms" | "voice"): Transport =>
    twilio?.[channel] ?? (config.devOutbox ? devOutboxTransport : unconfiguredTransport(channel));
  return createCourier({ email, sms: phone("sms"), voice: phone("voice") });
}

/**
 * Opens the database (migrating it) and assembles the real dependencies, after logging what the
 * operator should hear of the configuration (src/config/startup-warnings.ts).
 */
export async function createDeps(config: Config, log: Logger = createLogger(config)): Promise<Deps> {
  for (const warning of startupWarnings(config)) log.warn(warning);
  const db = openDatabase(config.databaseUrl, {
    connectTimeoutMs: config.timeouts.databaseConnectMs,
    queryTimeoutMs: config.timeouts.databaseQueryMs,
    onConnectionError: (error) => log.warn({ err: error }, "database connection lost"),
  });
  const applied = await migrateDatabase(config, db);
  if (applied.length > 0) log.info({ migrations: applied }, "database migrated");
  return {
    config,
    db,
    clock: systemClock,
    random: secureRandom,
    courier: createConfiguredCourier(config),
    throttle: config.redisUrl ? redisThrottleStore(config.redisUrl) : databaseThrottleStore(db),
    log,
  };
}

/**
 * Migrates the database. On PostgreSQL through a connection of its own without the query timeout:
 * a migration may rightly take longer than any request's query.
 */
async function migrateDatabase(config: Config, db: Database): Promise<string[]> {
  if (dialectOf(db) === "sqlite") return migrateToLatest(db);
  const unbounded = openDatabase(config.databaseUrl, { connectTimeoutMs: config.timeouts.databaseConnectMs });
  try {
    return await migrateToLatest(unbounded);
  } finally {
    await unbounded.destroy();
  }
}

// At shutdown, the longest wait for log lines still on their way to a slow reader.
const logFlushMs = 1000;
// At shutdown, how often connections that finished their request are closed.
const idleSweepMs = 50;

/** `mamori serve`: the HTTP server and the outbox dispatcher, stopped cleanly on SIGINT/SIGTERM. */
export async function serve(
  config: Config,
  options: { banner?: boolean; metrics?: "serve" | "report_to_primary" } = {},
): Promise<void> {
  const output = standardLogOutput();
  const deps = await createDeps(config, createLogger(config, output));
  const app = await buildApp(deps);
  const dispatcher = startDispatcher(deps);
  const housekeeping = startHousekeeping(deps);
  await app.listen({ port: config.port, host: config.host });
  let metricsServer: Server | undefined;
  if (config.metrics) {
    watchServiceState(deps);
    if (options.metrics === "report_to_primary") reportMetricsToPrimary();
    else metricsServer = await startMetricsServer(config.metrics, processMetrics());
  }
  const url = `http://${config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host}:${config.port}`;
  const mail = config.smtpUrl
    ? `mail goes out through SMTP (${new URL(config.smtpUrl).host})`
    : `mail goes to the development outbox: ${url}/dev/outbox`;
  if (options.banner ?? true) output.write(`Mamori is serving ${url} (${config.environment}); ${mail}\n`);

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    // Whatever hangs (a frozen database, a stuck mail server), the process ends within the bound.
    const limitMs = config.timeouts.shutdownSeconds * 1000;
    const deadline = Date.now() + limitMs;
    setTimeout(() => {
      output.notice(`mamori: not stopped ${config.timeouts.shutdownSeconds} s after ${signal}; exiting now`);
      output.reportDropped();
      process.exit(1);
    }, limitMs);
    deps.log.info({ signal }, "stopping");
    // Stops listening and waits for the requests in flight (each bounded by the database timeouts).
    // A keep-alive connection whose request was in flight becomes idle only afterwards, and would
    // hold the close up until the client let go: closed as soon as it is idle.
    const closeIdle = setInterval(() => app.server.closeIdleConnections(), idleSweepMs);
    let status = 0;
    try {
      await app.close();
      clearInterval(closeIdle);
      metricsServer?.close();
      await dispatcher.stop();
      await housekeeping.stop();
      await deps.throttle.close();
      await deps.db.destroy();
      deps.log.info({ signal }, "stopped");
    } catch (error) {
      // A step that failed (the database gone while its pool closes) must not skip the exit.
      deps.log.error({ err: error, signal }, "stopping failed");
      status = 1;
    }
    await output.flush(Math.min(logFlushMs, Math.max(0, deadline - Date.now())));
    output.reportDropped();
    process.exit(status);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
}

/** Reads the configuration from the environment, or prints every problem and exits with status 2. */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig(readConfigSource(process.env));
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await serve(loadConfigOrExit());
}
