import assert from "node:assert/strict";
import { after, test } from "node:test";
import { Webhook } from "standardwebhooks";
import { recordAuditEvent } from "../../src/audit/audit.ts";
import { startDispatcher } from "../../src/courier/dispatcher.ts";
import { changeAccountStatus } from "../../src/operations/account-admin.ts";
import { dispatchDueWebhooks, retryWebhookDelivery } from "../../src/webhooks/delivery.ts";
import { addWebhookEndpoint, rotateWebhookSecret } from "../../src/webhooks/endpoints.ts";
import { type WebhookEventType, webhookEventTypes } from "../../src/webhooks/events.ts";
import { buildTestApp, sameOrigin, type TestApp } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import { Browser, registerShop, signInAtShop } from "../support/oidc-inject.ts";
import { addPasskey } from "../support/passkeys.ts";
import { waitFor } from "../support/patience.ts";
import { SoftwareAuthenticator } from "../support/software-authenticator.ts";
import { accountWithApp, call } from "../support/two-step.ts";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver.ts";

after(stopSharedPostgres);

// Webhooks to the shop (docs/webhooks.md). The receiver is on loopback, so these apps allow
// private networks explicitly, as an operator whose shop runs beside Mamori would.
const allowLoopback = { MAMORI_WEBHOOK_ALLOW_PRIVATE_NETWORKS: "true" };
const newPassword = "Hoshizora-Kaede-5529-Ringo";
const resetPassword = "Kawasemi-Ryokucha-8814-Sora";

async function receiverFor(
  t: Parameters<typeof buildTestApp>[0],
  s: TestApp,
  events: readonly (WebhookEventType | "*")[] = ["*"],
  personalData = false,
): Promise<{ receiver: WebhookReceiver; endpointId: string; secret: string }> {
  const receiver = await startWebhookReceiver();
  t.after(() => receiver.close());
  const added = await addWebhookEndpoint(s.deps, { url: receiver.url, events, personalData });
  assert.ok(added.ok, JSON.stringify(added));
  receiver.secrets = [added.secret];
  return { receiver, endpointId: added.id, secret: added.secret };
}

async function deliveries(s: TestApp) {
  return s.db.selectFrom("webhook_delivery").selectAll().orderBy("id").execute();
}

/** Every webhook due now, sent; then the clock moves past the longest backoff so the failed ones are due again. */
async function dispatchThenWait(s: TestApp): Promise<number> {
  const claimed = await dispatchDueWebhooks(s.deps);
  s.clock.advance(3601);
  return claimed;
}

