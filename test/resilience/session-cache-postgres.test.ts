import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import pg from "pg";
import { openTestDatabase, stopSharedPostgres, type TestDatabase } from "../support/databases.ts";
import { requestSignal, waitFor } from "../support/patience.ts";
import { type MamoriServer, startMamori } from "../support/server.ts";
import { registerOnServer } from "../support/server-accounts.ts";
import { oathtoolCode } from "../support/two-step.ts";

// Two Mamori processes on one PostgreSQL, each with its session cache (decision 0024): a change
// committed through either, or by anyone else, is refused by the other at the very next request.
// The attack each test stops: a stolen or abandoned session that its owner (or an operator) ended
// goes on working on the other process, or on every process after the change feed hiccuped,
// because a cache there still holds the row.

const password = "Kanata-Hoshi-5521-Umi";
const feedName = "mamori-session-feed";

let database: TestDatabase;
let a: MamoriServer;
let b: MamoriServer;
let admin: pg.Client;

before(async () => {
  database = await openTestDatabase("postgres");
  const env = {
    DATABASE_URL: database.url,
    MAMORI_SIGN_IN_FAILURES_PER_IP: "100000",
    MAMORI_REGISTRATIONS_PER_IP_PER_HOUR: "1000",
  };
  [a, b] = await Promise.all([startMamori(env), startMamori(env)]);
  admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
});

after(async () => {
  await admin?.end();
  await Promise.all([a?.stop(), b?.stop()]);
  await database?.close();
  await stopSharedPostgres();
});

let accounts = 0;

async function newAccount(): Promise<string> {
  accounts += 1;
  const email = `cache${accounts}@example.jp`;
  await registerOnServer(a, { name: "共有 花子", email, password, locale: "ja" });
  return email;
}

type Session = { cookie: string; id: string };

async function signIn(server: MamoriServer, email: string, newPassword = password): Promise<Session> {
  const response = await fetch(`${server.url}/api/v1/sign-in`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ identifier: email, password: newPassword }),
    signal: requestSignal(),
  });
  assert.equal(response.status, 200, await response.clone().text());
  const cookie = response.headers
    .getSetCookie()
    .map((line) => line.split(";")[0] ?? "")
    .find((pair) => /^(__Host-)?mamori_session=/.test(pair));
  assert.ok(cookie, "a session cookie");
  const id = (cookie.split("=")[1] ?? "").split(".")[0] ?? "";
  return { cookie, id };
}

async function check(
  server: MamoriServer,
  session: Session,
  path = "/api/v1/session/check",
): Promise<number> {
  const response = await fetch(`${server.url}${path}`, {
    headers: { cookie: session.cookie },
    signal: requestSignal(),
  });
  await response.arrayBuffer();
  return response.status;
}

async function send(
  server: MamoriServer,
  session: Session,
  method: string,
  path: string,
  body?: object,
): Promise<number> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      cookie: session.cookie,
      origin: server.url,
      ...(body ? { "content-type": "application/json" } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
    signal: requestSignal(),
  });
  await response.arrayBuffer();
  return response.status;
}

/** A cookie-authenticated POST whose JSON answer the test needs. */
async function postJson(
  server: MamoriServer,
  session: Session,
  path: string,
  body: object = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { cookie: session.cookie, origin: server.url, "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: requestSignal(),
  });
  // A privilege change (a second factor proven) gives the session a new secret, in a new cookie.
  const renewed = response.headers
    .getSetCookie()
    .map((line) => line.split(";")[0] ?? "")
    .find((pair) => /^(__Host-)?mamori_session=./.test(pair));
  if (renewed) session.cookie = renewed;
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

/**
 * Changes a session's revoked_at behind the change feed's back (the triggers do not fire for a
 * replica), so that only a cached row can still say what it said before.
 */
async function setRevokedSilently(sessionId: string, revoked: boolean): Promise<void> {
  await admin.query("begin");
  await admin.query("set local session_replication_role = replica");
  await admin.query("update session set revoked_at = $1 where id = $2", [
    revoked ? new Date().toISOString() : null,
    sessionId,
  ]);
  await admin.query("commit");
}

