import assert from "node:assert/strict";
import { after, test } from "node:test";
import type { LightMyRequestResponse } from "fastify";
import { assertApiError, buildTestApp, sessionCookieHeader, type TestApp } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import { location } from "../support/forms.ts";
import { Browser, registerShop, signInAtShop } from "../support/oidc-inject.ts";
import {
  accountWithApp,
  call,
  challengeFor,
  oathtoolCode,
  phoneCode,
  verifyChallenge,
} from "../support/two-step.ts";

// 「データのダウンロード」: everything held about the person, and no secret. Runs on SQLite, and on
// PostgreSQL with MAMORI_TEST_DATABASE=postgres.

after(stopSharedPostgres);

function trustedCookieOf(response: LightMyRequestResponse): string {
  const raw = response.headers["set-cookie"];
  const cookie = (Array.isArray(raw) ? raw : [String(raw)]).find((c) => c.startsWith("mamori_trusted="));
  assert.ok(cookie, "the trusted-browser cookie is set");
  return cookie.split(";")[0] as string;
}

/** Every secret the account has, in every form it is held or was handed out. */
async function secretsOf(s: TestApp, accountId: string, handedOut: string[]): Promise<string[]> {
  const account = await s.db
    .selectFrom("account")
    .select("password_hash")
    .where("id", "=", accountId)
    .executeTakeFirstOrThrow();
  const totp = await s.db
    .selectFrom("two_step_method")
    .select("totp_secret")
    .where("account_id", "=", accountId)
    .execute();
  const recovery = await s.db
    .selectFrom("recovery_code")
    .select("code_hash")
    .where("account_id", "=", accountId)
    .execute();
  const sessions = await s.db
    .selectFrom("session")
    .select("secret_hash")
    .where("account_id", "=", accountId)
    .execute();
  const devices = await s.db
    .selectFrom("trusted_device")
    .select("secret_hash")
    .where("account_id", "=", accountId)
    .execute();
  const codes = await s.db.selectFrom("verification_code").select("code_hash").execute();
  const history = await s.db
    .selectFrom("password_history")
    .select("password_hash")
    .where("account_id", "=", accountId)
    .execute();
  const oidc = await s.db.selectFrom("oidc_model").select("id").where("account_id", "=", accountId).execute();
  const secrets = [
    account.password_hash,
    ...totp.map((m) => m.totp_secret),
    ...recovery.map((r) => r.code_hash),
    ...sessions.map((r) => r.secret_hash),
    ...devices.map((r) => r.secret_hash),
    ...codes.map((r) => r.code_hash),
    ...history.map((r) => r.password_hash),
    // Codes and tokens are stored by their SHA-256 (migration 011): their ids are secret digests.
    ...oidc.map((r) => r.id),
    ...handedOut,
  ].filter((v): v is string => typeof v === "string" && v.length >= 6);
  assert.ok(secrets.length >= 15, `the account has secrets to look for (${secrets.length})`);
  return secrets;
}

