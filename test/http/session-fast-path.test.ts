import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import type { AddressInfo } from "node:net";
import { after, test } from "node:test";
import { promisify } from "node:util";
import { sql } from "kysely";
import pino from "pino";
import { renderCachedSession } from "../../src/session/session-lookup.ts";
import { buildTestApp, sameOrigin } from "../support/app.ts";
import { stopSharedPostgres, type TestDialect } from "../support/databases.ts";
import { requestSignal } from "../support/patience.ts";

// GET /api/v1/session may be answered before Fastify, from the session cache (src/session/
// session-fast-path.ts). inject() never reaches that path, so these tests listen on loopback.

// The session cache is SQLite's (decision 0011): these tests use SQLite whatever the test run's database.
async function listening(t: import("node:test").TestContext, dialect: TestDialect = "sqlite") {
  const testApp = await buildTestApp(t, { dialect });
  let routed = 0;
  testApp.app.addHook("onRequest", (_request, _reply, done) => {
    routed += 1;
    done();
  });
  await testApp.app.listen({ port: 0, host: "127.0.0.1" });
  const url = `http://127.0.0.1:${(testApp.app.server.address() as AddressInfo).port}`;
  const account = await testApp.registerAccount();
  const get = (path: string) =>
    fetch(`${url}${path}`, { headers: { cookie: account.cookie }, signal: requestSignal() });
  /** A first check fills the cache, a second is answered from it (Fastify never sees it). */
  async function cached(): Promise<number> {
    assert.equal((await get("/api/v1/session")).status, 200);
    const before = routed;
    assert.equal((await get("/api/v1/session")).status, 200);
    assert.equal(routed, before, "the second check was answered from the cache");
    return before;
  }
  return { ...testApp, url, account, get, cached, routed: () => routed };
}

after(stopSharedPostgres);

function headersOf(response: Response): Record<string, string> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (name !== "date") headers[name] = value;
  });
  return headers;
}

test("the session answer given before Fastify is the route's own: same status, headers and body", async (t) => {
  const { get, routed } = await listening(t);
  const filled = await get("/api/v1/session");
  assert.equal(filled.status, 200);
  const before = routed();
  const fast = await get("/api/v1/session");
  assert.equal(routed(), before, "answered before Fastify");
  // The same route with a query string is Fastify's to answer.
  const viaRoute = await get("/api/v1/session?via=route");
  assert.equal(routed(), before + 1);
  assert.equal(fast.status, 200);
  assert.equal(viaRoute.status, 200);
  assert.deepEqual(headersOf(fast), headersOf(viaRoute));
  assert.equal(await fast.text(), await viaRoute.text());
  assert.equal(fast.headers.get("cache-control"), "no-store");
});

for (const check of ["/api/v1/session", "/api/v1/session/check"]) {
  test(`a session signed out is refused by the next ${check}, though it was answered from the cache`, async (t) => {
    const { get, url, account, config, routed } = await listening(t);
    assert.equal((await get(check)).status, 200);
    const before = routed();
    assert.equal((await get(check)).status, 200);
    assert.equal(routed(), before, "answered from the cache");
    const signOut = await fetch(`${url}/api/v1/session`, {
      method: "DELETE",
      headers: { cookie: account.cookie, ...sameOrigin(config) },
      signal: requestSignal(),
    });
    assert.equal(signOut.status, 204);
    const after = await get(check);
    assert.equal(after.status, 401);
    assert.equal((await after.json()).error.code, "unauthenticated");
  });
}

test("an account suspended by the CLI in another process is refused by the next session check", async (t) => {
  const { get, db, account, cached } = await listening(t);
  await cached();
  const { rows } = await sql<{
    file: string;
  }>`select file from pragma_database_list where name = 'main'`.execute(db);
  const file = rows[0]?.file;
  assert.ok(file, "the test database is a file");
  await promisify(execFile)(
    process.execPath,
    ["bin/mamori.js", "accounts", "suspend", account.email, "--reason", "test"],
    {
      env: { ...process.env, NODE_ENV: "test", DATABASE_URL: `sqlite:${file}` },
    },
  );
  const after = await get("/api/v1/session");
  // Refused, and (decision 0020) its holder is told why.
  assert.equal(after.status, 403);
  assert.equal((await after.json()).error.code, "account_suspended");
});

