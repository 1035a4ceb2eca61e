import type { Kysely } from "kysely";
import { newOrderedId } from "../crypto/secrets.ts";
import type { Schema } from "../db/schema.ts";
import type { Clock, Random } from "../deps.ts";
import { countSecurityEvent } from "../operations/metrics.ts";
import { queueWebhooksForAudit } from "../webhooks/events.ts";

/** Security events, by stable name. A new kind of security change adds its name here. */
export type AuditEventType =
  | "account.created"
  | "account.registration_attempt_existing"
  | "account.suspended"
  | "account.closed"
  | "account.reopened"
  | "account.erased"
  | "account.data_exported"
  | "sign_in.country_refused"
  | "account.name_changed"
  | "account.email_change_requested"
  | "account.email_changed"
  | "account.email_change_undone"
  | "account.phone_added"
  | "account.phone_removed"
  | "sign_in.succeeded"
  | "sign_in.failed"
  | "session.revoked"
  | "session.revoked_others"
  | "session.revoked_by_support"
  | "session.reauthenticated"
  | "password.rehashed"
  | "password.changed"
  | "password_reset.requested"
  | "password_reset.completed"
  | "email_reminder.shown"
  | "two_step.enabled"
  | "two_step.disabled"
  | "two_step.method_added"
  | "two_step.method_removed"
  | "two_step.recovery_codes_replaced"
  | "two_step.recovery_code_used"
  | "two_step.locked"
  | "sign_in.second_factor_failed"
  | "session.stepped_up"
  | "session.reauthenticated_with_passkey"
  | "trusted_device.added"
  | "trusted_device.revoked"
  | "security.not_me"
  | "passkey.added"
  | "passkey.renamed"
  | "passkey.removed"
  | "passkey.used"
  | "passkey.clone_signal"
  | "federation.linked"
  | "federation.unlinked"
  | "federation.signed_in"
  | "oidc.grant.revoked"
  | "oidc.signing_keys_rotated"
  | "maintenance.on"
  | "maintenance.off"
  | "outbox.retried"
  | "outbox.expired"
  | "two_step_recovery.requested"
  | "two_step_recovery.failed"
  | "two_step_recovery.started"
  | "two_step_recovery.cancelled"
  | "two_step_recovery.completed"
  | "webhook.endpoint_added"
  | "webhook.endpoint_removed"
  | "webhook.secret_rotated"
  | "webhook.retried";

export type AuditEvent = {
  type: AuditEventType;
  accountId: string | null;
  actor: "account" | "operator" | "system";
  ip?: string | null;
  userAgent?: string | null;
  /** Never a secret: no password, code or token ever goes here. */
  detail?: Record<string, string | number | boolean | null>;
};

export async function recordAuditEvent(
  db: Kysely<Schema>,
  deps: { clock: Clock; random: Random },
  event: AuditEvent,
): Promise<void> {
  const now = deps.clock.now();
  // Events of one request often share a millisecond: the id keeps them in the order they happened.
  const id = newOrderedId(deps.random, "aud", now);
  await db
    .insertInto("audit_event")
    .values({
      id,
      account_id: event.accountId,
      type: event.type,
      actor: event.actor,
      ip: event.ip ?? null,
      user_agent: event.userAgent?.slice(0, 300) ?? null,
      detail: JSON.stringify(event.detail ?? {}),
      created_at: now.toISOString(),
    })
    .execute();
  countSecurityEvent(event.type);
  // The shop's webhook for this change, if any, in the same transaction (src/webhooks/events.ts).
  await queueWebhooksForAudit(db, deps, { ...event, id, at: now });
}

export type AuditEntry = {
  id: string;
  type: string;
  actor: string;
  ip: string | null;
  userAgent: string | null;
  detail: Record<string, unknown>;
  createdAt: string;
};

export async function listAuditEvents(
  db: Kysely<Schema>,
  accountId: string,
  limit = 50,
): Promise<AuditEntry[]> {
  const rows = await db
    .selectFrom("audit_event")
    .selectAll()
    .where("account_id", "=", accountId)
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .limit(limit)
    .execute();
  return rows.map((row) => ({
    id: row.id,
    type: row.type,
    actor: row.actor,
    ip: row.ip,
    userAgent: row.user_agent,
    detail: JSON.parse(row.detail) as Record<string, unknown>,
    createdAt: row.created_at,
  }));
}