test("every security change reaches the shop as a signed Standard Webhooks event, each seen exactly once after deduplication across a receiver outage", async (t) => {
  const s = await buildTestApp(t, { env: allowLoopback });
  const { receiver } = await receiverFor(t, s);

  // Outage, part 1: the receiver answers 503 to everything.
  receiver.mode = "unavailable";
  const owner = await accountWithApp(s); // account.created, two_step.enabled
  const headers = { cookie: owner.cookie, ...sameOrigin(s.config) };
  assert.equal(
    (await call(s, "POST", "/api/v1/security/two-step/disable", owner.cookie, { confirm: true })).statusCode,
    200,
  );
  const added = await addPasskey(s, owner.cookie, new SoftwareAuthenticator());
  assert.equal(added.statusCode, 201, added.body);
  const passkeyId = added.json<{ passkey: { id: string } }>().passkey.id;
  assert.ok((await dispatchThenWait(s)) > 0);
  assert.equal(receiver.unique().length, 0, "nothing got through while the receiver answered 503");

  // Outage, part 2: nobody listens at all (connection refused).
  await receiver.down();
  // The clock moved past the backoffs: settings ask for the password again first.
  const again = await call(s, "POST", "/api/v1/session/reauthenticate", owner.cookie, {
    password: owner.password,
  });
  assert.equal(again.statusCode, 200, again.body);
  assert.equal((await call(s, "DELETE", `/api/v1/passkeys/${passkeyId}`, owner.cookie)).statusCode, 204);
  const changed = await s.inject({
    method: "PUT",
    url: "/api/v1/security/password",
    headers,
    payload: { currentPassword: owner.password, newPassword },
  });
  assert.equal(changed.statusCode, 200, changed.body);
  const everywhere = await s.inject({ method: "DELETE", url: "/api/v1/sessions?scope=others", headers });
  assert.equal(everywhere.statusCode, 204, everywhere.body);
  const shop = await registerShop(s);
  const browser = new Browser(s);
  browser.setCookieHeader(owner.cookie);
  await signInAtShop(s, shop, browser);
  const revoked = await s.inject({
    method: "DELETE",
    url: `/api/v1/security/apps/${shop.clientId}`,
    headers,
  });
  assert.equal(revoked.statusCode, 204, revoked.body);
  assert.ok((await dispatchThenWait(s)) > 0);
  assert.ok((await dispatchThenWait(s)) > 0);

  // Back, but its acknowledgements are lost: it takes each message and answers 503.
  await receiver.up();
  receiver.mode = "accept_then_unavailable";
  const requested = await s.inject({
    method: "POST",
    url: "/api/v1/password-resets",
    payload: { identifier: owner.email },
  });
  assert.equal(requested.statusCode, 202, requested.body);
  const resetId = requested.json<{ passwordReset: { id: string } }>().passwordReset.id;
  const code = await s.latestCode(owner.email, "password_reset_code");
  assert.ok(code);
  assert.equal(
    (await s.inject({ method: "POST", url: `/api/v1/password-resets/${resetId}/verify`, payload: { code } }))
      .statusCode,
    200,
  );
  const completed = await s.inject({
    method: "POST",
    url: `/api/v1/password-resets/${resetId}/complete`,
    payload: { newPassword: resetPassword },
  });
  assert.equal(completed.statusCode, 200, completed.body);
  for (const status of ["suspended", "active", "closed"] as const) {
    const result = await changeAccountStatus(s.deps, owner.accountId, status, "webhook test");
    assert.ok(result.ok, JSON.stringify(result));
  }
  assert.ok((await dispatchThenWait(s)) > 0);

  // Fully back: everything still owed goes out.
  receiver.mode = "ok";
  while ((await dispatchThenWait(s)) > 0);

  const log = await deliveries(s);
  assert.deepEqual(new Set(log.map((row) => row.state)), new Set(["sent"]), "every delivery was delivered");
  assert.ok(
    log.every((row) => row.attempts >= 2 && row.last_status === 204),
    "each went out after at least one failed attempt",
  );
  assert.ok(
    receiver.received.length > receiver.unique().length,
    "some were received more than once (at-least-once) …",
  );
  assert.ok(
    receiver.received.every((message) => message.payload !== undefined),
    "every message verified with the library",
  );
  const unique = receiver.unique();
  assert.equal(unique.length, log.length, "… and each once after dropping repeats by webhook-id");
  assert.deepEqual(new Set(unique.map((m) => m.id)), new Set(log.map((row) => row.id)));

  const seen = unique.map((message) => message.payload?.type);
  const expected: WebhookEventType[] = [
    "account.created",
    "two_step.enabled",
    "two_step.disabled",
    "passkey.added",
    "passkey.removed",
    "password.changed",
    "sessions.revoked_everywhere",
    "oidc.grant.revoked",
    "password.reset",
    "account.suspended",
    "account.reopened",
    "account.closed",
  ];
  assert.equal(log.length, expected.length, "one delivery per change");
  for (const type of expected)
    assert.equal(
      seen.filter((seenType) => seenType === type).length,
      1,
      `${type} once in ${seen.join(", ")}`,
    );
  for (const message of unique) {
    const payload = message.payload;
    assert.ok(payload);
    assert.ok((webhookEventTypes as readonly string[]).includes(payload.type), payload.type);
    assert.equal(payload.data.account_id, owner.accountId);
    // Ids and kinds only: no email, name, password, code or token (the endpoint did not ask for personal data).
    for (const secret of [owner.email, owner.password, newPassword, resetPassword, code, shop.clientSecret])
      assert.ok(!message.body.includes(secret), `${payload.type} carries no ${secret}`);
    assert.equal(payload.data.email, undefined);
  }
  const byType = new Map(unique.map((m) => [m.payload?.type, m.payload?.data]));
  assert.equal(byType.get("passkey.added")?.passkey_id, passkeyId);
  assert.equal(byType.get("oidc.grant.revoked")?.client_id, shop.clientId);
  assert.equal(byType.get("two_step.enabled")?.method, undefined);
  assert.equal(byType.get("account.closed")?.actor, "operator");
  // Ordering per account: ids sort in the order the changes happened, whatever the arrival order.
  const inOrder = [...unique].sort((a, b) => (a.id < b.id ? -1 : 1)).map((m) => m.payload?.type);
  assert.deepEqual(
    inOrder.filter((type) => expected.includes(type as WebhookEventType)),
    expected,
  );
});

