import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { Selectable } from "kysely";
import { Webhook } from "standardwebhooks";
import { recordAuditEvent } from "../audit/audit.ts";
import { claimDue, markSent, releaseAfterFailure } from "../courier/lease-queue.ts";
import { newId } from "../crypto/secrets.ts";
import type { WebhookDeliveryTable } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { signingSecrets } from "./endpoints.ts";
import { guardedLookup, literalIsPrivate } from "./target-policy.ts";

type DeliveryRow = Selectable<WebhookDeliveryTable>;

const batchSize = 10;
/** Enough of an answer to log; the rest is not read. */
const maxAnswerBytes = 1024;

export type Attempt = { ok: true; status: number } | { ok: false; status: number | null; error: string };

/**
 * One POST of a Standard Webhooks message: `webhook-id`, `webhook-timestamp` and
 * `webhook-signature` (v1, HMAC-SHA256, one signature per secret, space-separated). Any 2xx is
 * delivered; anything else, no answer within the timeout, or a redirect (never followed) is a
 * failed attempt. The timestamp is the wall clock's: the receiver compares it to its own.
 */
export function postWebhook(
  message: { id: string; url: string; body: string; secrets: readonly string[] },
  options: { timeoutSeconds: number; allowPrivateNetworks: boolean },
): Promise<Attempt> {
  const url = new URL(message.url);
  if (literalIsPrivate(message.url) && !options.allowPrivateNetworks)
    return Promise.resolve({
      ok: false,
      status: null,
      error: `${url.hostname} is on a private network: refused`,
    });
  const sentAt = new Date();
  const signature = message.secrets
    .map((secret) => new Webhook(secret).sign(message.id, sentAt, message.body))
    .join(" ");
  const body = Buffer.from(message.body, "utf8");
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    let settled = false;
    function finish(attempt: Attempt): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(attempt);
    }
    const outgoing = send(
      url,
      {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "content-length": String(body.length),
          "user-agent": "webhooks",
          "webhook-id": message.id,
          "webhook-timestamp": String(Math.floor(sentAt.getTime() / 1000)),
          "webhook-signature": signature,
        },
        lookup: guardedLookup(options.allowPrivateNetworks),
      },
      (answer) => {
        const status = answer.statusCode ?? 0;
        let read = 0;
        answer.on("data", (chunk: Buffer) => {
          read += chunk.length;
          if (read > maxAnswerBytes) answer.destroy();
        });
        answer.on("close", () =>
          finish(
            status >= 200 && status < 300
              ? { ok: true, status }
              : { ok: false, status, error: `the endpoint answered ${status}` },
          ),
        );
        answer.on("error", () => undefined);
      },
    );
    // The whole attempt, connection to last byte, ends within the timeout (shorter than the lease).
    const timer = setTimeout(() => {
      outgoing.destroy(new Error(`no answer within ${options.timeoutSeconds} s`));
    }, options.timeoutSeconds * 1000);
    outgoing.on("error", (error) => finish({ ok: false, status: null, error: error.message }));
    outgoing.end(body);
  });
}

async function deliver(deps: Deps, workerId: string, row: DeliveryRow): Promise<void> {
  const endpoint = await deps.db
    .selectFrom("webhook_endpoint")
    .selectAll()
    .where("id", "=", row.endpoint_id)
    .executeTakeFirst();
  let attempt: Attempt;
  if (!endpoint) attempt = { ok: false, status: null, error: "the endpoint was removed" };
  else {
    const secrets = signingSecrets(deps, endpoint, deps.clock.now());
    attempt =
      secrets.length === 0
        ? { ok: false, status: null, error: "the endpoint's secret does not decrypt with MAMORI_SECRET_KEYS" }
        : await postWebhook({ id: row.id, url: endpoint.url, body: row.body, secrets }, deps.config.webhooks);
  }
  const log = {
    webhookId: row.id,
    endpointId: row.endpoint_id,
    event: row.event_type,
    attempts: row.attempts,
  };
  if (attempt.ok) {
    await markSent(deps.db, "webhook_delivery", row.id, {
      workerId,
      now: deps.clock.now(),
      extra: { last_status: attempt.status },
    });
    deps.log.info({ ...log, status: attempt.status }, "webhook delivered");
    return;
  }
  const failedForGood = await releaseAfterFailure(deps.db, "webhook_delivery", row, {
    workerId,
    now: deps.clock.now(),
    maxAttempts: endpoint ? deps.config.webhooks.maxAttempts : row.attempts,
    error: attempt.error,
    extra: { last_status: attempt.status },
  });
  if (failedForGood)
    deps.log.error({ ...log, error: attempt.error }, "webhook could not be delivered; giving up");
  else deps.log.warn({ ...log, error: attempt.error }, "webhook delivery failed; will retry");
}

