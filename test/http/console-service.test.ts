import assert from "node:assert/strict";
import { after, type TestContext, test } from "node:test";
import { createClient } from "../../src/oidc/clients.ts";
import { dispatchDueWebhooks } from "../../src/webhooks/delivery.ts";
import { addWebhookEndpoint, signingSecrets } from "../../src/webhooks/endpoints.ts";
import { buildTestApp, sameOrigin, type TestApp } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import { openForm, postForm } from "../support/forms.ts";
import { type Staff, staffOf } from "../support/staff.ts";
import { startWebhookReceiver } from "../support/webhook-receiver.ts";

// The console's admin pages for the service: the shop's webhook endpoints with their delivery log
// and retry, the shops' OpenID Connect clients and the signing-key rotation. Admins only, each
// change with a reason in the staff trail. Runs on SQLite, and on PostgreSQL with
// MAMORI_TEST_DATABASE=postgres.

after(stopSharedPostgres);

// The receiver is on loopback: these apps allow private networks, as an operator whose shop runs beside it.
const env = { MAMORI_WEBHOOK_ALLOW_PRIVATE_NETWORKS: "true", MAMORI_WEBHOOK_MAX_ATTEMPTS: "1" };

async function setUp(t: TestContext) {
  const s = await buildTestApp(t, { env });
  const support = await staffOf(s, "support@shop.example.jp", "support");
  const admin = await staffOf(s, "admin@shop.example.jp", "admin");
  return { s, support, admin };
}

async function post(s: TestApp, staff: Staff, path: string, fields: Record<string, string | string[]>) {
  // The form token of a console page the member of staff may open (support may open the dashboard).
  const page = await openForm(s, "/admin", staff.cookie);
  // Repeated fields (the event checkboxes) go as a browser sends them: one pair per value.
  const body = new URLSearchParams({ _csrf: page.csrf });
  for (const [name, value] of Object.entries(fields))
    for (const one of Array.isArray(value) ? value : [value]) body.append(name, one);
  return s.inject({
    method: "POST",
    url: path,
    headers: {
      ...sameOrigin(s.config),
      cookie: page.cookie,
      "content-type": "application/x-www-form-urlencoded",
    },
    payload: body.toString(),
  });
}

function shownSecret(body: string): string | undefined {
  return /<code data-secret>(whsec_[A-Za-z0-9+/=]+)<\/code>/.exec(body)?.[1];
}

async function trail(s: TestApp) {
  return s.db.selectFrom("staff_action").select(["action", "account_id", "reason", "detail"]).execute();
}