test("a change rolled back sends no webhook: the delivery is written in the change's transaction", async (t) => {
  // Attack on trust: a shop told of a password change that never happened acts on a lie.
  const s = await buildTestApp(t, { env: allowLoopback });
  const { receiver } = await receiverFor(t, s);
  const owner = await s.registerAccount();
  const before = (await deliveries(s)).length;
  await assert.rejects(
    s.db.transaction().execute(async (trx) => {
      await recordAuditEvent(trx, s.deps, {
        type: "password.changed",
        accountId: owner.accountId,
        actor: "account",
      });
      throw new Error("the change failed after its audit event");
    }),
  );
  assert.equal((await deliveries(s)).length, before);
  await dispatchDueWebhooks(s.deps);
  assert.deepEqual(
    receiver.unique().map((m) => m.payload?.type),
    ["account.created"],
  );
});

test("an endpoint hears only the events it subscribed to, and the email and name only when it subscribed to personal data", async (t) => {
  const s = await buildTestApp(t, { env: allowLoopback });
  const idsOnly = await receiverFor(t, s, ["password.changed"]);
  const personal = await receiverFor(t, s, ["*"], true);
  const owner = await s.registerAccount({ email: "webhook-personal@example.jp", name: "山田 花子" });
  const changed = await s.inject({
    method: "PUT",
    url: "/api/v1/security/password",
    headers: { cookie: owner.cookie, ...sameOrigin(s.config) },
    payload: { currentPassword: owner.password, newPassword },
  });
  assert.equal(changed.statusCode, 200);
  await dispatchDueWebhooks(s.deps);
  assert.deepEqual(
    idsOnly.receiver.unique().map((m) => m.payload?.type),
    ["password.changed"],
  );
  assert.equal(idsOnly.receiver.unique()[0]?.payload?.data.email, undefined);
  const created = personal.receiver.unique().find((m) => m.payload?.type === "account.created");
  assert.equal(created?.payload?.data.email, "webhook-personal@example.jp");
  assert.equal(created?.payload?.data.name, "山田 花子");
});

test("a tampered body, a wrong secret or a timestamp older than five minutes is refused by the verifier", async (t) => {
  // Attack: a forged or replayed request to the shop's endpoint pretending to be Mamori.
  const s = await buildTestApp(t, { env: allowLoopback });
  const { receiver, secret } = await receiverFor(t, s);
  await s.registerAccount();
  await dispatchDueWebhooks(s.deps);
  const [message] = receiver.unique();
  assert.ok(message);
  const headers = {
    "webhook-id": message.id,
    "webhook-timestamp": message.timestamp,
    "webhook-signature": message.signature,
  };
  assert.ok(new Webhook(secret).verify(message.body, headers), "the real message verifies");
  assert.match(message.signature, /^v1,[A-Za-z0-9+/=]+$/);
  const tampered = message.body.replace(/"account\.created"/, '"account.closed"');
  assert.throws(() => new Webhook(secret).verify(tampered, headers), /signature/i);
  assert.throws(
    () => new Webhook(`whsec_${Buffer.alloc(32, 7).toString("base64")}`).verify(message.body, headers),
    /signature/i,
  );
  // A replay of the captured message, re-signed as if sent ten minutes ago (the real key!), is too old.
  const old = new Date(Date.now() - 10 * 60 * 1000);
  const replayed = {
    "webhook-id": message.id,
    "webhook-timestamp": String(Math.floor(old.getTime() / 1000)),
    "webhook-signature": new Webhook(secret).sign(message.id, old, message.body),
  };
  assert.throws(() => new Webhook(secret).verify(message.body, replayed), /timestamp/i);
});

