import assert from "node:assert/strict";
import { test } from "node:test";
import {
  assertApiError,
  buildTestApp,
  type RegisteredAccount,
  sameOrigin,
  sessionCookieHeader,
  type TestApp,
} from "../support/app.ts";

// Sessions through the public API: who am I, sign out, list and revoke, reauthenticate, CSRF, expiry.

type SessionList = {
  sessions: { id: string; current: boolean; ip: string | null; userAgent: string | null }[];
};

function me(s: TestApp, cookie: string) {
  return s.inject({ method: "GET", url: "/api/v1/session", headers: { cookie } });
}

/** A second session of the same account, as from another browser. */
async function secondBrowser(s: TestApp, account: RegisteredAccount, keepSignedIn = false): Promise<string> {
  const response = await s.signIn(
    { identifier: account.email, password: account.password, keepSignedIn },
    { "user-agent": "Other Browser/1.0" },
  );
  assert.equal(response.statusCode, 200, response.body);
  return sessionCookieHeader(response, s.config);
}

test("GET /api/v1/session shows the account and session, or 401 without a live session", async (t) => {
  const s = await buildTestApp(t);
  const account = await s.registerAccount({ email: "hanako@example.jp" });
  const response = await me(s, account.cookie);
  assert.equal(response.statusCode, 200, response.body);
  assert.equal(response.headers["cache-control"], "no-store", "personal data is never cached");
  const now = s.clock.now().toISOString();
  assert.deepEqual(response.json(), {
    account: {
      id: account.accountId,
      email: "hanako@example.jp",
      name: "山田 花子",
      phone: null,
      locale: "ja",
      status: "active",
    },
    session: {
      id: account.sessionId,
      createdAt: now,
      expiresAt: new Date(s.clock.now().getTime() + 86_400_000).toISOString(),
      lastSeenAt: now,
    },
  });

  assertApiError(await s.inject({ method: "GET", url: "/api/v1/session" }), 401, "unauthenticated");
  const [id] = account.cookie.split("=")[1]?.split(".") ?? [];
  for (const cookie of [
    "mamori_session=",
    "mamori_session=garbage",
    `mamori_session=${id}.${"0".repeat(52)}`,
  ]) {
    assertApiError(await me(s, cookie), 401, "unauthenticated");
  }
});

test("signing out revokes the session, and its cookie is refused afterwards", async (t) => {
  const s = await buildTestApp(t);
  const account = await s.registerAccount();
  const response = await s.inject({
    method: "DELETE",
    url: "/api/v1/session",
    headers: { cookie: account.cookie, ...sameOrigin(s.config) },
  });
  assert.equal(response.statusCode, 204, response.body);
  assert.equal(response.body, "");
  assert.match(String(response.headers["set-cookie"]), /^mamori_session=;.*Expires=Thu, 01 Jan 1970/);
  assertApiError(await me(s, account.cookie), 401, "unauthenticated");
  const row = await s.db.selectFrom("session").select("revoked_at").executeTakeFirstOrThrow();
  assert.equal(row.revoked_at, s.clock.now().toISOString());
  // Signing out twice is simply unauthenticated.
  assertApiError(
    await s.inject({
      method: "DELETE",
      url: "/api/v1/session",
      headers: { cookie: account.cookie, ...sameOrigin(s.config) },
    }),
    401,
    "unauthenticated",
  );
});

test("the session list shows every live session and marks the current one", async (t) => {
  const s = await buildTestApp(t);
  const account = await s.registerAccount();
  s.clock.advance(120);
  const other = await secondBrowser(s, account);
  const stranger = await s.registerAccount({ email: "taro@example.jp" });
  const response = await s.inject({
    method: "GET",
    url: "/api/v1/sessions",
    headers: { cookie: account.cookie },
  });
  assert.equal(response.statusCode, 200, response.body);
  const { sessions } = response.json<SessionList>();
  assert.equal(sessions.length, 2, "the other account's session is not listed");
  assert.deepEqual(
    sessions.filter((x) => x.current).map((x) => x.id),
    [account.sessionId],
  );
  const otherId = other.split("=")[1]?.split(".")[0];
  assert.ok(sessions.some((x) => x.id === otherId && !x.current && x.userAgent === "Other Browser/1.0"));
  assert.ok(!sessions.some((x) => x.id === stranger.sessionId));
  for (const session of sessions) assert.equal(session.ip, "127.0.0.1");
});

