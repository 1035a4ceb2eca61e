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

/** Told once, when the barrier it waits for has come back: true, or false when the feed cannot say. */
export type BarrierWaiter = (settled: boolean) => void;

/**
 * A dedicated PostgreSQL connection that LISTENs to one channel, for a cache that must never
 * answer what the database no longer holds. It is not a pool connection: no statement_timeout
 * ends it, and nothing else runs on it. It reconnects by itself, with backoff, whenever it is
 * lost (the server restarted, `pg_terminate_backend`, a network fault), and tells its listener
 * `down` at once and `up` only once it listens again.
 *
 * A barrier is what makes a cached row safe to hand out: a Sync message on this connection, sent
 * after the request asked for it, whose ReadyForQuery has come back with the connection still up.
 * PostgreSQL sends the notifications of every transaction committed before it reads the Sync
 * ahead of that ReadyForQuery (decision 0024 gives the argument), so by then the listener has been
 * told of every change whose commit was answered before the request arrived.
 *
 * One barrier at most is on its way at a time, and every request that asked before it was sent
 * shares it: the waiters gathered while one is on its way are answered by the next, which is sent
 * once the current one is back (never by the current one, sent before they asked). A barrier is
 * sent one turn of the event loop after it was first asked for (`setImmediate` twice): the
 * requests read in that turn and in the next poll share it, among them those whose clients sent
 * them as soon as the previous batch's answers came back, which the first turn is too early for.
 * A busy process sends one per two turns, not one per request (decision 0024 has the figures).
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
  /** Asked since the last barrier was sent: answered by the next one. */
  #waiting: BarrierWaiter[] = [];
  /** The promise `settled()` hands out for the next barrier (one, shared by all who asked). */
  #nextSettled: Promise<boolean> | undefined;
  /** The barrier on its way: its end (answers its waiters once), or undefined. */
  #inFlight: ((settled: boolean) => void) | undefined;
  #sendScheduled = false;
  #barriersSent = 0;

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

  /** The barriers sent since the feed was made (what a test counts, and an operator may). */
  barriersSent(): number {
    return this.#barriersSent;
  }

  /**
   * Calls `waiter` once a barrier sent after this call has come back (true), or could not (false),
   * and returns true; returns false at once, and never calls it, when the feed is down.
   */
  whenSettled(waiter: BarrierWaiter): boolean {
    if (!this.#up) return false;
    this.#waiting.push(waiter);
    this.#scheduleSend();
    return true;
  }

  /** `whenSettled` as a promise, one shared by everyone who asks before the next barrier is sent. */
  settled(): Promise<boolean> | false {
    if (!this.#up) return false;
    this.#nextSettled ??= new Promise<boolean>((resolve) => {
      this.#waiting.push(resolve);
      this.#scheduleSend();
    });
    return this.#nextSettled;
  }

  /** Stops listening for good (the database is being closed). */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    const client = this.#client;
    if (client) this.#lose(client);
  }

  #scheduleSend(): void {
    if (this.#inFlight || this.#sendScheduled) return;
    this.#sendScheduled = true;
    // A turn later: the next poll brings the requests sent in answer to the batch just answered.
    setImmediate(() => setImmediate(() => this.#send()));
  }

  /** Sends the next barrier for everyone waiting (or tells them false when the feed is down). */
  #send(): void {
    this.#sendScheduled = false;
    if (this.#inFlight || this.#waiting.length === 0) return;
    const waiters = this.#waiting;
    this.#waiting = [];
    this.#nextSettled = undefined;
    const client = this.#client;
    if (!client || !this.#up) {
      tell(waiters, false);
      return;
    }
    let answered = false;
    const end = (settled: boolean): void => {
      if (answered) return;
      answered = true;
      clearTimeout(stalled);
      if (this.#inFlight === end) this.#inFlight = undefined;
      // The next barrier, for those who asked while this one was on its way.
      if (this.#waiting.length > 0) this.#scheduleSend();
      tell(waiters, settled);
    };
    const stalled = setTimeout(() => {
      end(false);
      this.#lose(client, new Error(`the session change feed did not answer within ${barrierStallMs} ms`));
    }, barrierStallMs);
    this.#inFlight = end;
    this.#barriersSent += 1;
    // A Sync alone: PostgreSQL answers it with ReadyForQuery, after any notification pending. The
    // client runs one message exchange at a time, so nothing else is ever between the two.
    const barrier: PgModule.Submittable & { handleReadyForQuery(): void; handleError(): void } = {
      submit(connection: PgModule.Connection): void {
        connection.sync();
      },
      handleReadyForQuery: (): void => end(this.#client === client && this.#up),
      handleError: (): void => end(false),
    };
    client.query(barrier);
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
    if (!this.#closed) {
      if (error || wasUp)
        this.#options.onConnectionError?.(error ?? new Error("the session change feed's connection ended"));
      this.#retryTimer = setTimeout(() => void this.#connect(), this.#retryMs);
      this.#retryTimer.unref();
      this.#retryMs = Math.min(this.#retryMs * 2, lastRetryMs);
    }
    // The barrier on its way can no longer come back on this connection: its waiters read instead.
    this.#inFlight?.(false);
  }
}

/** Tells every waiter, even when one throws (a bug): the first error is thrown once all are told. */
function tell(waiters: readonly BarrierWaiter[], settled: boolean): void {
  let failure: { error: unknown } | undefined;
  for (const waiter of waiters) {
    try {
      waiter(settled);
    } catch (error) {
      failure ??= { error };
    }
  }
  if (failure) throw failure.error;
}
