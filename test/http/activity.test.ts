import assert from "node:assert/strict";
import { test } from "node:test";
import { buildTestApp } from "../support/app.ts";
import { call } from "../support/two-step.ts";

test("sign-in activity lists sign-ins and security changes with browser and place, newest first", async (t) => {
  const s = await buildTestApp(t);
  const owner = await s.registerAccount({ locale: "en" });
  s.clock.advance(60);
  await s.inject({
    method: "POST",
    url: "/api/v1/sign-in",
    remoteAddress: "8.8.8.8",
    headers: {
      "user-agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
    },
    payload: { identifier: owner.email, password: owner.password },
  });
  // A stranger's wrong guess is not the owner's activity.
  await s.signIn({ identifier: owner.email, password: "wrong-guess-1" });
  const response = await call(s, "GET", "/api/v1/security/activity", owner.cookie);
  assert.equal(response.statusCode, 200);
  const activity = response.json<{
    activity: { type: string; browser: string | null; place: string | null; ip: string }[];
  }>().activity;
  assert.deepEqual(
    activity.map((a) => a.type),
    ["sign_in.succeeded", "account.created"],
  );
  assert.deepEqual(
    { browser: activity[0]?.browser, place: activity[0]?.place, ip: activity[0]?.ip },
    { browser: "Firefox (Windows)", place: "United States", ip: "8.8.8.8" },
  );
});

test("'this wasn't me' signs out everywhere, forgets trusted browsers and mails a reset code", async (t) => {
  const s = await buildTestApp(t);
  const owner = await s.registerAccount();
  const other = await s.signIn({ identifier: owner.email, password: owner.password, sessionType: "token" });
  const token = other.json<{ session: { token: string } }>().session.token;
  const response = await call(s, "POST", "/api/v1/security/not-me", owner.cookie);
  assert.equal(response.statusCode, 200, response.body);
  assert.match(String(response.headers["set-cookie"]), /mamori_session=;/);
  const live = await s.db
    .selectFrom("session")
    .select("id")
    .where("account_id", "=", owner.accountId)
    .where("revoked_at", "is", null)
    .execute();
  assert.deepEqual(live, [], "every session ended, this one too");
  const me = await s.inject({
    method: "GET",
    url: "/api/v1/session",
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(me.statusCode, 401);
  assert.ok(await s.latestCode(owner.email, "password_reset_code"), "a reset code was mailed");
  const audit = await s.db
    .selectFrom("audit_event")
    .select("type")
    .where("type", "=", "security.not_me")
    .execute();
  assert.equal(audit.length, 1);
});