test("a person can revoke another of their sessions, but not someone else's", async (t) => {
  const s = await buildTestApp(t);
  const account = await s.registerAccount();
  const other = await secondBrowser(s, account);
  const otherId = other.split("=")[1]?.split(".")[0];
  const stranger = await s.registerAccount({ email: "taro@example.jp" });
  const headers = { cookie: account.cookie, ...sameOrigin(s.config) };

  // Attack: revoking (or probing) another account's session by its id.
  const foreign = await s.inject({
    method: "DELETE",
    url: `/api/v1/sessions/${stranger.sessionId}`,
    headers,
  });
  assertApiError(foreign, 404, "session_not_found");
  assert.equal((await me(s, stranger.cookie)).statusCode, 200);
  assertApiError(
    await s.inject({ method: "DELETE", url: "/api/v1/sessions/ses_doesnotexist", headers }),
    404,
    "session_not_found",
  );

  const revoked = await s.inject({ method: "DELETE", url: `/api/v1/sessions/${otherId}`, headers });
  assert.equal(revoked.statusCode, 204, revoked.body);
  assertApiError(await me(s, other), 401, "unauthenticated");
  assert.equal((await me(s, account.cookie)).statusCode, 200);
  const events = await s.db
    .selectFrom("audit_event")
    .select("type")
    .where("type", "=", "session.revoked")
    .execute();
  assert.equal(events.length, 1);
});

test("signing out everywhere else keeps the current session", async (t) => {
  const s = await buildTestApp(t);
  const account = await s.registerAccount();
  const others = [await secondBrowser(s, account), await secondBrowser(s, account, true)];
  const stranger = await s.registerAccount({ email: "taro@example.jp" });
  const headers = { cookie: account.cookie, ...sameOrigin(s.config) };

  assertApiError(
    await s.inject({ method: "DELETE", url: "/api/v1/sessions", headers }),
    400,
    "invalid_request",
  );
  assertApiError(
    await s.inject({ method: "DELETE", url: "/api/v1/sessions?scope=all", headers }),
    400,
    "invalid_request",
  );
  const response = await s.inject({ method: "DELETE", url: "/api/v1/sessions?scope=others", headers });
  assert.equal(response.statusCode, 204, response.body);
  assert.equal((await me(s, account.cookie)).statusCode, 200);
  for (const cookie of others) assertApiError(await me(s, cookie), 401, "unauthenticated");
  assert.equal((await me(s, stranger.cookie)).statusCode, 200, "another account is untouched");
  const list = await s.inject({
    method: "GET",
    url: "/api/v1/sessions",
    headers: { cookie: account.cookie },
  });
  assert.deepEqual(
    list.json<SessionList>().sessions.map((x) => x.id),
    [account.sessionId],
  );
});

test("reauthentication accepts the right password and refuses a wrong one", async (t) => {
  const s = await buildTestApp(t);
  const account = await s.registerAccount();
  const headers = { cookie: account.cookie, ...sameOrigin(s.config) };
  s.clock.advance(3600);

  const wrong = await s.inject({
    method: "POST",
    url: "/api/v1/session/reauthenticate",
    headers,
    payload: { password: "Kawasemi-Hoshi-5520-Yuki" },
  });
  assert.equal(assertApiError(wrong, 401, "invalid_credentials").field, "password");
  const before = await s.db.selectFrom("session").select("authenticated_at").executeTakeFirstOrThrow();
  assert.equal(before.authenticated_at, "2031-04-01T09:00:00.000Z");

  const right = await s.inject({
    method: "POST",
    url: "/api/v1/session/reauthenticate",
    headers,
    payload: { password: account.password },
  });
  assert.equal(right.statusCode, 200, right.body);
  assert.deepEqual(right.json(), { authenticatedAt: s.clock.now().toISOString() });
  const after = await s.db.selectFrom("session").select("authenticated_at").executeTakeFirstOrThrow();
  assert.equal(after.authenticated_at, s.clock.now().toISOString());
  assertApiError(
    await s.inject({
      method: "POST",
      url: "/api/v1/session/reauthenticate",
      payload: { password: account.password },
    }),
    401,
    "unauthenticated",
  );
});

