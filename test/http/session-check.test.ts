import assert from "node:assert/strict";
import { test } from "node:test";
import { assertApiError, buildTestApp, sameOrigin } from "../support/app.ts";
import {
  accountWithApp,
  challengeFor,
  oathtoolCode,
  sessionCookieHeader,
  verifyChallenge,
} from "../support/two-step.ts";

// Forward authentication (docs/integration.md): GET /api/v1/session/check for nginx auth_request.

test("session check names the person of a session cookie in X-Mamori headers, never cached", async (t) => {
  const s = await buildTestApp(t);
  const account = await s.registerAccount({ email: "hanako@example.jp", name: "山田 花子" });
  const response = await s.inject({
    method: "GET",
    url: "/api/v1/session/check",
    headers: { cookie: account.cookie },
  });
  assert.equal(response.statusCode, 200, response.body);
  assert.equal(response.headers["cache-control"], "no-store");
  assert.equal(response.headers["x-mamori-account-id"], account.accountId);
  assert.equal(response.headers["x-mamori-email"], "hanako@example.jp");
  // Header values are ASCII: the name travels percent-encoded as UTF-8.
  assert.equal(response.headers["x-mamori-name"], "%E5%B1%B1%E7%94%B0%20%E8%8A%B1%E5%AD%90");
  assert.equal(decodeURIComponent(String(response.headers["x-mamori-name"])), "山田 花子");
  assert.equal(response.headers["x-mamori-aal"], "1");
  assert.equal(response.headers["x-mamori-amr"], "pwd,email");
  const body = response.json<{ account: Record<string, unknown>; session: Record<string, unknown> }>();
  assert.deepEqual(body.account, {
    id: account.accountId,
    email: "hanako@example.jp",
    emailVerified: true,
    name: "山田 花子",
    phone: null,
    phoneVerified: false,
    locale: "ja",
  });
  assert.equal(body.session.id, account.sessionId);
  assert.equal(body.session.acr, "urn:mamori:aal1");
  assert.deepEqual(body.session.amr, ["pwd", "email"]);
});

test("session check accepts a bearer token from a token sign-in", async (t) => {
  const s = await buildTestApp(t);
  const account = await s.registerAccount();
  const signedIn = await s.signIn({
    identifier: account.email,
    password: account.password,
    sessionType: "token",
  });
  assert.equal(signedIn.statusCode, 200, signedIn.body);
  const token = signedIn.json<{ session: { token: string } }>().session.token;
  const response = await s.inject({
    method: "GET",
    url: "/api/v1/session/check",
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(response.statusCode, 200, response.body);
  assert.equal(response.headers["x-mamori-account-id"], account.accountId);
  assert.equal(response.headers["x-mamori-amr"], "pwd");
});

test("session check answers 401 without a live session, with no identity headers and no secrets", async (t) => {
  const s = await buildTestApp(t);
  const account = await s.registerAccount();
  const [id] = account.cookie.split("=")[1]?.split(".") ?? [];
  // A forged secret for a real session id, garbage, an empty cookie, a bad bearer header.
  const attempts: Record<string, string>[] = [
    {},
    { cookie: `mamori_session=${id}.${"0".repeat(52)}` },
    { cookie: "mamori_session=garbage" },
    { authorization: "Bearer nothing.here" },
  ];
  for (const headers of attempts) {
    const response = await s.inject({ method: "GET", url: "/api/v1/session/check", headers });
    assertApiError(response, 401, "unauthenticated");
    assert.equal(response.headers["cache-control"], "no-store");
    assert.equal(response.headers["x-mamori-account-id"], undefined);
    assert.equal(response.headers["x-mamori-email"], undefined);
    assert.doesNotMatch(response.body, new RegExp(String(id)));
  }
  // A signed-out session stops passing at once.
  const signedOut = await s.inject({
    method: "DELETE",
    url: "/api/v1/session",
    headers: { cookie: account.cookie, ...sameOrigin(s.config) },
  });
  assert.equal(signedOut.statusCode, 204);
  const after = await s.inject({
    method: "GET",
    url: "/api/v1/session/check",
    headers: { cookie: account.cookie },
  });
  assertApiError(after, 401, "unauthenticated");
});

test("session check with aal=2 refuses a session without two-step verification, and admits one with it", async (t) => {
  const s = await buildTestApp(t);
  const owner = await accountWithApp(s);
  // The registration session proved a password and an emailed code: assurance level 1.
  const weak = await s.inject({
    method: "GET",
    url: "/api/v1/session/check?aal=2",
    headers: { cookie: owner.cookie },
  });
  const error = assertApiError(weak, 403, "insufficient_assurance");
  assert.equal(error.message, "このページを開くには、2段階認証でのログインが必要です。");
  assert.equal(weak.headers["x-mamori-account-id"], undefined);

  const challengeId = await challengeFor(s, owner.email, owner.password);
  const verified = await verifyChallenge(s, challengeId, { code: oathtoolCode(owner.secret, s.clock.now()) });
  assert.equal(verified.statusCode, 200, verified.body);
  const cookie = sessionCookieHeader(verified, s.config);
  const strong = await s.inject({ method: "GET", url: "/api/v1/session/check?aal=2", headers: { cookie } });
  assert.equal(strong.statusCode, 200, strong.body);
  assert.equal(strong.headers["x-mamori-aal"], "2");
  assert.equal(strong.headers["x-mamori-amr"], "pwd,otp,mfa");
  assert.equal(strong.json<{ session: { acr: string } }>().session.acr, "urn:mamori:aal2");
});

test("session check refuses an unknown aal value with 400, not a 500", async (t) => {
  const s = await buildTestApp(t);
  const account = await s.registerAccount();
  for (const query of ["aal=3", "aal=", "other=1"]) {
    const response = await s.inject({
      method: "GET",
      url: `/api/v1/session/check?${query}`,
      headers: { cookie: account.cookie },
    });
    assertApiError(response, 400, "invalid_request");
  }
});

test("a step-up with an app's code raises the session to assurance level 2, and session check says so", async (t) => {
  const s = await buildTestApp(t);
  const owner = await accountWithApp(s);
  const steppedUp = await s.inject({
    method: "POST",
    url: "/api/v1/session/reauthenticate",
    headers: { cookie: owner.cookie, ...sameOrigin(s.config) },
    payload: { method: "totp", code: oathtoolCode(owner.secret, s.clock.now()) },
  });
  assert.equal(steppedUp.statusCode, 200, steppedUp.body);
  const response = await s.inject({
    method: "GET",
    url: "/api/v1/session/check?aal=2",
    headers: { cookie: owner.cookie },
  });
  assert.equal(response.statusCode, 200, response.body);
  assert.equal(response.headers["x-mamori-amr"], "pwd,email,otp,mfa");
  const row = await s.db.selectFrom("session").select(["aal", "factors"]).executeTakeFirstOrThrow();
  assert.deepEqual(row, { aal: 2, factors: JSON.stringify(["password", "email_code", "totp"]) });
});