test("the data download holds everything about the person and no secret", async (t) => {
  // Attack: the export is a file that leaves the service (a laptop's Downloads, a mail to oneself,
  // a cloud drive). If it carried the password hash, the authenticator's secret, recovery codes,
  // a live code or a session or shop token, whoever finds the file could take over the account.
  const s = await buildTestApp(t);
  const shop = await registerShop(s);
  const owner = await accountWithApp(s);
  const handedOut = [owner.secret.replace(/\s/g, ""), ...owner.recoveryCodes];
  const challenge = await challengeFor(s, owner.email, owner.password);
  const verified = await verifyChallenge(s, challenge, {
    code: oathtoolCode(owner.secret, s.clock.now()),
    trustDevice: true,
  });
  assert.equal(verified.statusCode, 200, verified.body);
  const cookie = sessionCookieHeader(verified, s.config);
  handedOut.push(cookie.split("=")[1] ?? "", trustedCookieOf(verified).split("=")[1] ?? "");
  const browser = new Browser(s);
  browser.setCookieHeader(cookie);
  const tokens = await signInAtShop(s, shop, browser);
  handedOut.push(tokens.access_token, tokens.refresh_token, tokens.id_token);
  // A live reset code in the outbox (the mails are listed, their codes never).
  assert.equal(
    (await s.inject({ method: "POST", url: "/api/v1/password-resets", payload: { identifier: owner.email } }))
      .statusCode,
    202,
  );
  const resetCode = await s.latestCode(owner.email, "password_reset_code");
  assert.ok(resetCode);
  handedOut.push(`セキュリティコード: ${resetCode}`, `Security code: ${resetCode}`);
  const secrets = await secretsOf(s, owner.accountId, handedOut);

  const api = await call(s, "GET", "/api/v1/security/export", cookie);
  assert.equal(api.statusCode, 200, api.body);
  assert.equal(api.headers["cache-control"], "no-store");
  const json = await s.inject({
    method: "GET",
    url: "/account/security/data/export.json",
    headers: { cookie },
  });
  assert.equal(json.statusCode, 200);
  assert.match(
    String(json.headers["content-disposition"]),
    /^attachment; filename="account-data-\d{4}-\d{2}-\d{2}\.json"$/,
  );
  const page = await s.inject({
    method: "GET",
    url: "/account/security/data/export.html",
    headers: { cookie },
  });
  assert.equal(page.statusCode, 200);
  assert.match(String(page.headers["content-type"]), /^text\/html/);

  for (const [what, text] of [
    ["API", api.body],
    ["JSON download", json.body],
    ["HTML download", page.body],
  ] as const) {
    for (const secret of secrets)
      assert.ok(!text.includes(secret), `${what} holds a secret: ${secret.slice(0, 12)}…`);
    assert.ok(!/\$argon2/.test(text), `${what} holds no password hash`);
  }

  // Everything held: profile, methods, sessions, activity, places, the shop, the mails.
  const data = api.json<{
    account: { email: string; name: string };
    signInMethods: {
      password: { set: boolean };
      twoStep: { method: string }[];
      recoveryCodes: { total: number; unused: number };
      trustedBrowsers: unknown[];
    };
    sessions: unknown[];
    activity: { type: string }[];
    signInPlaces: unknown[];
    connectedShops: { name: string; scopes: string[] }[];
    messages: { template: string; subject: string | null }[];
  }>();
  assert.equal(data.account.email, owner.email);
  assert.equal(data.signInMethods.password.set, true);
  assert.deepEqual(
    data.signInMethods.twoStep.map((m) => m.method),
    ["totp"],
  );
  assert.equal(data.signInMethods.recoveryCodes.total, owner.recoveryCodes.length);
  assert.equal(data.signInMethods.trustedBrowsers.length, 1);
  assert.ok(data.sessions.length >= 2);
  assert.ok(data.activity.some((e) => e.type === "two_step.enabled"));
  assert.equal(data.connectedShops[0]?.name, "テスト商店");
  assert.ok(data.messages.some((m) => m.template === "password_reset_code"));
  // The download is the same data (its activity now also lists the first download).
  const downloaded = JSON.parse(json.body) as typeof data;
  assert.deepEqual(downloaded.account, data.account);
  assert.deepEqual(downloaded.signInMethods, data.signInMethods);
  assert.deepEqual(downloaded.connectedShops, data.connectedShops);
  assert.equal(downloaded.activity.length, data.activity.length + 1);
  assert.match(page.body, new RegExp(owner.email.replace(/[.]/g, "\\.")));
  assert.match(page.body, /テスト商店/);
  assert.doesNotMatch(page.body, /<script/i, "the readable download runs nothing");
  const audit = await s.db
    .selectFrom("audit_event")
    .select("id")
    .where("account_id", "=", owner.accountId)
    .where("type", "=", "account.data_exported")
    .execute();
  assert.equal(audit.length, 3, "each download is audited");
});

