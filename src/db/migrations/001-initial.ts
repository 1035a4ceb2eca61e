import type { Kysely } from "kysely";

// Dialect-neutral: text ids and ISO times, integer counters and 0/1 flags (see src/db/schema.ts).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("account")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("email", "text", (c) => c.notNull().unique())
    .addColumn("email_verified_at", "text")
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("phone", "text", (c) => c.unique())
    .addColumn("phone_verified_at", "text")
    .addColumn("password_hash", "text")
    .addColumn("password_changed_at", "text")
    .addColumn("locale", "text", (c) => c.notNull())
    .addColumn("status", "text", (c) => c.notNull())
    .addColumn("status_reason", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("registration")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("email", "text", (c) => c.notNull())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("password_hash", "text", (c) => c.notNull())
    .addColumn("locale", "text", (c) => c.notNull())
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("email_taken", "integer", (c) => c.notNull())
    .addColumn("account_id", "text")
    .addColumn("expires_at", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("verification_code")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("flow_id", "text", (c) => c.notNull())
    .addColumn("purpose", "text", (c) => c.notNull())
    .addColumn("channel", "text", (c) => c.notNull())
    .addColumn("destination", "text", (c) => c.notNull())
    .addColumn("code_hash", "text")
    .addColumn("attempts", "integer", (c) => c.notNull())
    .addColumn("sends", "integer", (c) => c.notNull())
    .addColumn("last_sent_at", "text", (c) => c.notNull())
    .addColumn("expires_at", "text", (c) => c.notNull())
    .addColumn("consumed_at", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("verification_code_flow")
    .on("verification_code")
    .columns(["flow_id"])
    .execute();

  await db.schema
    .createTable("sign_in_flow")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("account_id", "text", (c) => c.notNull().references("account.id").onDelete("cascade"))
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("factors", "text", (c) => c.notNull())
    .addColumn("persistent", "integer", (c) => c.notNull())
    .addColumn("session_type", "text", (c) => c.notNull())
    .addColumn("attempts", "integer", (c) => c.notNull())
    .addColumn("ip", "text")
    .addColumn("user_agent", "text")
    .addColumn("expires_at", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("session")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("secret_hash", "text", (c) => c.notNull())
    .addColumn("account_id", "text", (c) => c.notNull().references("account.id").onDelete("cascade"))
    .addColumn("aal", "integer", (c) => c.notNull())
    .addColumn("factors", "text", (c) => c.notNull())
    .addColumn("persistent", "integer", (c) => c.notNull())
    .addColumn("session_type", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("last_seen_at", "text", (c) => c.notNull())
    .addColumn("authenticated_at", "text", (c) => c.notNull())
    .addColumn("idle_expires_at", "text", (c) => c.notNull())
    .addColumn("absolute_expires_at", "text", (c) => c.notNull())
    .addColumn("revoked_at", "text")
    .addColumn("ip", "text")
    .addColumn("user_agent", "text")
    .execute();
  await db.schema.createIndex("session_account").on("session").columns(["account_id"]).execute();

  await db.schema
    .createTable("outbox_message")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("channel", "text", (c) => c.notNull())
    .addColumn("recipient", "text", (c) => c.notNull())
    .addColumn("template", "text", (c) => c.notNull())
    .addColumn("locale", "text", (c) => c.notNull())
    .addColumn("subject", "text")
    .addColumn("text_body", "text", (c) => c.notNull())
    .addColumn("html_body", "text")
    .addColumn("dev_code", "text")
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("attempts", "integer", (c) => c.notNull())
    .addColumn("next_attempt_at", "text", (c) => c.notNull())
    .addColumn("lease_expires_at", "text")
    .addColumn("leased_by", "text")
    .addColumn("last_error", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("sent_at", "text")
    .execute();
  await db.schema
    .createIndex("outbox_message_due")
    .on("outbox_message")
    .columns(["state", "next_attempt_at"])
    .execute();
  await db.schema
    .createIndex("outbox_message_recipient")
    .on("outbox_message")
    .columns(["recipient", "created_at"])
    .execute();

  await db.schema
    .createTable("audit_event")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("account_id", "text")
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("actor", "text", (c) => c.notNull())
    .addColumn("ip", "text")
    .addColumn("user_agent", "text")
    .addColumn("detail", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("audit_event_account")
    .on("audit_event")
    .columns(["account_id", "created_at"])
    .execute();

  await db.schema
    .createTable("setting")
    .addColumn("key", "text", (c) => c.primaryKey())
    .addColumn("value", "text", (c) => c.notNull())
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("throttle_counter")
    .addColumn("key", "text", (c) => c.primaryKey())
    .addColumn("window_started_at", "text", (c) => c.notNull())
    .addColumn("hits", "integer", (c) => c.notNull())
    .addColumn("expires_at", "text", (c) => c.notNull())
    .execute();
}
