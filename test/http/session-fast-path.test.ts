import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import type { AddressInfo } from "node:net";
import { after, test } from "node:test";
import { promisify } from "node:util";
import pino from "pino";
import { renderCachedSession } from "../../src/session/session-lookup.ts";
import { buildTestApp, sameOrigin } from "../support/app.ts";
import { stopSharedPostgres, type TestDialect } from "../support/databases.ts";
import { requestSignal, waitFor } from "../support/patience.ts";

// GET /api/v1/session may be answered before Fastify, from the session cache (src/session/
// session-fast-path.ts). inject() never reaches that path, so these tests listen on loopback.

// On SQLite (decision 0011) and on PostgreSQL (decision 0024, its change feed): these tests run on the
// test run's database unless they name one.
async function listening(t: import("node:test").TestContext, dialect?: TestDialect) {
  const testApp = await buildTestApp(t, dialect ? { dialect } : {});
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
  /**
   * A first check fills the cache, a second is answered from it (Fastify never sees it). On
   * PostgreSQL the cache stays off until the change feed listens: asked again until it does.
   */
  async function cached(path = "/api/v1/session"): Promise<number> {
    return waitFor("a check answered from the cache", async () => {
      assert.equal((await get(path)).status, 200);
      const before = routed;
      assert.equal((await get(path)).status, 200);
      return routed === before ? before : undefined;
    });
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
  const { get, routed, cached } = await listening(t);
  await cached();
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
    const { get, url, account, config, cached } = await listening(t);
    await cached(check);
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
  const { get, account, cached, databaseUrl } = await listening(t);
  await cached();
  await promisify(execFile)(
    process.execPath,
    ["bin/mamori.js", "accounts", "suspend", account.email, "--reason", "test"],
    {
      env: { ...process.env, NODE_ENV: "test", DATABASE_URL: databaseUrl },
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

test("with every request logged (LOG_LEVEL info) the session check is still answered before Fastify, and each one is logged", async (t) => {
  const lines: string[] = [];
  const log = pino({ level: "info" }, { write: (line: string) => lines.push(line) });
  const testApp = await buildTestApp(t, { log });
  let routed = 0;
  testApp.app.addHook("onRequest", (_request, _reply, done) => {
    routed += 1;
    done();
  });
  await testApp.app.listen({ port: 0, host: "127.0.0.1" });
  const url = `http://127.0.0.1:${(testApp.app.server.address() as AddressInfo).port}`;
  const account = await testApp.registerAccount();
  const check = async (): Promise<void> => {
    const response = await fetch(`${url}/api/v1/session`, {
      headers: { cookie: account.cookie },
      signal: requestSignal(),
    });
    assert.equal(response.status, 200);
  };
  // Until the cache holds the session (on PostgreSQL: until its change feed listens), Fastify answers.
  await waitFor("a check answered before Fastify", async () => {
    const before = routed;
    await check();
    return routed === before ? true : undefined;
  });
  lines.length = 0;
  const before = routed;
  for (let i = 0; i < 3; i++) await check();
  assert.equal(routed, before, "answered before Fastify at LOG_LEVEL info");
  const logged = lines
    .map(
      (line) =>
        JSON.parse(line) as {
          level?: number;
          msg?: string;
          req?: { url?: string; method?: string };
          res?: { statusCode?: number };
          responseTime?: number;
        },
    )
    .filter((entry) => entry.msg === "request completed" && entry.req?.url === "/api/v1/session");
  assert.equal(logged.length, 3, "each check was logged");
  for (const entry of logged) {
    assert.equal(entry.level, 30);
    assert.equal(entry.req?.method, "GET");
    assert.equal(entry.res?.statusCode, 200);
    assert.equal(typeof entry.responseTime, "number");
  }
  assert.ok(
    !lines.some((line) => line.includes(account.cookie.split("=")[1] ?? "no cookie")),
    "no token in the log",
  );
});

test("the server in front of Fastify keeps Fastify's timeouts", async (t) => {
  const { app } = await listening(t);
  const server = app.server;
  assert.equal(server.keepAliveTimeout, 72_000);
  assert.equal(server.requestTimeout, 0);
});

test("on PostgreSQL too, a session check is answered from the cache once the change feed listens", async (t) => {
  const { routed, db, deps, account, cached } = await listening(t, "postgres");
  await cached();
  const token = account.cookie.split("=")[1] ?? "";
  const fromCache = renderCachedSession(db, deps, token, (auth) => auth.session.id);
  assert.ok(fromCache instanceof Promise, "PostgreSQL's cache waits for the change feed's barrier");
  assert.match((await fromCache) ?? "", /^ses_/);
  assert.ok(routed() > 0);
});

test("the forward-auth check given before Fastify is the route's own: same status, identity headers and body", async (t) => {
  const { get, db, account, routed, cached } = await listening(t);
  await cached();
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