test("the data download needs a recent sign-in", async (t) => {
  // Attack: a browser left signed in lets whoever sits down at it walk away with a file of the
  // owner's whole history (addresses, devices, shops) unless the password is asked for again.
  const s = await buildTestApp(t);
  const owner = await s.registerAccount();
  s.clock.advance(s.config.limits.reauthenticationWindowSeconds + 1);
  assertApiError(
    await call(s, "GET", "/api/v1/security/export", owner.cookie),
    403,
    "reauthentication_required",
  );
  for (const url of [
    "/account/security/data",
    "/account/security/data/export.json",
    "/account/security/data/export.html",
  ]) {
    const response = await s.inject({ method: "GET", url, headers: { cookie: owner.cookie } });
    assert.equal(
      location(response),
      "/account/security/reauthenticate?return_to=%2Faccount%2Fsecurity%2Fdata",
      `${url} asks for the password first`,
    );
    assert.doesNotMatch(response.body, new RegExp(owner.email.replace(/[.]/g, "\\.")));
  }
  assertApiError(await call(s, "GET", "/api/v1/security/export", undefined), 401, "unauthenticated");
  const proven = await call(s, "POST", "/api/v1/session/reauthenticate", owner.cookie, {
    password: owner.password,
  });
  assert.equal(proven.statusCode, 200, proven.body);
  assert.equal((await call(s, "GET", "/api/v1/security/export", owner.cookie)).statusCode, 200);
  const page = await s.inject({
    method: "GET",
    url: "/account/security/data",
    headers: { cookie: owner.cookie },
  });
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /データのダウンロード/);
});

test("the download lists only messages to numbers the person proved are theirs, never another person's", async (t) => {
  const s = await buildTestApp(t);
  // The victim turns two-step on with texts to their mobile number.
  const victim = await s.registerAccount({ email: "victim@example.jp" });
  const started = await call(s, "POST", "/api/v1/security/two-step/methods", victim.cookie, {
    role: "primary",
    method: "sms",
    phone: "090-1234-5678",
  });
  assert.equal(started.statusCode, 201, started.body);
  const id = started.json<{ enrollment: { id: string } }>().enrollment.id;
  const victimPhone = "+819012345678";
  const verified = await call(s, "POST", `/api/v1/security/two-step/methods/${id}/verify`, victim.cookie, {
    code: (await phoneCode(s, victimPhone)) ?? "",
  });
  assert.equal(verified.statusCode, 200, verified.body);
  const victimTexts = await s.db
    .selectFrom("outbox_message")
    .select("id")
    .where("recipient", "=", victimPhone)
    .execute();
  assert.ok(victimTexts.length > 0);

  // Attack: another customer starts adding the victim's number (a method left pending: they
  // never see the code), then downloads their data. The old export listed every message ever
  // sent to that number: which services' codes the victim got, and when (their sign-ins).
  s.clock.advance(600);
  const attacker = await s.registerAccount({ email: "attacker@example.jp" });
  const pending = await call(s, "POST", "/api/v1/security/two-step/methods", attacker.cookie, {
    role: "primary",
    method: "sms",
    phone: "090-1234-5678",
  });
  assert.equal(pending.statusCode, 201, pending.body);
  const exported = await call(s, "GET", "/api/v1/security/export", attacker.cookie);
  assert.equal(exported.statusCode, 200, exported.body);
  const messages = exported.json<{ messages: { id: string; recipient: string }[] }>().messages;
  assert.ok(messages.length > 0, "the attacker's own mails are listed");
  assert.ok(
    messages.every((m) => m.recipient === "attacker@example.jp"),
    `no message to an unproven number: ${JSON.stringify(messages)}`,
  );

  // The owner who proved the number still finds their texts.
  const own = await call(s, "GET", "/api/v1/security/export", victim.cookie);
  const ownIds = own.json<{ messages: { id: string }[] }>().messages.map((m) => m.id);
  for (const text of victimTexts) assert.ok(ownIds.includes(text.id), "the victim's texts are theirs");
});