/**
 * Waits until `server` answers this session's check from its cache: a check fills it, the row is
 * revoked behind the feed's back, and a 200 then can only have come from the cache. (Undone after.)
 */
async function waitUntilServedFromCache(server: MamoriServer, session: Session): Promise<void> {
  await waitFor(`${server.url} answering from its session cache`, async () => {
    assert.equal(await check(server, session), 200);
    assert.equal(await check(server, session), 200);
    await setRevokedSilently(session.id, true);
    try {
      return (await check(server, session)) === 200 ? true : undefined;
    } finally {
      await setRevokedSilently(session.id, false);
      // Put back behind the feed's back: a row read meanwhile (revoked) is evicted by a told change.
      await admin.query("update session set revoked_at = revoked_at where id = $1", [session.id]);
    }
  });
}

/** Both processes hold the session in their caches (each checked it twice since any change). */
async function cachedOnBoth(session: Session): Promise<void> {
  for (const server of [a, b]) {
    assert.equal(await check(server, session), 200);
    assert.equal(await check(server, session), 200);
  }
}

async function feedBackends(): Promise<number[]> {
  const { rows } = await admin.query<{ pid: number }>(
    "select pid from pg_stat_activity where application_name = $1 and datname = current_database()",
    [feedName],
  );
  return rows.map((row) => row.pid);
}

test("a session signed out on one process is refused by the other's next check, answered after the sign-out's response (barrier, no sleep)", async () => {
  const email = await newAccount();
  // The caches answer (the feeds listen) before the race is run.
  await waitUntilServedFromCache(a, await signIn(a, email));
  await waitUntilServedFromCache(b, await signIn(a, email));
  for (let round = 0; round < 20; round++) {
    const session = await signIn(round % 2 === 0 ? a : b, email);
    await cachedOnBoth(session);
    const [revoker, other] = round % 2 === 0 ? [a, b] : [b, a];
    // The barrier: the sign-out's answer has come back before the other process is asked.
    assert.equal(await send(revoker, session, "DELETE", "/api/v1/session"), 204);
    const answers = await Promise.all([
      check(other, session),
      check(other, session, "/api/v1/session"),
      ...Array.from({ length: 8 }, () => check(other, session)),
    ]);
    assert.deepEqual(new Set(answers), new Set([401]), `round ${round}: ${answers.join(", ")}`);
  }
});

test("a session revoked from another device, or signed out everywhere else, is refused by the other process at once", async () => {
  const email = await newAccount();
  const owner = await signIn(a, email);
  const stolen = await signIn(b, email);
  await waitUntilServedFromCache(b, stolen);
  await cachedOnBoth(stolen);
  assert.equal(await send(a, owner, "DELETE", `/api/v1/sessions/${stolen.id}`), 204);
  assert.equal(await check(b, stolen), 401, "revoked on A, refused on B");

  const others = [await signIn(a, email), await signIn(b, email)];
  for (const session of others) await cachedOnBoth(session);
  assert.equal(await send(b, owner, "DELETE", "/api/v1/sessions?scope=others"), 204);
  for (const session of others) {
    assert.equal(await check(a, session), 401, "signed out everywhere else, refused on A");
    assert.equal(await check(b, session), 401, "signed out everywhere else, refused on B");
  }
  assert.equal(await check(a, owner), 200, "the session that asked stays");
});

test("a password change on one process ends the other sessions on every process before the next check", async () => {
  const email = await newAccount();
  const changer = await signIn(a, email);
  const other = await signIn(b, email);
  await waitUntilServedFromCache(b, other);
  await cachedOnBoth(other);
  const newPassword = "Sorairo-Kitsune-4417-Mori";
  assert.equal(
    await send(a, changer, "PUT", "/api/v1/security/password", { currentPassword: password, newPassword }),
    200,
  );
  assert.equal(await check(b, other), 401, "refused on B");
  assert.equal(await check(a, other), 401, "refused on A");
  await signIn(b, email, newPassword);
});