test("only admins open the webhook and client pages and use their forms: support gets 403 even forging them", async (t) => {
  const { s, support, admin } = await setUp(t);
  const existing = await addWebhookEndpoint(s.deps, {
    url: "http://127.0.0.1:9/hooks",
    events: ["*"],
    personalData: true,
  });
  assert.ok(existing.ok);
  const supportHome = await s.inject({ method: "GET", url: "/admin", headers: { cookie: support.cookie } });
  assert.doesNotMatch(
    supportHome.body,
    /href="\/admin\/webhooks"|href="\/admin\/clients"/,
    "no links for support",
  );
  const adminHome = await s.inject({ method: "GET", url: "/admin", headers: { cookie: admin.cookie } });
  assert.match(adminHome.body, /href="\/admin\/webhooks"/);
  assert.match(adminHome.body, /href="\/admin\/clients"/);
  for (const url of ["/admin/webhooks", "/admin/clients"]) {
    const page = await s.inject({ method: "GET", url, headers: { cookie: support.cookie } });
    assert.equal(page.statusCode, 403, url);
    assert.doesNotMatch(page.body, /whe_|http:\/\/127\.0\.0\.1:9/, "nothing of the endpoints shown");
    assert.equal((await s.inject({ method: "GET", url, headers: { cookie: admin.cookie } })).statusCode, 200);
  }
  const keysBefore = await s.db.selectFrom("oidc_signing_key").select(["id", "state"]).execute();
  // Attack: a support person forges the admin's forms: a webhook to their own server with the
  // customers' personal data, the shop's endpoint removed or its secret taken, the keys rotated.
  const forged = [
    await post(s, support, "/admin/webhooks", {
      action: "webhook_add",
      url: "http://127.0.0.1:9/mine",
      events: "all",
      personal_data: "yes",
      reason: "試し",
    }),
    await post(s, support, "/admin/webhooks", {
      action: "webhook_rotate_secret",
      endpoint: existing.id,
      reason: "試し",
    }),
    await post(s, support, "/admin/webhooks", {
      action: "webhook_remove",
      endpoint: existing.id,
      reason: "試し",
    }),
    await post(s, support, "/admin/clients", { action: "signing_keys_rotate", reason: "試し" }),
  ];
  for (const answer of forged) {
    assert.equal(answer.statusCode, 403, answer.body);
    assert.equal(shownSecret(answer.body), undefined);
  }
  const endpoints = await s.db.selectFrom("webhook_endpoint").select(["id", "secret_encrypted"]).execute();
  assert.deepEqual(
    endpoints.map((e) => e.id),
    [existing.id],
    "nothing added, nothing removed",
  );
  assert.deepEqual(await s.db.selectFrom("oidc_signing_key").select(["id", "state"]).execute(), keysBefore);
  assert.deepEqual(await trail(s), []);
});

test("an admin adds a webhook endpoint with a reason; its secret is shown once, signs the deliveries, and is kept nowhere in the trail", async (t) => {
  const { s, admin } = await setUp(t);
  const receiver = await startWebhookReceiver();
  t.after(() => receiver.close());
  const noReason = await post(s, admin, "/admin/webhooks", {
    action: "webhook_add",
    url: receiver.url,
    events: "all",
    reason: " ",
  });
  assert.equal(noReason.statusCode, 400);
  const badUrl = await post(s, admin, "/admin/webhooks", {
    action: "webhook_add",
    url: "not a url",
    events: "all",
    reason: "連携開始",
  });
  assert.equal(badUrl.statusCode, 400, badUrl.body);
  const noEvents = await post(s, admin, "/admin/webhooks", {
    action: "webhook_add",
    url: receiver.url,
    reason: "連携開始",
  });
  assert.equal(noEvents.statusCode, 400, noEvents.body);
  assert.deepEqual(await s.db.selectFrom("webhook_endpoint").select("id").execute(), []);

  const added = await post(s, admin, "/admin/webhooks", {
    action: "webhook_add",
    url: receiver.url,
    events: ["account.created", "account.suspended"],
    reason: "在庫システムとの連携開始",
  });
  assert.equal(added.statusCode, 200, added.body);
  const secret = shownSecret(added.body);
  assert.ok(secret, "the secret is on the result page");
  const endpoint = await s.db.selectFrom("webhook_endpoint").selectAll().executeTakeFirstOrThrow();
  assert.deepEqual(JSON.parse(endpoint.events), ["account.created", "account.suspended"]);
  assert.equal(endpoint.personal_data, 0);
  const again = await s.inject({ method: "GET", url: "/admin/webhooks", headers: { cookie: admin.cookie } });
  assert.ok(!again.body.includes(secret), "shown once: not on the page afterwards");
  assert.match(again.body, new RegExp(`data-endpoint="${endpoint.id}"`));
  const rows = await trail(s);
  assert.deepEqual(
    rows.map((r) => [r.action, r.account_id, r.reason]),
    [["webhook_add", null, "在庫システムとの連携開始"]],
  );
  assert.ok(!JSON.stringify(rows).includes(secret), "no secret in the staff trail");

  // The secret shown is the one that signs: the receiver verifies a delivery with it.
  receiver.secrets = [secret];
  await s.registerAccount({ email: "new-customer@example.jp" });
  await dispatchDueWebhooks(s.deps);
  assert.equal(receiver.unique().length, 1, JSON.stringify(receiver.received.map((r) => r.error)));
});

