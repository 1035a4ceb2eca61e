import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from "kysely";
import type PgModule from "pg";
import { DatabaseUnavailableError, isConnectionFailure } from "./database-unavailable.ts";

export type PostgresPoolOptions = {
  /** Opening a connection, or waiting for a free one in the pool; unset: no limit (the CLI). */
  connectTimeoutMs?: number;
  /** PostgreSQL's statement_timeout and the driver's wait for an answer; unset: no limit. */
  queryTimeoutMs?: number;
  /** Told of a connection that broke (the server stopped, crashed or reset it). */
  onConnectionError?: (error: Error) => void;
};

const maxConnections = 10;

/**
 * A pg pool for Kysely that survives its database: an 'error' event of any connection, idle or in
 * the middle of a query, is handled (an unhandled one ends the Node process); every connect and
 * every query is bounded in time; a connection that broke or timed out is thrown away, never handed
 * to the next request; and each such failure reaches the caller as a DatabaseUnavailableError.
 */
export function createPostgresPool(
  pg: typeof PgModule,
  url: string,
  options: PostgresPoolOptions = {},
): PostgresPool {
  const pool = new pg.Pool({
    connectionString: url,
    max: maxConnections,
    keepAlive: true,
    ...(options.connectTimeoutMs !== undefined ? { connectionTimeoutMillis: options.connectTimeoutMs } : {}),
    ...(options.queryTimeoutMs !== undefined
      ? { statement_timeout: options.queryTimeoutMs, query_timeout: options.queryTimeoutMs }
      : {}),
  });
  const onConnectionError = (error: Error): void => options.onConnectionError?.(error);
  // An idle connection's error (pg-pool then drops the connection).
  pool.on("error", onConnectionError);
  // A checked-out connection's error: pg-pool listens only while a connection is idle, so without
  // this an immediate shutdown of PostgreSQL mid-query is an unhandled 'error' event.
  pool.on("connect", (client) => client.on("error", onConnectionError));

  const guarded = new WeakMap<PgModule.PoolClient, PostgresPoolClient>();
  return {
    async connect(): Promise<PostgresPoolClient> {
      let client: PgModule.PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        throw new DatabaseUnavailableError(error);
      }
      let wrapper = guarded.get(client);
      if (!wrapper) {
        wrapper = guardedClient(client);
        guarded.set(client, wrapper);
      }
      return wrapper;
    },
    end(): Promise<void> {
      return pool.end();
    },
  };
}

/** A connection that, once it failed as a connection, refuses more queries and is discarded. */
function guardedClient(client: PgModule.PoolClient): PostgresPoolClient {
  let failure: unknown;
  async function query(
    sql: string,
    parameters: ReadonlyArray<unknown>,
  ): Promise<PostgresQueryResult<unknown>> {
    // A transaction's ROLLBACK after a timeout fails at once instead of waiting out another one.
    if (failure !== undefined) throw new DatabaseUnavailableError(failure);
    try {
      // pg's result has the fields Kysely reads (command, rowCount, rows), with wider types.
      return (await client.query(sql, [...parameters])) as unknown as PostgresQueryResult<unknown>;
    } catch (error) {
      if (!isConnectionFailure(error)) throw error;
      failure = error;
      throw new DatabaseUnavailableError(error);
    }
  }
  return {
    // Kysely calls query's other form (a cursor) only when the dialect has a `cursor` option,
    // which Mamori never sets; this one form is all it uses.
    query: query as PostgresPoolClient["query"],
    release(destroy?: boolean): void {
      client.release(failure !== undefined || destroy === true);
    },
  };
}
