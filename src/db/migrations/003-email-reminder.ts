import type { Kysely } from "kysely";

// "Forgot your email?": a code by SMS to a verified mobile number reveals the masked email.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("email_reminder")
    .addColumn("id", "text", (c) => c.primaryKey())
    // Null for a decoy flow: no active account has this verified number.
    .addColumn("account_id", "text", (c) => c.references("account.id").onDelete("cascade"))
    .addColumn("phone", "text", (c) => c.notNull())
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("locale", "text", (c) => c.notNull())
    .addColumn("expires_at", "text", (c) => c.notNull())
    .addColumn("ip", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
}