test("an admin rotates a webhook secret (the new one shown once) and removes an endpoint, each with a reason", async (t) => {
  const { s, admin } = await setUp(t);
  const existing = await addWebhookEndpoint(s.deps, {
    url: "http://127.0.0.1:9/hooks",
    events: ["*"],
    personalData: false,
  });
  assert.ok(existing.ok);
  const unknown = await post(s, admin, "/admin/webhooks", {
    action: "webhook_rotate_secret",
    endpoint: "whe_nothing",
    reason: "漏えいの疑い",
  });
  assert.equal(unknown.statusCode, 404);
  const rotated = await post(s, admin, "/admin/webhooks", {
    action: "webhook_rotate_secret",
    endpoint: existing.id,
    reason: "漏えいの疑い",
  });
  assert.equal(rotated.statusCode, 200, rotated.body);
  const secret = shownSecret(rotated.body);
  assert.ok(secret && secret !== existing.secret, "a new secret, shown");
  const row = await s.db.selectFrom("webhook_endpoint").selectAll().executeTakeFirstOrThrow();
  assert.ok(row.previous_secret_until, "the previous one keeps signing for the grace period");
  const removed = await post(s, admin, "/admin/webhooks", {
    action: "webhook_remove",
    endpoint: existing.id,
    reason: "連携終了",
  });
  assert.equal(removed.statusCode, 200, removed.body);
  assert.deepEqual(await s.db.selectFrom("webhook_endpoint").select("id").execute(), []);
  const rows = await trail(s);
  assert.deepEqual(rows.map((r) => [r.action, r.reason]).sort(), [
    ["webhook_remove", "連携終了"],
    ["webhook_rotate_secret", "漏えいの疑い"],
  ]);
  assert.ok(!JSON.stringify(rows).includes(secret), "no secret in the staff trail");
});

test("parallel rotations of one webhook secret: each secret shown is one that was made, and the trail has one row per rotation done", async (t) => {
  // A double click, or two admins at once: both read the same current secret. The guarded update
  // lets one rotation through per secret read; the others make no secret and show none.
  const { s, admin } = await setUp(t);
  const existing = await addWebhookEndpoint(s.deps, {
    url: "http://127.0.0.1:9/hooks",
    events: ["*"],
    personalData: false,
  });
  assert.ok(existing.ok);
  const page = await openForm(s, "/admin/webhooks", admin.cookie);
  const answers = await Promise.all(
    Array.from({ length: 6 }, () =>
      postForm(s, "/admin/webhooks", page, {
        _csrf: page.csrf,
        action: "webhook_rotate_secret",
        endpoint: existing.id,
        reason: "定期更新",
      }),
    ),
  );
  const done = answers.filter((a) => a.statusCode === 200);
  assert.ok(done.length >= 1);
  assert.ok(answers.every((a) => a.statusCode === 200 || a.statusCode === 409));
  assert.ok(answers.filter((a) => a.statusCode === 409).every((a) => shownSecret(a.body) === undefined));
  const rows = (await trail(s)).filter((r) => r.action === "webhook_rotate_secret");
  assert.equal(rows.length, done.length);
  const endpoint = await s.db.selectFrom("webhook_endpoint").selectAll().executeTakeFirstOrThrow();
  const [current] = signingSecrets(s.deps, endpoint, s.clock.now());
  assert.ok(
    done.some((a) => shownSecret(a.body) === current),
    "the secret that signs now was shown to the admin",
  );
});

