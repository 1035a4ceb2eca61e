import type PgModule from "pg";

/** What a feed tells its listener (the PostgreSQL session cache). */
export type ChangeListener = {
  /** A committed change: the NOTIFY payload. */
  change(payload: string): void;
  /** The feed listens again after a (re)connection: changes from now on will be told. */
  up(): void;
  /** The feed lost its connection: changes may be missed until it is up again. */
  down(): void;
};

export type ChangeFeedOptions = {
  url: string;
  channel: string;
  /** Shown in pg_stat_activity, so an operator (or a test) can find the feed's backend. */
  applicationName: string;
  /** A query that must return a row before the feed is up: the triggers that notify exist. */
  readyQuery: string;
  connectTimeoutMs?: number;
  /** Told when the feed's connection is lost or cannot be made. */
  onConnectionError?: (error: Error) => void;
};

// A barrier not answered within this is a feed that stopped answering: it is dropped and remade.
const barrierStallMs = 2_000;
// Reconnection: the first retry at once-ish, then doubling up to 5 s (and back to the start once up).
const firstRetryMs = 50;
const lastRetryMs = 5_000;

/**
 * A dedicated PostgreSQL connection that LISTENs to one channel, for a cache that must never
 * answer what the database no longer holds. It is not a pool connection: no statement_timeout
 * ends it, and nothing else runs on it. It reconnects by itself, with backoff, whenever it is
 * lost (the server restarted, `pg_terminate_backend`, a network fault), and tells its listener
 * `down` at once and `up` only once it listens again.
 *
 * `barrier()` is what makes a cached row safe to hand out: it resolves true once a round trip on
 * this connection, started after the call, has come back with the connection still up. PostgreSQL
 * queues notifications in commit order (NOTIFY takes a database-wide lock until its transaction
 * has committed, src/backend/commands/async.c), signals every listener before the committing
 * client is answered, and a listening backend sends what its signal brought before it answers its
 * next query. So when the barrier resolves, the listener has been told of every change whose
 * commit was answered before the barrier was asked for. The barriers of requests that arrive
 * together share one round trip (an empty query, which PostgreSQL answers without parsing), so a
 * busy process sends one per batch, not one per request.
 */
export class PostgresChangeFeed {
  readonly #pg: typeof PgModule;
  readonly #options: ChangeFeedOptions;
  readonly #listener: ChangeListener;
  #client: PgModule.Client | undefined;
  #up = false;
  #closed = false;
  #retryMs = firstRetryMs;
  #retryTimer: NodeJS.Timeout | undefined;
  #inFlight: Promise<boolean> | undefined;
  #queued: Promise<boolean> | undefined;

  constructor(pg: typeof PgModule, options: ChangeFeedOptions, listener: ChangeListener) {
    this.#pg = pg;
    this.#options = options;
    this.#listener = listener;
    void this.#connect();
  }

  /** Whether the feed listens now (rows read now will be told of their changes). */
  isUp(): boolean {
    return this.#up;
  }

  /** False at once when the feed is down; else resolves as the class comment says (never rejects). */
  barrier(): Promise<boolean> | false {
    if (!this.#up) return false;
    if (!this.#inFlight) {
      this.#inFlight = this.#roundTrip();
      return this.#inFlight;
    }
    // One is on its way, sent before this call: wait for the next, which starts when it returns.
    this.#queued ??= this.#inFlight.then(() => {
      this.#queued = undefined;
      if (!this.#up) return false;
      this.#inFlight ??= this.#roundTrip();
      return this.#inFlight;
    });
    return this.#queued;
  }

  /** Stops listening for good (the database is being closed). */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    const client = this.#client;
    if (client) this.#lose(client);
  }

  #roundTrip(): Promise<boolean> {
    const client = this.#client;
    const done = new Promise<boolean>((resolve) => {
      if (!client) return resolve(false);
      const stalled = setTimeout(() => {
        resolve(false);
        this.#lose(client, new Error(`the session change feed did not answer within ${barrierStallMs} ms`));
      }, barrierStallMs);
      // The empty query: EmptyQueryResponse and ReadyForQuery, after any notification pending.
      client.query("").then(
        () => {
          clearTimeout(stalled);
          resolve(this.#client === client && this.#up);
        },
        () => {
          clearTimeout(stalled);
          resolve(false);
        },
      );
    });
    const trip: Promise<boolean> = done.then((settled) => {
      // The next barrier asked for sends a round trip of its own.
      if (this.#inFlight === trip) this.#inFlight = undefined;
      return settled;
    });
    return trip;
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    const client = new this.#pg.Client({
      connectionString: this.#options.url,
      application_name: this.#options.applicationName,
      keepAlive: true,
      ...(this.#options.connectTimeoutMs !== undefined
        ? { connectionTimeoutMillis: this.#options.connectTimeoutMs }
        : {}),
    });
    this.#client = client;
    client.on("error", (error) => this.#lose(client, error));
    client.on("end", () => this.#lose(client));
    client.on("notification", (message) => {
      if (this.#client === client && message.channel === this.#options.channel)
        this.#listener.change(message.payload ?? "*");
    });
    try {
      await client.connect();
      await client.query(`listen ${this.#options.channel}`);
      const ready = await client.query(this.#options.readyQuery);
      if (ready.rows.length === 0)
        throw new Error("the session change feed's triggers are missing (migration 018)");
    } catch (error) {
      this.#lose(client, error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (this.#client !== client || this.#closed) return;
    this.#up = true;
    this.#retryMs = firstRetryMs;
    this.#listener.up();
  }

  /** The connection is gone or unusable: down now, and a new one after the backoff. */
  #lose(client: PgModule.Client, error?: Error): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    const wasUp = this.#up;
    this.#up = false;
    // Whatever the connection still emits is ignored from now on, but must not be unhandled.
    client.removeAllListeners();
    client.on("error", () => {});
    // Not end(): a frozen server never answers its goodbye; the socket is closed at once.
    (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    this.#listener.down();
    if (this.#closed) return;
    if (error || wasUp)
      this.#options.onConnectionError?.(error ?? new Error("the session change feed's connection ended"));
    this.#retryTimer = setTimeout(() => void this.#connect(), this.#retryMs);
    this.#retryTimer.unref();
    this.#retryMs = Math.min(this.#retryMs * 2, lastRetryMs);
  }
}
