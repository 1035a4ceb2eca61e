import assert from "node:assert/strict";
import { test } from "node:test";
import { redisThrottleStore } from "../../src/throttle/redis-store.ts";
import { buildTestApp } from "../support/app.ts";
import { waitFor } from "../support/patience.ts";
import { startRedis } from "../support/redis.ts";

// Several Mamori processes behind a load balancer count together when REDIS_URL is set: a limit
// tripped through one process holds on the others.

test("a sign-in limit tripped through one process holds on another sharing Redis", async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const env = { REDIS_URL: redis.url, MAMORI_SIGN_IN_FAILURES_PER_IP: "5" };
  const a = await buildTestApp(t, { env });
  const b = await buildTestApp(t, { env });
  const owner = await b.registerAccount();
  for (let i = 0; i < 5; i++) {
    const response = await a.inject({
      method: "POST",
      url: "/api/v1/sign-in",
      remoteAddress: "198.51.100.20",
      payload: { identifier: `probe${i}@example.jp`, password: "wrong-password-1" },
    });
    assert.equal(response.statusCode, 401);
  }
  // The same address on the other process: refused, before any password is checked.
  const onB = await b.inject({
    method: "POST",
    url: "/api/v1/sign-in",
    remoteAddress: "198.51.100.20",
    payload: { identifier: owner.email, password: owner.password },
  });
  assert.equal(onB.statusCode, 429);
  assert.ok(Number(onB.headers["retry-after"]) > 0);
  // Another address is not affected.
  const other = await b.inject({
    method: "POST",
    url: "/api/v1/sign-in",
    remoteAddress: "198.51.100.21",
    payload: { identifier: owner.email, password: owner.password },
  });
  assert.equal(other.statusCode, 200);
});

test("the Redis store counts hits atomically and forgets a key when its window ends", async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const store = redisThrottleStore(redis.url);
  t.after(() => store.close());
  const rule = { limit: 10, windowSeconds: 1 };
  const now = new Date();
  // Fifty hits at once: every one counted, none lost to a race.
  const verdicts = await Promise.all(Array.from({ length: 50 }, () => store.hit("burst", rule, now)));
  assert.equal(verdicts.filter((v) => v.allowed).length, 10);
  assert.deepEqual(await store.peek("burst", rule, now), { allowed: false, retryAfterSeconds: 1 });
  // Redis expires the key itself, in its own time: wait for that, not for a number of seconds.
  assert.deepEqual(
    await waitFor("the window to end", async () => {
      const verdict = await store.peek("burst", rule, now);
      return verdict.allowed ? verdict : undefined;
    }),
    { allowed: true },
  );
  await store.hit("cleared", rule, now);
  await store.clear("cleared");
  assert.deepEqual(await store.peek("cleared", { limit: 1, windowSeconds: 60 }, now), { allowed: true });
});