test("the delivery log shows a failed delivery, and an admin retries it with a reason under the same webhook-id", async (t) => {
  const { s, support, admin } = await setUp(t);
  const receiver = await startWebhookReceiver();
  t.after(() => receiver.close());
  const added = await addWebhookEndpoint(s.deps, { url: receiver.url, events: ["*"], personalData: false });
  assert.ok(added.ok);
  receiver.secrets = [added.secret];
  receiver.mode = "unavailable";
  await s.registerAccount({ email: "new-customer@example.jp" });
  await dispatchDueWebhooks(s.deps); // one attempt allowed: it fails for good
  const delivery = await s.db.selectFrom("webhook_delivery").selectAll().executeTakeFirstOrThrow();
  assert.equal(delivery.state, "failed");
  const log = await s.inject({ method: "GET", url: "/admin/webhooks", headers: { cookie: admin.cookie } });
  assert.match(log.body, new RegExp(`data-delivery="${delivery.id}"`));
  assert.match(log.body, /data-delivery-state="failed"/);
  assert.match(log.body, /value="webhook_retry"/);
  // Support cannot retry it either.
  const forged = await post(s, support, "/admin/webhooks", {
    action: "webhook_retry",
    delivery: delivery.id,
    reason: "再送",
  });
  assert.equal(forged.statusCode, 403);

  receiver.mode = "ok";
  const retried = await post(s, admin, "/admin/webhooks", {
    action: "webhook_retry",
    delivery: delivery.id,
    reason: "受信側の障害復旧",
  });
  assert.equal(retried.statusCode, 200, retried.body);
  const twice = await post(s, admin, "/admin/webhooks", {
    action: "webhook_retry",
    delivery: delivery.id,
    reason: "もう一度",
  });
  assert.equal(twice.statusCode, 409, "only a failed delivery is retried");
  await dispatchDueWebhooks(s.deps);
  const seen = receiver.unique();
  assert.equal(seen.length, 1);
  assert.equal(seen[0]?.id, delivery.id, "the same webhook-id");
  assert.deepEqual(
    (await trail(s)).map((r) => [r.action, r.reason]),
    [["webhook_retry", "受信側の障害復旧"]],
  );
});

test("an admin sees the shops' clients without a secret and rotates the signing keys with a reason", async (t) => {
  const { s, admin } = await setUp(t);
  const client = await createClient(
    s.db,
    { clock: s.clock, random: s.deps.random, secretKeys: s.config.secretKeys },
    {
      name: "山田商店",
      redirectUris: ["https://shop.example.jp/callback"],
      postLogoutRedirectUris: [],
      requireTwoStep: false,
    },
  );
  assert.ok(client.clientSecret);
  const page = await s.inject({ method: "GET", url: "/admin/clients", headers: { cookie: admin.cookie } });
  assert.equal(page.statusCode, 200);
  assert.match(page.body, new RegExp(`data-client="${client.clientId}"`));
  assert.ok(!page.body.includes(client.clientSecret), "never a client secret");
  assert.match(page.body, /npx mamori clients create/, "creating clients stays on the command line");

  const noReason = await post(s, admin, "/admin/clients", { action: "signing_keys_rotate", reason: "" });
  assert.equal(noReason.statusCode, 400);
  const before = await s.db
    .selectFrom("oidc_signing_key")
    .select(["id", "state"])
    .where("state", "=", "current")
    .execute();
  const rotated = await post(s, admin, "/admin/clients", {
    action: "signing_keys_rotate",
    reason: "定期ローテーション",
  });
  assert.equal(rotated.statusCode, 200, rotated.body);
  const current = await s.db
    .selectFrom("oidc_signing_key")
    .select(["id"])
    .where("state", "=", "current")
    .execute();
  assert.equal(current.length, 1);
  assert.ok(!before.some((k) => k.id === current[0]?.id), "a new current key");
  assert.deepEqual(
    (await trail(s)).map((r) => [r.action, r.account_id, r.reason]),
    [["signing_keys_rotate", null, "定期ローテーション"]],
  );
  const audit = await s.db
    .selectFrom("audit_event")
    .select(["actor", "detail"])
    .where("type", "=", "oidc.signing_keys_rotated")
    .execute();
  assert.equal(audit.length, 1);
  assert.match(audit[0]?.detail ?? "", /定期ローテーション/);
});
