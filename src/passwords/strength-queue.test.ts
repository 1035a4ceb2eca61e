import assert from "node:assert/strict";
import { test } from "node:test";
import { createStrengthQueue } from "./strength-queue.ts";

test("a burst of strength checks from one address runs one at a time, with other requests answered between every two", async () => {
  // Attack: one client sends a hundred checks at once; run back to back they held the event loop
  // for seconds and every other request (/healthz, sign-ins) waited behind all of them.
  const queue = createStrengthQueue({ perAddress: 100, total: 256 });
  const order: string[] = [];
  let running = 0;
  const burst = Array.from({ length: 20 }, (_, i) =>
    queue.run("203.0.113.9", () => {
      running += 1;
      assert.equal(running, 1, "one run at a time");
      order.push(`check ${i}`);
      // A macrotask queued by a run: what another request's I/O callback is to the event loop.
      setImmediate(() => order.push(`other after ${i}`));
      running -= 1;
      return i;
    }),
  );
  const results = await Promise.all(burst);
  assert.deepEqual(
    results.map((r) => (r.ok ? r.value : r.reason)),
    Array.from({ length: 20 }, (_, i) => i),
  );
  // The other work queued during a run went ahead of the next run.
  for (let i = 0; i < 19; i++) {
    assert.ok(order.indexOf(`other after ${i}`) < order.indexOf(`check ${i + 1}`), order.join(", "));
  }
  assert.equal(queue.size(), 0);
});

test("an address gets at most its limit of waiting strength checks (four here): more from it are refused at once, another address is still served", async () => {
  const queue = createStrengthQueue({ perAddress: 4, total: 256 });
  const ran: string[] = [];
  // Fifty at once from one address, as many parallel requests would.
  const burst = Array.from({ length: 50 }, (_, i) =>
    queue.run("203.0.113.9", () => {
      ran.push(`burst ${i}`);
      return i;
    }),
  );
  const neighbour = queue.run("198.51.100.4", () => {
    ran.push("neighbour");
    return -1;
  });
  const results = await Promise.all(burst);
  assert.equal(results.filter((r) => r.ok).length, 4);
  assert.deepEqual(
    results.filter((r) => !r.ok).map((r) => (r.ok ? "" : r.reason)),
    Array.from({ length: 46 }, () => "address_busy"),
  );
  assert.deepEqual(await neighbour, { ok: true, value: -1 });
  // Round-robin by address: the neighbour's check ran second, not behind the whole burst.
  assert.deepEqual(ran, ["burst 0", "neighbour", "burst 1", "burst 2", "burst 3"]);
});

test("the strength queue holds a bounded number of checks in all, however many addresses ask", async () => {
  const queue = createStrengthQueue({ perAddress: 4, total: 8 });
  const results = await Promise.all(Array.from({ length: 30 }, (_, i) => queue.run(`192.0.2.${i}`, () => i)));
  assert.equal(results.filter((r) => r.ok).length, 8);
  assert.ok(results.slice(8).every((r) => !r.ok && r.reason === "queue_full"));
  // Once drained, it takes checks again.
  assert.deepEqual(await queue.run("192.0.2.1", () => "again"), { ok: true, value: "again" });
});

test("a failing strength check rejects its own request only; the queue goes on", async () => {
  const queue = createStrengthQueue();
  const failing = queue.run("203.0.113.9", () => {
    throw new Error("bug");
  });
  const next = queue.run("203.0.113.9", () => "fine");
  await assert.rejects(failing, /bug/);
  assert.deepEqual(await next, { ok: true, value: "fine" });
});

test("a strength check whose client went away leaves the queue without running, and frees its address's place", async () => {
  // Attack: a client sends checks and drops each connection at once; each dropped check would
  // still cost a run and keep one of its address's places taken.
  const queue = createStrengthQueue({ perAddress: 2, total: 256 });
  const ran: string[] = [];
  const gone = new AbortController();
  const first = queue.run("203.0.113.9", () => ran.push("first"));
  const dropped = queue.run("203.0.113.9", () => ran.push("dropped"), gone.signal);
  assert.deepEqual(await queue.run("203.0.113.9", () => ran.push("third")), {
    ok: false,
    reason: "address_busy",
  });
  gone.abort();
  assert.deepEqual(await dropped, { ok: false, reason: "client_gone" });
  const fourth = queue.run("203.0.113.9", () => ran.push("fourth"));
  await Promise.all([first, fourth]);
  assert.deepEqual(ran, ["first", "fourth"]);
  assert.equal(queue.size(), 0);
  // Already gone when it asks: never queued.
  assert.deepEqual(await queue.run("203.0.113.9", () => ran.push("late"), AbortSignal.abort()), {
    ok: false,
    reason: "client_gone",
  });
});