test("without a session cookie, or with a bearer token, the route answers as before", async (t) => {
  const { url, routed, account } = await listening(t);
  const before = routed();
  const anonymous = await fetch(`${url}/api/v1/session`, { signal: requestSignal() });
  assert.equal(anonymous.status, 401);
  const token = account.cookie.split("=")[1] ?? "";
  const bearer = await fetch(`${url}/api/v1/session`, {
    headers: { authorization: `Bearer ${token}` },
    signal: requestSignal(),
  });
  assert.equal(bearer.status, 200);
  assert.equal(routed(), before + 2);
});

test("the answer given before Fastify follows a change of the account at once", async (t) => {
  const { get, db, account, cached, routed } = await listening(t);
  const before = await cached();
  await db.updateTable("account").set({ name: "佐藤 太郎" }).where("id", "=", account.accountId).execute();
  const after = await get("/api/v1/session");
  assert.equal((await after.json()).account.name, "佐藤 太郎");
  const again = await get("/api/v1/session");
  assert.equal((await again.json()).account.name, "佐藤 太郎");
  assert.equal(routed(), before + 1, "read once again, then from the cache");
});

test("with every request logged (LOG_LEVEL info) every session check goes through Fastify", async (t) => {
  const lines: string[] = [];
  const log = pino({ level: "info" }, { write: (line: string) => lines.push(line) });
  const testApp = await buildTestApp(t, { log, dialect: "sqlite" });
  await testApp.app.listen({ port: 0, host: "127.0.0.1" });
  const url = `http://127.0.0.1:${(testApp.app.server.address() as AddressInfo).port}`;
  const account = await testApp.registerAccount();
  for (let i = 0; i < 3; i++) {
    const response = await fetch(`${url}/api/v1/session`, {
      headers: { cookie: account.cookie },
      signal: requestSignal(),
    });
    assert.equal(response.status, 200);
  }
  const incoming = lines
    .map((line) => JSON.parse(line) as { msg?: string; req?: { url?: string } })
    .filter((entry) => entry.msg === "incoming request" && entry.req?.url === "/api/v1/session");
  assert.equal(incoming.length, 3, "each check was logged");
});

test("the server in front of Fastify keeps Fastify's timeouts", async (t) => {
  const { app } = await listening(t);
  const server = app.server;
  assert.equal(server.keepAliveTimeout, 72_000);
  assert.equal(server.requestTimeout, 0);
});

test("on PostgreSQL every session check goes through Fastify and reads the database", async (t) => {
  const { get, routed, db, deps, account } = await listening(t, "postgres");
  const before = routed();
  for (let i = 0; i < 3; i++) assert.equal((await get("/api/v1/session")).status, 200);
  assert.equal(routed(), before + 3);
  const token = account.cookie.split("=")[1] ?? "";
  const cached = renderCachedSession(db, deps, token, (auth) => auth.session.id);
  assert.equal(cached, undefined, "nothing is cached");
});

test("the forward-auth check given before Fastify is the route's own: same status, identity headers and body", async (t) => {
  const { get, db, account, routed } = await listening(t);
  for (const path of ["/api/v1/session/check", "/api/v1/session/check?aal=1"]) {
    // A change of the account empties the cache: the next check is the route's, the one after the cache's.
    await db
      .updateTable("account")
      .set({ name: `山田 花子 ${path}` })
      .where("id", "=", account.accountId)
      .execute();
    const before = routed();
    const viaRoute = await get(path);
    assert.equal(routed(), before + 1, `${path}: answered by the route`);
    const fast = await get(path);
    assert.equal(routed(), before + 1, `${path}: answered before Fastify`);
    assert.equal(fast.status, 200);
    assert.equal(viaRoute.status, 200);
    assert.deepEqual(headersOf(fast), headersOf(viaRoute));
    assert.equal(await fast.text(), await viaRoute.text());
    assert.equal(decodeURIComponent(fast.headers.get("x-mamori-name") ?? ""), `山田 花子 ${path}`);
    assert.equal(fast.headers.get("x-mamori-account-id"), account.accountId);
    assert.equal(fast.headers.get("vary"), "Cookie, Authorization");
  }
});

test("a forward-auth check asking for two-step verification gets the route's 403 for a cached password-only session", async (t) => {
  const { get, routed, cached } = await listening(t);
  await cached();
  assert.equal((await get("/api/v1/session/check")).status, 200);
  const before = routed();
  const stepUp = await get("/api/v1/session/check?aal=2");
  assert.equal(stepUp.status, 403);
  assert.equal((await stepUp.json()).error.code, "insufficient_assurance");
  assert.equal(routed(), before + 1, "the route answered it");
  const unknownQuery = await get("/api/v1/session/check?aal=3");
  assert.equal(unknownQuery.status, 400);
});
