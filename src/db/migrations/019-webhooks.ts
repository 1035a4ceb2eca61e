import type { Kysely } from "kysely";

/**
 * Webhooks to the shop's systems (docs/webhooks.md). `webhook_endpoint`: where events go, which
 * events, and the signing secret (encrypted; the previous one kept for a grace period after a
 * rotation). `webhook_delivery`: one row per event and endpoint, written in the transaction of the
 * change it reports, sent and retried with the outbox's lease and backoff; the delivery log.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("webhook_endpoint")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("url", "text", (c) => c.notNull())
    .addColumn("events", "text", (c) => c.notNull())
    .addColumn("personal_data", "integer", (c) => c.notNull())
    .addColumn("secret_encrypted", "text", (c) => c.notNull())
    .addColumn("previous_secret_encrypted", "text")
    .addColumn("previous_secret_until", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("webhook_delivery")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("endpoint_id", "text", (c) => c.notNull())
    .addColumn("event_type", "text", (c) => c.notNull())
    .addColumn("account_id", "text")
    .addColumn("audit_event_id", "text", (c) => c.notNull())
    .addColumn("body", "text", (c) => c.notNull())
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("attempts", "integer", (c) => c.notNull())
    .addColumn("next_attempt_at", "text", (c) => c.notNull())
    .addColumn("lease_expires_at", "text")
    .addColumn("leased_by", "text")
    .addColumn("last_error", "text")
    .addColumn("last_status", "integer")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("sent_at", "text")
    .execute();
  await db.schema
    .createIndex("webhook_delivery_due")
    .on("webhook_delivery")
    .columns(["state", "next_attempt_at"])
    .execute();
  await db.schema
    .createIndex("webhook_delivery_endpoint")
    .on("webhook_delivery")
    .column("endpoint_id")
    .execute();
}
