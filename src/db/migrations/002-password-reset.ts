import type { Kysely } from "kysely";

// Password reset flows and the password history that refuses the last few passwords.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("password_reset")
    .addColumn("id", "text", (c) => c.primaryKey())
    // Null for a decoy flow: an identifier with no (active) account gets the same answers.
    .addColumn("account_id", "text", (c) => c.references("account.id").onDelete("cascade"))
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("email", "text")
    .addColumn("locale", "text", (c) => c.notNull())
    .addColumn("expires_at", "text", (c) => c.notNull())
    .addColumn("verified_at", "text")
    .addColumn("completed_at", "text")
    .addColumn("ip", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("password_reset_account")
    .on("password_reset")
    .columns(["account_id", "state"])
    .execute();

  await db.schema
    .createTable("password_history")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("account_id", "text", (c) => c.notNull().references("account.id").onDelete("cascade"))
    // 1, 2, 3… per account: the order passwords were set in, even within one millisecond.
    .addColumn("sequence", "integer", (c) => c.notNull())
    .addColumn("password_hash", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("password_history_account_sequence")
    .on("password_history")
    .columns(["account_id", "sequence"])
    .unique()
    .execute();
}
