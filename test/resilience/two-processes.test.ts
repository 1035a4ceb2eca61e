import assert from "node:assert/strict";
import { after, test } from "node:test";
import { openTestDatabase, stopSharedPostgres } from "../support/databases.ts";
import { requestSignal } from "../support/patience.ts";
import { startRedis } from "../support/redis.ts";
import { latestCode, type MamoriServer, startMamori } from "../support/server.ts";

// Two Mamori processes on different ports, one PostgreSQL server and one redis-server, as behind a
// load balancer: what one process knows, the other knows at once.

after(stopSharedPostgres);

async function postJson(
  server: MamoriServer,
  path: string,
  body: object,
  headers: Record<string, string> = {},
) {
  return fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
    signal: requestSignal(),
  });
}

test("a session made on one process works on the other, and a revocation on either holds on both", async (t) => {
  const database = await openTestDatabase("postgres");
  t.after(() => database.close());
  const redis = await startRedis();
  t.after(() => redis.stop());
  const env = { DATABASE_URL: database.url, REDIS_URL: redis.url, MAMORI_SIGN_IN_FAILURES_PER_IP: "3" };
  const [a, b] = await Promise.all([startMamori(env), startMamori(env)]);
  t.after(() => a.stop());
  t.after(() => b.stop());

  const email = "shared@example.jp";
  const password = "Kanata-Hoshi-5521-Umi";
  const started = await postJson(a, "/api/v1/registrations", { name: "共有 花子", email, password });
  const { registration } = (await started.json()) as { registration: { id: string; flowToken: string } };
  const code = await latestCode(a, email);
  const verified = await postJson(
    b,
    `/api/v1/registrations/${registration.id}/verify`,
    { code },
    { "x-mamori-flow-token": registration.flowToken },
  );
  assert.equal(verified.status, 201, "a flow started on A is finished on B");

  const signedIn = await postJson(a, "/api/v1/sign-in", {
    identifier: email,
    password,
    sessionType: "token",
  });
  const { session } = (await signedIn.json()) as { session: { token: string } };
  const auth = { authorization: `Bearer ${session.token}` };
  assert.equal(
    (await fetch(`${b.url}/api/v1/session`, { headers: auth, signal: requestSignal() })).status,
    200,
    "made on A, works on B",
  );
  assert.equal(
    (await fetch(`${b.url}/api/v1/session`, { method: "DELETE", headers: auth, signal: requestSignal() }))
      .status,
    204,
  );
  assert.equal(
    (await fetch(`${a.url}/api/v1/session`, { headers: auth, signal: requestSignal() })).status,
    401,
    "revoked on B, refused on A",
  );

  // Three wrong passwords through A trip the per-address limit; B refuses the right one at once.
  for (let i = 0; i < 3; i++) {
    assert.equal(
      (await postJson(a, "/api/v1/sign-in", { identifier: email, password: `wrong-${i}-pass` })).status,
      401,
    );
  }
  const onB = await postJson(b, "/api/v1/sign-in", { identifier: email, password });
  assert.equal(onB.status, 429);
  assert.ok(Number(onB.headers.get("retry-after")) > 0);
});