/**
 * Sends every webhook due now with the outbox's lease and backoff; returns how many were claimed.
 * Deliveries to one endpoint go out side by side: a receiver must not rely on their order
 * (docs/webhooks.md).
 */
export async function dispatchDueWebhooks(deps: Deps, workerId = newId(deps.random, "wrk")): Promise<number> {
  let total = 0;
  for (;;) {
    const claimed = await claimDue(deps.db, "webhook_delivery", {
      workerId,
      now: deps.clock.now(),
      leaseSeconds: deps.config.limits.outboxLeaseSeconds,
      batchSize,
    });
    if (claimed.length === 0) return total;
    total += claimed.length;
    await Promise.all(claimed.map((row) => deliver(deps, workerId, row)));
  }
}

export type DeliveryListing = {
  id: string;
  endpointId: string;
  event: string;
  accountId: string | null;
  state: string;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
  sentAt: string | null;
};

export async function listWebhookDeliveries(
  deps: Pick<Deps, "db">,
  options: { failedOnly: boolean; limit: number },
): Promise<DeliveryListing[]> {
  let query = deps.db
    .selectFrom("webhook_delivery")
    .selectAll()
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .limit(options.limit);
  if (options.failedOnly) query = query.where("state", "=", "failed");
  const rows = await query.execute();
  return rows.map((row) => ({
    id: row.id,
    endpointId: row.endpoint_id,
    event: row.event_type,
    accountId: row.account_id,
    state: row.state,
    attempts: row.attempts,
    lastStatus: row.last_status,
    lastError: row.last_error,
    nextAttemptAt: row.state === "pending" || row.state === "sending" ? row.next_attempt_at : null,
    createdAt: row.created_at,
    sentAt: row.sent_at,
  }));
}

export type WebhookRetryOutcome =
  | { outcome: "requeued" }
  | { outcome: "not_found" }
  | { outcome: "endpoint_removed" }
  | { outcome: "not_failed"; state: string };

/**
 * Queues a failed delivery again, due now with a fresh set of attempts, under the same
 * `webhook-id` (a receiver that did get it drops the repeat). One guarded statement, audited.
 */
export async function retryWebhookDelivery(
  deps: Pick<Deps, "db" | "clock" | "random">,
  id: string,
): Promise<WebhookRetryOutcome> {
  const row = await deps.db
    .selectFrom("webhook_delivery")
    .select(["state", "endpoint_id", "event_type"])
    .where("id", "=", id)
    .executeTakeFirst();
  if (!row) return { outcome: "not_found" };
  if (row.state !== "failed") return { outcome: "not_failed", state: row.state };
  const endpoint = await deps.db
    .selectFrom("webhook_endpoint")
    .select("id")
    .where("id", "=", row.endpoint_id)
    .executeTakeFirst();
  if (!endpoint) return { outcome: "endpoint_removed" };
  return deps.db.transaction().execute(async (trx): Promise<WebhookRetryOutcome> => {
    const requeued = await trx
      .updateTable("webhook_delivery")
      .set({
        state: "pending",
        attempts: 0,
        next_attempt_at: deps.clock.now().toISOString(),
        lease_expires_at: null,
        leased_by: null,
      })
      .where("id", "=", id)
      .where("state", "=", "failed")
      .executeTakeFirst();
    if (requeued.numUpdatedRows === 0n) return { outcome: "not_failed", state: "changed" };
    await recordAuditEvent(trx, deps, {
      type: "webhook.retried",
      accountId: null,
      actor: "operator",
      detail: { webhookId: id, endpointId: row.endpoint_id, event: row.event_type },
    });
    return { outcome: "requeued" };
  });
}