test("a cross-site request with the session cookie is refused with csrf_failed", async (t) => {
  // Attack: a page on evil.example posts to Mamori; the browser attaches the session cookie.
  const s = await buildTestApp(t);
  const account = await s.registerAccount();
  const crossSite = [
    { origin: "https://evil.example" },
    { "sec-fetch-site": "cross-site" },
    { "sec-fetch-site": "same-site", origin: s.config.publicUrl.origin },
    { origin: "null" },
    {},
  ];
  for (const extra of crossSite) {
    const headers = { cookie: account.cookie, ...extra };
    for (const request of [
      { method: "DELETE" as const, url: "/api/v1/session" },
      { method: "DELETE" as const, url: "/api/v1/sessions?scope=others" },
      {
        method: "POST" as const,
        url: "/api/v1/session/reauthenticate",
        payload: { password: account.password },
      },
    ]) {
      const response = await s.inject({ ...request, headers });
      assertApiError(response, 403, "csrf_failed");
    }
  }
  assert.equal((await me(s, account.cookie)).statusCode, 200, "the session survived every attempt");
  const row = await s.db
    .selectFrom("session")
    .select(["revoked_at", "authenticated_at"])
    .executeTakeFirstOrThrow();
  assert.deepEqual(row, { revoked_at: null, authenticated_at: s.clock.now().toISOString() });

  // The same request from our own pages goes through.
  const own = await s.inject({
    method: "DELETE",
    url: "/api/v1/session",
    headers: { cookie: account.cookie, "sec-fetch-site": "same-origin" },
  });
  assert.equal(own.statusCode, 204);
});

test("a session left idle past its idle lifetime is refused; use keeps it alive until the absolute limit", async (t) => {
  const s = await buildTestApp(t, {
    env: {
      MAMORI_SESSION_IDLE_SECONDS: "3600",
      MAMORI_SESSION_ABSOLUTE_SECONDS: "10000",
      MAMORI_BROWSER_SESSION_SECONDS: "5000",
    },
  });
  const account = await s.registerAccount();
  const kept = await secondBrowser(s, account, true);
  const idle = await secondBrowser(s, account, true);

  s.clock.advance(3000);
  assert.equal((await me(s, kept)).statusCode, 200);
  s.clock.advance(3000);
  assert.equal((await me(s, kept)).statusCode, 200, "used within the hour: still alive");
  assertApiError(await me(s, idle), 401, "unauthenticated");
  s.clock.advance(3000);
  const touched = await me(s, kept);
  assert.equal(touched.statusCode, 200);
  assert.equal(
    touched.json<{ session: { expiresAt: string } }>().session.expiresAt,
    new Date(Date.parse("2031-04-01T09:00:00.000Z") + 10_000_000).toISOString(),
    "the absolute limit caps the idle extension",
  );
  s.clock.advance(1000);
  assertApiError(await me(s, kept), 401, "unauthenticated");
  // The browser session (5000 s here) is long gone too.
  assertApiError(await me(s, account.cookie), 401, "unauthenticated");
});

test("session fixation: after a privilege change the old cookie value is dead and a new one is set", async (t) => {
  // Attack: a session cookie value planted in the victim's browser (or read before) keeps working
  // after the victim proves their password again, and carries the new privileges.
  const s = await buildTestApp(t);
  const account = await s.registerAccount();
  const reauth = await s.app.inject({
    method: "POST",
    url: "/api/v1/session/reauthenticate",
    headers: { cookie: account.cookie, ...sameOrigin(s.config) },
    payload: { password: account.password },
  });
  assert.equal(reauth.statusCode, 200);
  const renewed = sessionCookieHeader(reauth, s.config);
  assert.notEqual(renewed, account.cookie);
  assert.equal(renewed.split(".")[0], account.cookie.split(".")[0], "the same session, listed once");
  const old = await s.app.inject({
    method: "GET",
    url: "/api/v1/session",
    headers: { cookie: account.cookie },
  });
  assert.equal(old.statusCode, 401);
  const fresh = await s.app.inject({ method: "GET", url: "/api/v1/session", headers: { cookie: renewed } });
  assert.equal(fresh.statusCode, 200);
});
