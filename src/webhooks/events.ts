import type { Kysely } from "kysely";
import type { AuditEventType } from "../audit/audit.ts";
import { newOrderedId } from "../crypto/secrets.ts";
import type { Schema } from "../db/schema.ts";
import type { Clock, Random } from "../deps.ts";

/** The events a shop can hear of (docs/webhooks.md has the catalogue with example payloads). */
export const webhookEventTypes = [
  "account.created",
  "account.email_changed",
  "account.mobile_changed",
  "account.name_changed",
  "password.changed",
  "password.reset",
  "two_step.enabled",
  "two_step.disabled",
  "passkey.added",
  "passkey.removed",
  "account.suspended",
  "account.reopened",
  "account.closed",
  "sessions.revoked_everywhere",
  "oidc.grant.revoked",
] as const;

export type WebhookEventType = (typeof webhookEventTypes)[number];

export function isWebhookEventType(value: string): value is WebhookEventType {
  return (webhookEventTypes as readonly string[]).includes(value);
}

/**
 * Which audit events become which webhook events: every security change already writes an audit
 * event in the transaction of the change, and `recordAuditEvent` queues the webhook beside it, so
 * a change and its webhook are committed together (or neither is). A new audit type that a shop
 * should hear of gets one line here.
 */
export const webhookEventForAudit: Partial<Record<AuditEventType, WebhookEventType>> = {
  "account.created": "account.created",
  "account.name_changed": "account.name_changed",
  // The new address confirmed by its code, and the old one put back by its "this wasn't me" link.
  "account.email_changed": "account.email_changed",
  "account.email_change_undone": "account.email_changed",
  // The account's own mobile number added, changed, removed, or taken by another account that verified it.
  "account.phone_added": "account.mobile_changed",
  "account.phone_removed": "account.mobile_changed",
  "password.changed": "password.changed",
  "password_reset.completed": "password.reset",
  "two_step.enabled": "two_step.enabled",
  "two_step.disabled": "two_step.disabled",
  "passkey.added": "passkey.added",
  "passkey.removed": "passkey.removed",
  "account.suspended": "account.suspended",
  "account.reopened": "account.reopened",
  "account.closed": "account.closed",
  // Signed out everywhere else by the owner, and "this wasn't me" (every session, this one too).
  "session.revoked_others": "sessions.revoked_everywhere",
  "security.not_me": "sessions.revoked_everywhere",
  // Support signed the customer out everywhere from the operator console.
  "session.revoked_by_support": "sessions.revoked_everywhere",
  "oidc.grant.revoked": "oidc.grant.revoked",
};

/**
 * The audit detail a webhook may carry: ids and kinds, never a secret, nor free text a person
 * typed (a passkey's name, an operator's reason). Anything else in the detail stays in the audit.
 */
const factKeys: Readonly<Record<string, string>> = {
  method: "method",
  methodId: "method_id",
  passkeyId: "passkey_id",
  clientId: "client_id",
  previousStatus: "previous_status",
  count: "sessions_revoked",
  sessionsRevoked: "sessions_revoked",
};

type Detail = Record<string, string | number | boolean | null>;

function factsOf(detail: Detail | undefined): Record<string, string | number | boolean | null> {
  const facts: Record<string, string | number | boolean | null> = {};
  for (const [key, value] of Object.entries(detail ?? {})) {
    const name = factKeys[key];
    if (name !== undefined) facts[name] = value;
  }
  return facts;
}

type Endpoint = { id: string; events: string; personal_data: number };

function subscribes(endpoint: Endpoint, type: WebhookEventType): boolean {
  const events = JSON.parse(endpoint.events) as string[];
  return events.includes("*") || events.includes(type);
}

/**
 * Queues the webhook of one audit event for every endpoint that subscribed to it, in the caller's
 * transaction (the audit event's). The body is fixed now, so every attempt sends the same bytes
 * under the same `webhook-id`. Personal data (email, name) only for endpoints that asked for it.
 */
export async function queueWebhooksForAudit(
  db: Kysely<Schema>,
  deps: { clock: Clock; random: Random },
  audit: {
    id: string;
    type: AuditEventType;
    accountId: string | null;
    actor: string;
    detail?: Detail | undefined;
    at: Date;
  },
): Promise<void> {
  const type = webhookEventForAudit[audit.type];
  if (type === undefined) return;
  const endpoints = (
    await db.selectFrom("webhook_endpoint").select(["id", "events", "personal_data"]).execute()
  ).filter((endpoint) => subscribes(endpoint, type));
  if (endpoints.length === 0) return;
  const data = {
    ...(audit.accountId ? { account_id: audit.accountId } : {}),
    actor: audit.actor,
    ...factsOf(audit.detail),
  };
  let personal: { email: string; name: string } | undefined;
  if (audit.accountId && endpoints.some((endpoint) => endpoint.personal_data === 1)) {
    personal = await db
      .selectFrom("account")
      .select(["email", "name"])
      .where("id", "=", audit.accountId)
      .executeTakeFirst();
  }
  const timestamp = audit.at.toISOString();
  await db
    .insertInto("webhook_delivery")
    .values(
      endpoints.map((endpoint) => ({
        // Ordered ids: a receiver can sort one account's events by id when they arrive out of order.
        id: newOrderedId(deps.random, "msg", audit.at),
        endpoint_id: endpoint.id,
        event_type: type,
        account_id: audit.accountId,
        audit_event_id: audit.id,
        body: JSON.stringify({
          type,
          timestamp,
          data: endpoint.personal_data === 1 && personal ? { ...data, ...personal } : data,
        }),
        state: "pending" as const,
        attempts: 0,
        next_attempt_at: timestamp,
        lease_expires_at: null,
        leased_by: null,
        last_error: null,
        last_status: null,
        created_at: timestamp,
        sent_at: null,
      })),
    )
    .execute();
}