test("turning two-step verification on through one process ends the password-only sessions on every process at once", async () => {
  const email = await newAccount();
  const owner = await signIn(a, email);
  // Signed in elsewhere with the password alone (say, by someone who had stolen it).
  const passwordOnly = await signIn(b, email);
  await waitUntilServedFromCache(b, passwordOnly);
  await cachedOnBoth(passwordOnly);
  const started = await postJson(a, owner, "/api/v1/security/two-step/methods", {
    role: "primary",
    method: "totp",
  });
  assert.equal(started.status, 201, JSON.stringify(started.json));
  const enrollment = (started.json as { enrollment: { id: string; secret: string } }).enrollment;
  const verified = await postJson(a, owner, `/api/v1/security/two-step/methods/${enrollment.id}/verify`, {
    code: oathtoolCode(enrollment.secret, new Date()),
  });
  assert.equal(verified.status, 200, JSON.stringify(verified.json));
  const enabled = await postJson(a, owner, "/api/v1/security/two-step/enable");
  assert.equal(enabled.status, 200, JSON.stringify(enabled.json));
  assert.equal(await check(b, passwordOnly), 401, "the password-only session is refused on B");
  assert.equal(await check(a, passwordOnly), 401, "and on A");
  assert.equal(await check(b, owner), 200, "the session that turned it on stays");
});

test("an account suspended by the operator's CLI in a third process is refused on both processes at once", async () => {
  const email = await newAccount();
  const session = await signIn(a, email);
  await waitUntilServedFromCache(a, session);
  await waitUntilServedFromCache(b, session);
  await cachedOnBoth(session);
  await promisify(execFile)(
    process.execPath,
    ["bin/mamori.js", "accounts", "suspend", email, "--reason", "不正利用の疑い"],
    { env: { ...process.env, NODE_ENV: "test", DATABASE_URL: database.url }, timeout: 60_000 },
  );
  assert.equal(await check(a, session), 401, "suspended: refused on A");
  assert.equal(await check(b, session), 401, "suspended: refused on B");
});

test("with the change feed's connection killed (pg_terminate_backend) no stale session is ever accepted, and the cache comes back once the feed listens again", async () => {
  const email = await newAccount();
  const session = await signIn(a, email);
  await waitUntilServedFromCache(a, session);
  await waitUntilServedFromCache(b, session);
  await cachedOnBoth(session);
  const killed = await feedBackends();
  assert.equal(killed.length, 2, "one feed connection per process");

  // Checks keep arriving at both processes throughout.
  let probing = true;
  const probes: { sentAt: number; status: number }[] = [];
  const probe = async (server: MamoriServer): Promise<void> => {
    while (probing) {
      const sentAt = performance.now();
      probes.push({ sentAt, status: await check(server, session) });
    }
  };
  const probing$ = [probe(a), probe(b), probe(a), probe(b)];

  // The revocation commits while no feed listens: both feed backends are terminated (and gone, the
  // `pg_terminate_backend` timeout waits for that) inside the revoking transaction, so its
  // notification reaches nobody. Only emptying the cache when the feed is lost can refuse it.
  await admin.query("begin");
  await admin.query("update session set revoked_at = $1 where id = $2", [
    new Date().toISOString(),
    session.id,
  ]);
  for (const pid of killed) {
    const { rows } = await admin.query<{ ended: boolean }>(
      "select pg_terminate_backend($1, 30000) as ended",
      [pid],
    );
    assert.equal(rows[0]?.ended, true, "the feed backend ended");
  }
  await admin.query("commit");
  const committedAt = performance.now();

  // The feeds reconnect by themselves (new backends), and the caches answer again.
  await waitFor("both feeds listening again", async () => {
    const now = await feedBackends();
    return now.length === 2 && now.every((pid) => !killed.includes(pid)) ? now : undefined;
  });
  const fresh = await signIn(b, email);
  await waitUntilServedFromCache(a, fresh);
  await waitUntilServedFromCache(b, fresh);
  probing = false;
  await Promise.all(probing$);

  const after = probes.filter((p) => p.sentAt > committedAt);
  assert.ok(after.length > 0, "checks were sent after the revocation");
  const accepted = after.filter((p) => p.status !== 401);
  assert.deepEqual(accepted, [], "no check sent after the revocation was accepted");

  // And a change with the feed back is seen at once again.
  await cachedOnBoth(fresh);
  assert.equal(await send(a, fresh, "DELETE", "/api/v1/session"), 204);
  assert.equal(await check(b, fresh), 401);
});