test("after a secret rotation the old secret still signs beside the new one for 24 hours, then only the new one", async (t) => {
  const s = await buildTestApp(t, { env: allowLoopback });
  const { receiver, endpointId, secret: oldSecret } = await receiverFor(t, s);
  const rotated = await rotateWebhookSecret(s.deps, endpointId);
  assert.ok(rotated.ok);
  receiver.secrets = [rotated.secret];
  await s.registerAccount({ email: "rotation-1@example.jp" });
  await dispatchDueWebhooks(s.deps);
  const during = receiver.unique()[0];
  assert.ok(during);
  assert.equal(during.signature.split(" ").length, 2, "two signatures while both secrets sign");
  const headersOf = (m: typeof during) => ({
    "webhook-id": m.id,
    "webhook-timestamp": m.timestamp,
    "webhook-signature": m.signature,
  });
  assert.ok(
    new Webhook(oldSecret).verify(during.body, headersOf(during)),
    "the shop's old verifier still works",
  );
  assert.ok(new Webhook(rotated.secret).verify(during.body, headersOf(during)), "and the new one");

  s.clock.advance(24 * 3600 + 1);
  await s.registerAccount({ email: "rotation-2@example.jp" });
  await dispatchDueWebhooks(s.deps);
  const afterGrace = receiver.unique()[1];
  assert.ok(afterGrace);
  assert.equal(afterGrace.signature.split(" ").length, 1);
  assert.throws(() => new Webhook(oldSecret).verify(afterGrace.body, headersOf(afterGrace)), /signature/i);
  assert.ok(new Webhook(rotated.secret).verify(afterGrace.body, headersOf(afterGrace)));
});

test("deliveries claimed by many dispatchers at once are each sent once (the outbox lease)", async (t) => {
  const s = await buildTestApp(t, { env: allowLoopback });
  const { receiver } = await receiverFor(t, s);
  for (let i = 0; i < 12; i++) await s.registerAccount({ email: `parallel-${i}@example.jp` });
  const claimed = await Promise.all(Array.from({ length: 6 }, () => dispatchDueWebhooks(s.deps)));
  assert.equal(
    claimed.reduce((a, b) => a + b, 0),
    12,
  );
  assert.equal(receiver.received.length, 12, "no delivery went out twice");
  assert.equal(receiver.unique().length, 12);
});

test("a delivery to an endpoint that does not answer ends within the timeout and is retried with backoff, then marked failed after its last attempt", async (t) => {
  const s = await buildTestApp(t, {
    env: { ...allowLoopback, MAMORI_WEBHOOK_TIMEOUT_SECONDS: "1", MAMORI_WEBHOOK_MAX_ATTEMPTS: "2" },
  });
  const { createServer } = await import("node:http");
  const silent = createServer(() => {}); // takes the request, never answers
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", () => resolve()));
  t.after(() => {
    silent.closeAllConnections();
    silent.close();
  });
  const address = silent.address();
  assert.ok(address && typeof address === "object");
  const added = await addWebhookEndpoint(s.deps, {
    url: `http://127.0.0.1:${address.port}/hooks`,
    events: ["*"],
    personalData: false,
  });
  assert.ok(added.ok);
  await s.registerAccount();
  const started = Date.now();
  await dispatchDueWebhooks(s.deps);
  assert.ok(Date.now() - started < s.config.limits.outboxLeaseSeconds * 1000, "ended inside the lease");
  const [first] = await deliveries(s);
  assert.equal(first?.state, "pending");
  assert.equal(first?.attempts, 1);
  assert.equal(first?.last_status, null);
  assert.match(first?.last_error ?? "", /no answer within 1 s/);
  assert.equal(first?.next_attempt_at, new Date(s.clock.now().getTime() + 5000).toISOString());
  s.clock.advance(5);
  await dispatchDueWebhooks(s.deps);
  const [last] = await deliveries(s);
  assert.equal(last?.state, "failed");
  assert.equal(last?.attempts, 2);
});

test("a failed delivery retried by many operators at once is queued again once, and its webhook-id stays the same", async (t) => {
  const s = await buildTestApp(t, { env: { ...allowLoopback, MAMORI_WEBHOOK_MAX_ATTEMPTS: "1" } });
  const { receiver } = await receiverFor(t, s);
  receiver.mode = "unavailable";
  await s.registerAccount();
  await dispatchDueWebhooks(s.deps);
  const [failed] = await deliveries(s);
  assert.equal(failed?.state, "failed");
  assert.equal(failed?.last_status, 503);
  const outcomes = await Promise.all(
    Array.from({ length: 10 }, () => retryWebhookDelivery(s.deps, failed.id)),
  );
  assert.equal(outcomes.filter((o) => o.outcome === "requeued").length, 1, JSON.stringify(outcomes));
  const audited = await s.db
    .selectFrom("audit_event")
    .select("id")
    .where("type", "=", "webhook.retried")
    .execute();
  assert.equal(audited.length, 1);
  receiver.mode = "ok";
  await dispatchDueWebhooks(s.deps);
  assert.deepEqual(
    receiver.unique().map((m) => m.id),
    [failed.id],
  );
  assert.equal((await deliveries(s))[0]?.state, "sent");
});

