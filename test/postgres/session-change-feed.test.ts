import assert from "node:assert/strict";
import { after, test } from "node:test";
import { sql } from "kysely";
import pg from "pg";
import { sessionChangeChannel } from "../../src/db/database.ts";
import { PostgresChangeFeed } from "../../src/db/postgres-change-feed.ts";
import { secureRandom } from "../../src/deps.ts";
import { setAccountStatus } from "../../src/identity/accounts.ts";
import { createSession, revokeSession, rotateSessionSecret } from "../../src/session/sessions.ts";
import { openTestDatabase, stopSharedPostgres } from "../support/databases.ts";
import { createAccount, fakeClock, limits } from "../support/storage.ts";

// Migration 018's triggers: every committed change to a session or an account row is told on the
// session change channel, and nothing that did not commit. The attack it stops: a writer that
// changes a row the session cache holds without telling the caches (a revocation, a suspension),
// so that every other process goes on accepting the session.

after(stopSharedPostgres);

test("every committed change to a session or an account row is notified, and a rolled-back one is not", async (t) => {
  const database = await openTestDatabase("postgres");
  t.after(() => database.close());
  const listener = new pg.Client({ connectionString: database.url });
  await listener.connect();
  t.after(() => listener.end());
  const told: string[] = [];
  listener.on("notification", (message) => {
    if (message.channel === sessionChangeChannel) told.push(message.payload ?? "");
  });
  await listener.query(`listen ${sessionChangeChannel}`);
  // Everything committed before the empty query's answer has been told by then (decision 0024).
  const settle = async (): Promise<string[]> => {
    await listener.query("");
    return told.splice(0);
  };

  const db = database.db;
  const clock = fakeClock();
  const deps = { clock, random: secureRandom, limits };
  const accountId = await createAccount(db, clock.now());
  const { session } = await createSession(db, deps, {
    accountId,
    factors: ["password"],
    persistent: false,
    sessionType: "cookie",
    ip: null,
    userAgent: null,
  });
  assert.deepEqual(await settle(), [], "an insert changes no cached row");

  await rotateSessionSecret(db, secureRandom, session.id);
  assert.deepEqual(await settle(), [`s${session.id}`], "a new secret");
  await revokeSession(db, accountId, session.id, clock.now());
  assert.deepEqual(await settle(), [`s${session.id}`], "a revocation");
  await setAccountStatus(db, accountId, "suspended", "test", clock.now());
  assert.deepEqual(await settle(), [`a${accountId}`], "a suspension");

  await db
    .transaction()
    .execute(async (trx) => {
      await trx.updateTable("account").set({ name: "取消 太郎" }).where("id", "=", accountId).execute();
      throw new Error("rolled back");
    })
    .catch(() => undefined);
  assert.deepEqual(await settle(), [], "a rolled-back change is not told");

  await db.deleteFrom("account").where("id", "=", accountId).execute();
  const deleted = await settle();
  assert.deepEqual(new Set(deleted), new Set([`a${accountId}`, `s${session.id}`]), "a deletion, cascaded");

  await sql`truncate table session`.execute(db);
  assert.deepEqual(await settle(), ["*"], "a truncation");
});

test("a barrier (a Sync on the LISTEN connection) comes back only after every change committed before it was sent has been told, and the checks that ask together share one", async (t) => {
  // The attack: a revocation committed (and answered) just before a session check, whose cached
  // row would still be served if the barrier could come back ahead of the revocation's notification.
  const database = await openTestDatabase("postgres");
  t.after(() => database.close());
  const told: string[] = [];
  const { promise: up, resolve } = Promise.withResolvers<void>();
  const feed = new PostgresChangeFeed(
    pg,
    {
      url: database.url,
      channel: sessionChangeChannel,
      applicationName: "mamori-feed-test",
      readyQuery: "select 1",
    },
    { change: (payload) => told.push(payload), up: () => resolve(), down: () => {} },
  );
  t.after(() => feed.close());
  await up;
  const db = database.db;
  const clock = fakeClock();
  const accountId = await createAccount(db, clock.now());
  for (let round = 0; round < 50; round++) {
    await db
      .updateTable("account")
      .set({ name: `順番 ${round}` })
      .where("id", "=", accountId)
      .execute();
    // The change's commit has been answered: every check asked for from now on must see it told.
    const sentBefore = feed.barriersSent();
    const seen = await Promise.all(
      Array.from(
        { length: 20 },
        () =>
          new Promise<boolean>((settledCheck) => {
            const waiting = feed.whenSettled((settled) =>
              settledCheck(settled && told.includes(`a${accountId}`)),
            );
            assert.equal(waiting, true, "the feed is up");
          }),
      ),
    );
    assert.deepEqual(
      new Set(seen),
      new Set([true]),
      `round ${round}: the change was told before the barrier came back`,
    );
    assert.equal(feed.barriersSent() - sentBefore, 1, `round ${round}: one barrier for 20 checks`);
    told.length = 0;
  }

  // A burst: 20,000 notifications committed at once take the listener many reads to receive, so a
  // barrier that only waited (a turn of the event loop, a timer) would come back midway; a Sync's
  // ReadyForQuery comes after the last of them.
  const burst = 20_000;
  await sql`select pg_notify(${sessionChangeChannel}, 'burst ' || n) from generate_series(1, ${burst}) as n`.execute(
    db,
  );
  const toldAtBarrier = await new Promise<number>((settledCheck) => {
    feed.whenSettled(() => settledCheck(told.length));
  });
  assert.equal(toldAtBarrier, burst, "every notification of the burst was told before the barrier came back");
});
