import assert from "node:assert/strict";
import { test } from "node:test";
import { cliOnTestDatabase } from "../../test/support/cli.ts";
import { recordAuditEvent } from "../audit/audit.ts";
import { secureRandom, systemClock } from "../deps.ts";

// `mamori webhooks …`, with the configuration from the environment (private networks refused).
const cli = cliOnTestDatabase("cli-webhooks");
const { mamori } = cli;
const publicUrl = "https://93.184.215.14/hooks";

async function addEndpoint(...extra: string[]): Promise<{ id: string; secret: string }> {
  const run = await mamori("webhooks", "add", publicUrl, "--events", "all", ...extra);
  assert.equal(run.status, 0, run.err);
  const id = /endpoint: (\S+)/.exec(run.out)?.[1];
  const secret = /secret: (whsec_\S+)/.exec(run.out)?.[1];
  assert.ok(id && secret, run.out);
  return { id, secret };
}

test("webhooks add prints the endpoint and its whsec_ secret once; list never shows a secret", async () => {
  const { id, secret } = await addEndpoint("--personal-data");
  assert.equal(Buffer.from(secret.slice("whsec_".length), "base64").length, 32);
  const row = await cli
    .db()
    .selectFrom("webhook_endpoint")
    .selectAll()
    .where("id", "=", id)
    .executeTakeFirstOrThrow();
  assert.ok(!row.secret_encrypted.includes(secret.slice(6)), "stored encrypted");
  const listed = await mamori("webhooks", "list");
  assert.equal(listed.status, 0);
  assert.ok(!listed.out.includes(secret.slice(6)));
  const endpoint = (JSON.parse(listed.out) as { id: string; events: string[]; personalData: boolean }[]).find(
    (e) => e.id === id,
  );
  assert.deepEqual(endpoint?.events, ["*"]);
  assert.equal(endpoint?.personalData, true);
  const some = await mamori("webhooks", "add", publicUrl, "--events", "password.changed,account.closed");
  assert.equal(some.status, 0, some.err);
});

test("webhooks add refuses a private-network target, plain http, and unknown event types", async () => {
  // Attack: an endpoint at the cloud metadata service or an internal address (SSRF).
  const metadata = await mamori("webhooks", "add", "https://169.254.169.254/latest", "--events", "all");
  assert.equal(metadata.status, 1);
  assert.match(metadata.err, /private network: refused unless MAMORI_WEBHOOK_ALLOW_PRIVATE_NETWORKS=true/);
  const internal = await mamori("webhooks", "add", "http://127.0.0.1:9000/hooks", "--events", "all");
  assert.equal(internal.status, 1);
  assert.match((await mamori("webhooks", "add", "http://93.184.215.14/", "--events", "all")).err, /https/);
  const unknown = await mamori("webhooks", "add", publicUrl, "--events", "account.created,password.stolen");
  assert.equal(unknown.status, 1);
  assert.match(unknown.err, /unknown event type password\.stolen/);
  assert.equal((await mamori("webhooks", "add", publicUrl)).status, 2, "--events is required");
  assert.equal((await mamori("webhooks", "list", "--failed")).status, 2);
  assert.equal((await mamori("webhooks", "frobnicate")).status, 2);
});

test("webhooks rotate-secret prints a new secret and keeps the old one signing for 24 hours", async () => {
  const { id } = await addEndpoint();
  const rotated = await mamori("webhooks", "rotate-secret", id);
  assert.equal(rotated.status, 0, rotated.err);
  assert.match(rotated.out, /secret: whsec_/);
  assert.match(rotated.out, /still signs beside it until .* \(24 h\)/);
  const row = await cli
    .db()
    .selectFrom("webhook_endpoint")
    .selectAll()
    .where("id", "=", id)
    .executeTakeFirstOrThrow();
  assert.ok(row.previous_secret_encrypted && row.previous_secret_until);
  assert.equal((await mamori("webhooks", "rotate-secret", "whe_unknown")).status, 1);
});

test("webhooks deliveries --failed lists a failed delivery and webhooks retry queues it again once; remove cancels unsent ones", async () => {
  const { id: endpointId } = await addEndpoint();
  await recordAuditEvent(
    cli.db(),
    { clock: systemClock, random: secureRandom },
    {
      type: "password.changed",
      accountId: "acc_cliwebhooks",
      actor: "account",
    },
  );
  const delivery = await cli
    .db()
    .selectFrom("webhook_delivery")
    .selectAll()
    .where("endpoint_id", "=", endpointId)
    .executeTakeFirstOrThrow();
  assert.equal(delivery.event_type, "password.changed");
  // As after its last attempt (the dispatcher's side is proven in test/http/webhooks.test.ts).
  await cli
    .db()
    .updateTable("webhook_delivery")
    .set({ state: "failed", attempts: 15, last_status: 503, last_error: "the endpoint answered 503" })
    .where("id", "=", delivery.id)
    .execute();
  const failed = await mamori("webhooks", "deliveries", "--failed");
  assert.equal(failed.status, 0, failed.err);
  const listed = failed.out.split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
  const entry = listed.find((d) => d.id === delivery.id);
  assert.equal(entry?.state, "failed");
  assert.equal(entry?.lastStatus, 503);
  assert.equal(entry?.attempts, 15);

  const retried = await mamori("webhooks", "retry", delivery.id);
  assert.equal(retried.status, 0, retried.err);
  assert.match(retried.out, /queued again/);
  const twice = await mamori("webhooks", "retry", delivery.id);
  assert.equal(twice.status, 1, "a delivery no longer failed is left as it is");
  assert.match(twice.err, /not a failed delivery \(pending\)/);
  assert.equal((await mamori("webhooks", "retry", "msg_unknown")).status, 1);
  const pending = await mamori("webhooks", "deliveries");
  assert.match(pending.out, new RegExp(`"id":"${delivery.id}".*"state":"pending".*"nextAttemptAt":"`));

  const removed = await mamori("webhooks", "remove", endpointId);
  assert.equal(removed.status, 0, removed.err);
  const after = await cli
    .db()
    .selectFrom("webhook_delivery")
    .select("state")
    .where("id", "=", delivery.id)
    .executeTakeFirstOrThrow();
  assert.equal(after.state, "cancelled");
  assert.equal((await mamori("webhooks", "remove", endpointId)).status, 1);
});
