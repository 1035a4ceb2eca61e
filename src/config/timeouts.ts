import { parseInteger } from "./limits.ts";

/**
 * How long Mamori waits on what it does not control: a database connection, a query, the
 * readiness probe's query, and the in-flight requests at shutdown. A frozen database or a stuck
 * log reader then costs a bounded wait, never a hang (docs/deployment.md, "When the database fails").
 */
export type Timeouts = {
  /** Opening a PostgreSQL connection, or waiting for a free one in the pool. */
  databaseConnectMs: number;
  /** One query: PostgreSQL's statement_timeout and the driver's own wait for the answer. */
  databaseQueryMs: number;
  /** `/readyz` answers 503 when the database has not answered `select 1` within this. */
  readyCheckMs: number;
  /** After SIGTERM, the longest the process takes to finish its requests and exit. */
  shutdownSeconds: number;
};

type TimeoutRule = { key: keyof Timeouts; env: string; fallback: number; min: number; max: number };

const timeoutRules: readonly TimeoutRule[] = [
  {
    key: "databaseConnectMs",
    env: "MAMORI_DATABASE_CONNECT_TIMEOUT_MS",
    fallback: 5000,
    min: 100,
    max: 60_000,
  },
  {
    key: "databaseQueryMs",
    env: "MAMORI_DATABASE_QUERY_TIMEOUT_MS",
    fallback: 10_000,
    min: 100,
    max: 300_000,
  },
  { key: "readyCheckMs", env: "MAMORI_READY_TIMEOUT_MS", fallback: 2000, min: 100, max: 30_000 },
  { key: "shutdownSeconds", env: "MAMORI_SHUTDOWN_TIMEOUT_SECONDS", fallback: 10, min: 1, max: 300 },
];

export function parseTimeouts(source: Record<string, string | undefined>, problems: string[]): Timeouts {
  const timeouts: Timeouts = {
    databaseConnectMs: 0,
    databaseQueryMs: 0,
    readyCheckMs: 0,
    shutdownSeconds: 0,
  };
  for (const rule of timeoutRules) {
    timeouts[rule.key] = parseInteger(
      rule.env,
      source[rule.env],
      rule.fallback,
      rule.min,
      rule.max,
      problems,
    );
  }
  return timeouts;
}
