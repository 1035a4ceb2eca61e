import assert from "node:assert/strict";
import { test } from "node:test";
import { PostgresSessionCache, type SessionFeed } from "./session-cache-postgres.ts";

// PostgreSQL's session cache without a database: a feed whose state the test sets. Each rule is one
// way a cache could hand out a row the database no longer holds (a revoked session, a suspended
// account); the multi-process tests (test/resilience/session-cache-postgres.test.ts) run them for real.

type Row = { id: string; account_id: string; revoked_at: string | null };

function cacheWithFeed(capacity = 10) {
  const feed = { up: true, barriers: 0 };
  const control: SessionFeed = {
    isUp: () => feed.up,
    whenSettled: (waiter) => {
      if (!feed.up) return false;
      feed.barriers += 1;
      queueMicrotask(() => waiter(true));
      return true;
    },
    settled: () => {
      if (!feed.up) return false;
      feed.barriers += 1;
      return Promise.resolve(true);
    },
  };
  const cache = new PostgresSessionCache<Row>(capacity);
  cache.attach(control);
  cache.up();
  return { cache, feed };
}

const row = (id: string, account = "acc_1"): Row => ({ id, account_id: account, revoked_at: null });

test("a cached row is handed out only after the feed's barrier", async () => {
  const { cache, feed } = cacheWithFeed();
  cache.remember("ses_1", row("ses_1"), cache.generation());
  const settled = cache.settled();
  assert.ok(settled instanceof Promise, "a barrier, not an answer at once");
  assert.equal(await settled, true);
  assert.equal(feed.barriers, 1);
  assert.deepEqual(cache.get("ses_1"), row("ses_1"));
});

test("a change told for a session or its account evicts the row", () => {
  const { cache } = cacheWithFeed();
  cache.remember("ses_1", row("ses_1"), cache.generation());
  cache.remember("ses_2", row("ses_2"), cache.generation());
  cache.remember("ses_3", row("ses_3", "acc_2"), cache.generation());
  cache.change("sses_1");
  assert.equal(cache.get("ses_1"), undefined, "its session changed");
  assert.ok(cache.get("ses_2"));
  cache.change("aacc_1");
  assert.equal(cache.get("ses_2"), undefined, "its account changed (suspended, a new password)");
  assert.ok(cache.get("ses_3"), "another account's session stays");
  cache.change("*");
  assert.equal(cache.get("ses_3"), undefined, "a truncation empties the cache");
});

test("a row read while its session or account changed is not kept", () => {
  // The attack: a read that began before a revocation committed returns after the revocation's
  // notification was handled; keeping it would serve the revoked session until the next change.
  const { cache } = cacheWithFeed();
  const before = cache.generation();
  cache.change("sses_1");
  cache.remember("ses_1", row("ses_1"), before);
  assert.equal(cache.get("ses_1"), undefined, "its session changed during the read");
  const again = cache.generation();
  cache.change("aacc_1");
  cache.remember("ses_1", row("ses_1"), again);
  assert.equal(cache.get("ses_1"), undefined, "its account changed during the read");
  const third = cache.generation();
  cache.change("sses_other");
  cache.change("aacc_other");
  cache.remember("ses_1", row("ses_1"), third);
  assert.ok(cache.get("ses_1"), "changes to other sessions and accounts do not stop it");
});

test("a row read while more changes were told than the cache remembers is not kept", () => {
  const { cache } = cacheWithFeed();
  const before = cache.generation();
  for (let i = 0; i < 600; i++) cache.change(`sses_other_${i}`);
  cache.remember("ses_1", row("ses_1"), before);
  assert.equal(cache.get("ses_1"), undefined);
});

test("while the feed is down nothing is cached or handed out, and it comes back empty", () => {
  const { cache, feed } = cacheWithFeed();
  cache.remember("ses_1", row("ses_1"), cache.generation());
  const readBefore = cache.generation();
  feed.up = false;
  cache.down();
  assert.equal(cache.get("ses_1"), undefined);
  assert.equal(cache.settled(), false, "no barrier: read the database");
  assert.equal(
    cache.whenSettled(() => assert.fail("a waiter told while the feed is down")),
    false,
    "no barrier to wait for: read the database",
  );
  assert.equal(cache.generation(), undefined);
  cache.remember("ses_2", row("ses_2"), readBefore);
  feed.up = true;
  cache.up();
  assert.equal(cache.get("ses_1"), undefined, "changes while down were never told: emptied");
  assert.equal(cache.get("ses_2"), undefined, "a read that began before the feed was lost is not kept");
  cache.remember("ses_3", row("ses_3"), readBefore);
  assert.equal(cache.get("ses_3"), undefined, "nor one that began before it was back");
});

test("the cache holds at most its capacity, and the oldest row goes first", () => {
  const { cache } = cacheWithFeed(2);
  for (const id of ["ses_1", "ses_2", "ses_3"]) cache.remember(id, row(id), cache.generation());
  assert.equal(cache.get("ses_1"), undefined);
  assert.ok(cache.get("ses_2"));
  assert.ok(cache.get("ses_3"));
});
