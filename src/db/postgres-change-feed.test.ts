import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { test } from "node:test";
import type PgModule from "pg";
import { PostgresSessionCache } from "../session/session-cache-postgres.ts";
import { PostgresChangeFeed } from "./postgres-change-feed.ts";

// The change feed's barrier without a database: a pg client whose server the test plays, so the
// order in which ReadyForQuery and notifications come back is the test's to choose. The real
// server's side (a Sync's ReadyForQuery comes after every notification committed before it) is
// tested in test/postgres/session-change-feed.test.ts.

type Barrier = { handleReadyForQuery(): void; handleError(error: Error): void };

/** The connection the feed talks to: it records the barriers sent and answers them when told. */
class ScriptedServer {
  readonly sent: Barrier[] = [];
  client: ScriptedClient | undefined;

  /** ReadyForQuery for the oldest barrier not yet answered. */
  answerBarrier(): void {
    const barrier = this.sent.find((sent) => !this.#answered.has(sent));
    assert.ok(barrier, "a barrier on its way");
    this.#answered.add(barrier);
    barrier.handleReadyForQuery();
  }

  notify(payload: string): void {
    this.client?.emit("notification", { channel: "changes", payload });
  }

  readonly #answered = new Set<Barrier>();
}

class ScriptedClient extends EventEmitter {
  readonly #server: ScriptedServer;

  constructor(server: ScriptedServer) {
    super();
    this.#server = server;
    server.client = this;
  }

  async connect(): Promise<void> {}

  query(query: string | (PgModule.Submittable & Barrier)): Promise<{ rows: object[] }> | undefined {
    if (typeof query === "string") return Promise.resolve({ rows: [{ ready: 1 }] });
    // What pg's client does with a submittable: submit() writes its message (here, a Sync).
    let synced = false;
    query.submit({
      sync: () => {
        synced = true;
      },
    } as unknown as PgModule.Connection);
    assert.ok(synced, "the barrier is a Sync");
    this.#server.sent.push(query);
    return undefined;
  }
}

type Row = { id: string; account_id: string };

async function cacheOnScriptedFeed(): Promise<{
  cache: PostgresSessionCache<Row>;
  feed: PostgresChangeFeed;
  server: ScriptedServer;
}> {
  const server = new ScriptedServer();
  const pg = {
    Client: class extends ScriptedClient {
      constructor() {
        super(server);
      }
    },
  } as unknown as typeof PgModule;
  const cache = new PostgresSessionCache<Row>(10);
  const { promise: up, resolve } = Promise.withResolvers<void>();
  const feed = new PostgresChangeFeed(
    pg,
    { url: "postgres://scripted", channel: "changes", applicationName: "test", readyQuery: "select 1" },
    {
      change: (payload) => cache.change(payload),
      up: () => {
        cache.up();
        resolve();
      },
      down: () => cache.down(),
    },
  );
  cache.attach(feed);
  await up;
  return { cache, feed, server };
}

/** Two turns of the event loop: the feed sends a barrier a turn after it was asked for (setImmediate twice). */
async function nextTurn(): Promise<void> {
  for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
}

test("concurrent session checks share one barrier round trip, and a check that arrives while a barrier is on its way is answered only by the next barrier", async () => {
  // The attack: a session revoked on another process just after a barrier reached PostgreSQL, and
  // checked here just after the revocation's answer. Were that check to ride on the barrier already
  // on its way (sent before it arrived), its ReadyForQuery could come back before the revocation's
  // notification, and the revoked session would be served from the cache.
  const { cache, feed, server } = await cacheOnScriptedFeed();
  cache.remember("ses_1", { id: "ses_1", account_id: "acc_1" }, cache.generation());

  // 100 checks arrive together: one barrier for all of them.
  const early: (Row | undefined)[] = [];
  for (let i = 0; i < 100; i++)
    assert.equal(
      cache.whenSettled((settled) => early.push(settled ? cache.get("ses_1") : undefined)),
      "waiting",
    );
  const shared = cache.settled();
  assert.ok(shared instanceof Promise);
  assert.equal(cache.settled(), shared, "one promise for everyone waiting for the same barrier");
  await nextTurn();
  assert.equal(server.sent.length, 1, "one round trip for 100 checks");
  assert.equal(feed.barriersSent(), 1);

  // While that barrier is on its way, the session is revoked elsewhere and then checked here.
  let late: Row | undefined | "not yet" = "not yet";
  assert.equal(
    cache.whenSettled((settled) => {
      late = settled ? cache.get("ses_1") : undefined;
    }),
    "waiting",
  );
  await nextTurn();
  assert.equal(server.sent.length, 1, "no second barrier while the first is on its way");

  // PostgreSQL read the first Sync before the revocation committed: its ReadyForQuery comes first.
  server.answerBarrier();
  assert.equal(early.length, 100, "the checks that arrived before the barrier was sent are answered");
  assert.ok(early.every((row) => row?.id === "ses_1"));
  assert.equal(await shared, true);
  assert.equal(late, "not yet", "the check that arrived while it was on its way is not answered by it");

  // Then the revocation's notification, and the next barrier, sent once the first came back.
  server.notify("sses_1");
  await nextTurn();
  assert.equal(server.sent.length, 2, "the next barrier, for the check that waited");
  server.answerBarrier();
  assert.equal(late, undefined, "the revoked session is not served from the cache");
  await nextTurn();
  assert.equal(server.sent.length, 2, "nobody waiting: no barrier sent");
  feed.close();
});

test("a barrier on its way when the feed's connection is lost tells its waiters to read the database", async () => {
  const { cache, feed, server } = await cacheOnScriptedFeed();
  cache.remember("ses_1", { id: "ses_1", account_id: "acc_1" }, cache.generation());
  const told: boolean[] = [];
  cache.whenSettled((settled) => told.push(settled));
  await nextTurn();
  assert.equal(server.sent.length, 1);
  cache.whenSettled((settled) => told.push(settled));
  server.client?.emit("end");
  assert.deepEqual(told, [false], "the barrier on its way: false at once");
  await nextTurn();
  assert.deepEqual(told, [false, false], "the one waiting for the next: false, no barrier on a lost feed");
  assert.equal(server.sent.length, 1);
  assert.equal(cache.get("ses_1"), undefined, "and the cache is empty");
  feed.close();
});
