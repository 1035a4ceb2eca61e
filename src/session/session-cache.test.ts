import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import { openTestDatabase } from "../../test/support/databases.ts";
import { createAccount, fakeClock, limits } from "../../test/support/storage.ts";
import { type Database, openDatabase } from "../db/database.ts";
import { SqliteChanges } from "../db/sqlite-changes.ts";
import { secureRandom } from "../deps.ts";
import { setAccountStatus } from "../identity/accounts.ts";
import { SessionCache } from "./session-cache.ts";
import { authenticateSessionToken, renderCachedSession } from "./session-lookup.ts";
import { createSession, revokeSession, type SessionDeps } from "./sessions.ts";

// The session cache (SQLite) may answer only what a read of the database would: these tests hold
// it to that. `cachedSessionId` answers from the cache alone, so it shows whether a row is cached.

/** The session id the cache alone vouches for, for this token. */
function cachedSessionId(db: Database, deps: Pick<SessionDeps, "clock">, token: string): string | undefined {
  const answer = renderCachedSession(db, deps, token, (auth) => auth.session.id);
  // SQLite's cache answers at once; only PostgreSQL's waits for its change feed.
  if (answer instanceof Promise) throw new Error("SQLite's session cache answered with a promise");
  return answer;
}

async function signedIn(t: import("node:test").TestContext) {
  const database = await openTestDatabase("sqlite");
  t.after(() => database.close());
  const clock = fakeClock();
  const deps: SessionDeps = { clock, random: secureRandom, limits };
  const accountId = await createAccount(database.db, clock.now());
  const { token, session } = await createSession(database.db, deps, {
    accountId,
    factors: ["password"],
    persistent: true,
    sessionType: "cookie",
    ip: null,
    userAgent: null,
  });
  return { ...database, clock, deps, accountId, token, sessionId: session.id };
}

test("a session read once is answered from the cache, and only with its own secret", async (t) => {
  const { db, deps, token, sessionId } = await signedIn(t);
  assert.equal(cachedSessionId(db, deps, token), undefined, "nothing cached before a read");
  assert.equal((await authenticateSessionToken(db, deps, token))?.session.id, sessionId);
  assert.equal(cachedSessionId(db, deps, token), sessionId);
  const [id, secret = ""] = token.split(".");
  const wrong = `${id}.${secret.startsWith("a") ? "b" : "a"}${secret.slice(1)}`;
  assert.equal(cachedSessionId(db, deps, wrong), undefined);
  assert.equal(await authenticateSessionToken(db, deps, wrong), undefined);
});

test("a session revoked on this connection is refused at once, though its row was cached", async (t) => {
  const { db, deps, clock, accountId, token, sessionId } = await signedIn(t);
  assert.ok(await authenticateSessionToken(db, deps, token));
  assert.ok(cachedSessionId(db, deps, token));
  assert.equal(await revokeSession(db, accountId, sessionId, clock.now()), true);
  assert.equal(cachedSessionId(db, deps, token), undefined);
  assert.equal(await authenticateSessionToken(db, deps, token), undefined);
});

test("a session revoked by another process is refused from the next turn of the event loop on", async (t) => {
  const { db, url, deps, clock, accountId, token, sessionId } = await signedIn(t);
  // A second connection to the same file stands for another process: a worker, or the CLI.
  const other = openDatabase(url);
  t.after(() => other.destroy());
  assert.ok(await authenticateSessionToken(db, deps, token));
  await nextTurn();
  assert.ok(cachedSessionId(db, deps, token), "cached");
  assert.equal(await revokeSession(other, accountId, sessionId, clock.now()), true);
  await nextTurn();
  assert.equal(cachedSessionId(db, deps, token), undefined);
  assert.equal(await authenticateSessionToken(db, deps, token), undefined);
});

test("an account suspended by another process loses its cached sessions", async (t) => {
  const { db, url, deps, clock, accountId, token } = await signedIn(t);
  const other = openDatabase(url);
  t.after(() => other.destroy());
  assert.ok(await authenticateSessionToken(db, deps, token));
  await setAccountStatus(other, accountId, "suspended", "test", clock.now());
  await nextTurn();
  assert.equal(await authenticateSessionToken(db, deps, token), undefined);
});

