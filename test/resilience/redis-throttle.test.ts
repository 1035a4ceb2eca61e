import assert from "node:assert/strict";
import { test } from "node:test";
import { redisThrottleStore, redisTimeoutMs } from "../../src/throttle/redis-store.ts";
import { buildTestApp, strongPassword } from "../support/app.ts";
import { openForm, postForm } from "../support/forms.ts";
import { waitFor } from "../support/patience.ts";
import { startRedis } from "../support/redis.ts";
import { type MamoriServer, startMamori } from "../support/server.ts";
import { registerOnServer } from "../support/server-accounts.ts";

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

// Redis failing under a running Mamori. Before: with Redis killed every sign-in, registration and
// reset answered 500 after 0.5–6 s while /readyz said 200, and a frozen Redis made sign-in hang with
// no limit. The rule: fail closed and fast (503 throttle_unavailable with Retry-After, never a
// limit skipped), /readyz says so, the process lives, and counting resumes when Redis is back.

const owner = {
  name: "冗長 試験",
  email: "redis-owner@example.jp",
  password: strongPassword,
  locale: "ja" as const,
};

type Answer = { status: number; retryAfter: string | null; body: string; ms: number };

/** POSTs JSON and reads the whole answer, timing it. */
async function timedPost(server: MamoriServer, path: string, body: object): Promise<Answer> {
  const started = performance.now();
  const response = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  return {
    status: response.status,
    retryAfter: response.headers.get("retry-after"),
    body: text,
    ms: performance.now() - started,
  };
}

async function readyStatus(server: MamoriServer): Promise<number> {
  const response = await fetch(`${server.url}/readyz`, { signal: AbortSignal.timeout(15_000) });
  await response.arrayBuffer();
  return response.status;
}

/** Waits (bounded) until /readyz answers `status`: the event a test needs, not a fixed time. */
async function readyzBecomes(server: MamoriServer, status: number): Promise<void> {
  const deadline = performance.now() + 20_000;
  while ((await readyStatus(server)) !== status) {
    if (performance.now() > deadline) throw new Error(`/readyz did not answer ${status} within 20 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function assertUnavailable(
  server: MamoriServer,
  path: string,
  body: object,
  boundMs: number,
): Promise<void> {
  const answer = await timedPost(server, path, body);
  assert.equal(answer.status, 503, `${path}: ${answer.body}`);
  const error = (JSON.parse(answer.body) as { error: { code: string; message: string } }).error;
  assert.equal(error.code, "throttle_unavailable");
  assert.ok(error.message.length > 0);
  assert.ok(Number(answer.retryAfter) > 0, "503 carries Retry-After");
  assert.ok(answer.ms < boundMs, `${path} answered after ${Math.round(answer.ms)} ms (bound ${boundMs} ms)`);
}

const signInBody = { identifier: owner.email, password: owner.password };

test("with Redis killed, sign-in, registration and reset answer 503 throttle_unavailable within 2 s, /readyz 503, and sign-in works again when Redis restarts, without restarting Mamori", async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const server = await startMamori({ REDIS_URL: redis.url });
  t.after(() => server.stop());
  await registerOnServer(server, owner);
  assert.equal((await timedPost(server, "/api/v1/sign-in", signInBody)).status, 200);

  await redis.kill();
  // A bounded burst, as a shop's visitors would keep coming: every one fails fast, none with 500.
  await Promise.all(
    Array.from({ length: 20 }, () => assertUnavailable(server, "/api/v1/sign-in", signInBody, 2000)),
  );
  await assertUnavailable(
    server,
    "/api/v1/registrations",
    { name: "新規 登録", email: "newcomer@example.jp", password: strongPassword },
    2000,
  );
  await assertUnavailable(server, "/api/v1/password-resets", { identifier: owner.email }, 2000);
  assert.equal(await readyStatus(server), 503);
  const alive = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(5_000) });
  assert.equal(alive.status, 200, "the process lives through the outage");

  // Redis back on the same port (empty: counters start from zero). Mamori reconnects by itself.
  await redis.restart();
  await readyzBecomes(server, 200);
  assert.equal((await timedPost(server, "/api/v1/sign-in", signInBody)).status, 200);
});

test("with Redis frozen, sign-in answers 503 within the Redis timeout instead of hanging, and works again once Redis resumes", async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const server = await startMamori({ REDIS_URL: redis.url });
  t.after(() => server.stop());
  await registerOnServer(server, owner);
  assert.equal((await timedPost(server, "/api/v1/sign-in", signInBody)).status, 200);

  redis.freeze();
  // The connection stays open and nothing answers: only the command timeout ends the wait.
  const bound = redisTimeoutMs + 2000;
  await Promise.all(
    Array.from({ length: 10 }, () => assertUnavailable(server, "/api/v1/sign-in", signInBody, bound)),
  );
  const started = performance.now();
  assert.equal(await readyStatus(server), 503);
  assert.ok(performance.now() - started < bound, "/readyz answers within its timeout too");

  redis.thaw();
  await readyzBecomes(server, 200);
  assert.equal((await timedPost(server, "/api/v1/sign-in", signInBody)).status, 200);
});

test("with Redis down, the sign-in page answers a 503 page with Retry-After, not a 500", async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const s = await buildTestApp(t, { env: { REDIS_URL: redis.url } });
  const form = await openForm(s, "/sign-in");
  await redis.kill();
  const response = await postForm(s, "/sign-in", form, {
    _csrf: form.csrf,
    identifier: "someone@example.jp",
    password: "whatever-it-is-1",
  });
  assert.equal(response.statusCode, 503);
  assert.match(String(response.headers["content-type"]), /text\/html/);
  assert.ok(Number(response.headers["retry-after"]) > 0);
  assert.match(response.body, /しばらくしてからもう一度お試しください/);
});