test("secret rotations at once leave one current and one previous secret that both still decrypt and sign", async (t) => {
  const s = await buildTestApp(t, { env: allowLoopback });
  const { receiver, endpointId } = await receiverFor(t, s);
  const results = await Promise.all(Array.from({ length: 5 }, () => rotateWebhookSecret(s.deps, endpointId)));
  const winners = results.filter((r) => r.ok);
  assert.ok(winners.length >= 1);
  assert.ok(results.every((r) => r.ok || r.reason === "changed"));
  const current = winners.at(-1);
  assert.ok(current?.ok);
  // Whichever rotation landed last, the receiver with its secret verifies the next message.
  const row = await s.db
    .selectFrom("webhook_endpoint")
    .selectAll()
    .where("id", "=", endpointId)
    .executeTakeFirstOrThrow();
  assert.ok(row.previous_secret_encrypted);
  receiver.secrets = winners.flatMap((r) => (r.ok ? [r.secret] : []));
  await s.registerAccount();
  await dispatchDueWebhooks(s.deps);
  const [message] = receiver.unique();
  assert.equal(message?.signature.split(" ").length, 2);
});

test("the serving process's dispatcher sends webhooks beside the mail, without a test draining it", async (t) => {
  const s = await buildTestApp(t, { env: allowLoopback });
  const { receiver } = await receiverFor(t, s);
  const dispatcher = startDispatcher(s.deps, 50);
  t.after(() => dispatcher.stop());
  const owner = await s.registerAccount();
  const delivered = await waitFor("the account.created webhook", async () =>
    receiver.unique().find((m) => m.payload?.type === "account.created"),
  );
  assert.equal(delivered.payload?.data.account_id, owner.accountId);
});

test("the customer's own name, email and mobile number changes reach the shop as account.*_changed events", async (t) => {
  const s = await buildTestApp(t, { env: allowLoopback });
  const { receiver } = await receiverFor(t, s, [
    "account.name_changed",
    "account.email_changed",
    "account.mobile_changed",
  ]);
  const owner = await s.registerAccount({ email: "webhook-profile@example.jp" });
  const named = await call(s, "PUT", "/api/v1/security/name", owner.cookie, { name: "山田 次郎" });
  assert.equal(named.statusCode, 200, named.body);

  const started = await call(s, "POST", "/api/v1/security/email-changes", owner.cookie, {
    email: "webhook-profile-new@example.jp",
  });
  assert.equal(started.statusCode, 201, started.body);
  const emailCode = await s.latestCode("webhook-profile-new@example.jp", "email_change_code");
  assert.ok(emailCode);
  const changeId = started.json<{ emailChange: { id: string } }>().emailChange.id;
  const verified = await call(s, "POST", `/api/v1/security/email-changes/${changeId}/verify`, owner.cookie, {
    code: emailCode,
  });
  assert.equal(verified.statusCode, 200, verified.body);

  const phone = await call(s, "POST", "/api/v1/security/phone-changes", owner.cookie, {
    phone: "090-2468-1357",
  });
  assert.equal(phone.statusCode, 201, phone.body);
  const phoneId = phone.json<{ phoneChange: { id: string } }>().phoneChange.id;
  const smsCode = (await s.messagesTo("+819024681357"))
    .map((m) => /\d{6}/.exec(m.text_body)?.[0])
    .find((code) => code !== undefined);
  assert.ok(smsCode, "the SMS code went to the number");
  const phoneDone = await call(s, "POST", `/api/v1/security/phone-changes/${phoneId}/verify`, owner.cookie, {
    code: smsCode,
  });
  assert.equal(phoneDone.statusCode, 200, phoneDone.body);

  await dispatchDueWebhooks(s.deps);
  // Deliveries go out side by side, so they may arrive in any order (docs/webhooks.md).
  const types = receiver
    .unique()
    .map((m) => m.payload?.type)
    .sort();
  assert.deepEqual(types, ["account.email_changed", "account.mobile_changed", "account.name_changed"]);
  for (const message of receiver.unique()) {
    assert.equal(message.payload?.data.account_id, owner.accountId);
    assert.doesNotMatch(
      JSON.stringify(message.payload),
      /webhook-profile|2468/,
      "ids only, no address or number",
    );
  }
});