test("a row read while a write to sessions happened is not cached", async (t) => {
  const { db, deps, token, accountId } = await signedIn(t);
  // The read and a write to another session of the account interleave: the read's row may be older
  // than the write, so it must not be kept.
  const pending = authenticateSessionToken(db, deps, token);
  await db.updateTable("session").set({ ip: "198.51.100.1" }).where("account_id", "=", accountId).execute();
  assert.ok(await pending);
  assert.equal(cachedSessionId(db, deps, token), undefined);
});

test("nothing is answered from the cache while a transaction is open on the connection", async (t) => {
  const { db, deps, token } = await signedIn(t);
  assert.ok(await authenticateSessionToken(db, deps, token));
  await db.transaction().execute(async (trx) => {
    await trx.selectFrom("account").select("id").execute();
    assert.equal(cachedSessionId(db, deps, token), undefined);
  });
  assert.ok(cachedSessionId(db, deps, token));
});

test("a revoked session or a suspended account read into the cache is never answered from it", async (t) => {
  const { db, deps, clock, accountId, token, sessionId } = await signedIn(t);
  assert.equal(await revokeSession(db, accountId, sessionId, clock.now()), true);
  // The read after the revocation keeps the revoked row: the cache must still refuse it.
  assert.equal(await authenticateSessionToken(db, deps, token), undefined);
  assert.equal(cachedSessionId(db, deps, token), undefined);

  const other = await signedIn(t);
  await setAccountStatus(other.db, other.accountId, "suspended", "test", other.clock.now());
  assert.equal(await authenticateSessionToken(other.db, other.deps, other.token), undefined);
  assert.equal(cachedSessionId(other.db, other.deps, other.token), undefined);
});

test("a session whose expiry was overwritten with something that is not a time is refused, by the route and the cache", async (t) => {
  // An operator force-expires a stolen session by hand (UPDATE … SET absolute_expires_at = ''):
  // the route refuses it, and so must the cache, whatever the text.
  for (const text of ["", "expired", "-infinity", "2999-01-01T00:00:00+09:00"]) {
    const { db, deps, token, sessionId } = await signedIn(t);
    await db.updateTable("session").set({ absolute_expires_at: text }).where("id", "=", sessionId).execute();
    assert.equal(await authenticateSessionToken(db, deps, token), undefined, text);
    assert.equal(cachedSessionId(db, deps, token), undefined, text);
  }
});

test("a session due for its last-seen touch is not answered from the cache", async (t) => {
  const { db, deps, clock, token } = await signedIn(t);
  assert.ok(await authenticateSessionToken(db, deps, token));
  clock.advanceSeconds(61);
  assert.equal(cachedSessionId(db, deps, token), undefined);
  const touched = await authenticateSessionToken(db, deps, token);
  assert.equal(touched?.session.last_seen_at, clock.now().toISOString());
});

test("a session that expires while cached is refused", async (t) => {
  const { db, deps, clock, token } = await signedIn(t);
  assert.ok(await authenticateSessionToken(db, deps, token));
  clock.advanceSeconds(limits.sessionAbsoluteSeconds + 1);
  assert.equal(cachedSessionId(db, deps, token), undefined);
  assert.equal(await authenticateSessionToken(db, deps, token), undefined);
});

test("the cache holds at most its capacity, and the oldest row goes first", () => {
  const changes = new SqliteChanges(new DatabaseSync(":memory:"));
  const cache = new SessionCache<string>(changes, 2);
  const generation = cache.generation();
  cache.remember("a", "row a", generation);
  cache.remember("b", "row b", generation);
  cache.remember("c", "row c", generation);
  assert.equal(cache.get("a"), undefined);
  assert.equal(cache.get("b"), "row b");
  assert.equal(cache.get("c"), "row c");
  changes.noteChange();
  assert.equal(cache.get("b"), undefined, "a change empties it");
  cache.remember("d", "row d", generation);
  assert.equal(cache.get("d"), undefined, "a row read before the change is not kept");
});
