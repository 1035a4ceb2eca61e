import type { Kysely } from "kysely";

/**
 * The profile (issue 17): changing the email address and the account's mobile number, each with a
 * code, and the "this wasn't me" link that undoes an email change.
 *
 * `account.phone_source` says why the account has a mobile number: `account` (verified as the
 * account's own number in Login & security) or `two_step` (the first SMS two-step method's number,
 * which became a sign-in ID on its own). A `two_step` number stops being a sign-in ID when its
 * method goes. Numbers verified before this migration all came from SMS two-step set-up.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("account").addColumn("phone_source", "text").execute();
  await (db as Kysely<{ account: { phone: string | null; phone_source: string | null } }>)
    .updateTable("account")
    .set({ phone_source: "two_step" })
    .where("phone", "is not", null)
    .execute();

  await db.schema
    .createTable("profile_change")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("account_id", "text", (c) => c.notNull().references("account.id").onDelete("cascade"))
    // email | phone | phone_removal
    .addColumn("kind", "text", (c) => c.notNull())
    // The new address or number; for a removal, the number being removed (its code goes there).
    .addColumn("value", "text", (c) => c.notNull())
    // code_sent | completed | exhausted
    .addColumn("state", "text", (c) => c.notNull())
    // 1 when the new email belongs to another account: the flow looks the same, never completes.
    .addColumn("taken", "integer", (c) => c.notNull())
    .addColumn("expires_at", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("completed_at", "text")
    .execute();
  await db.schema
    .createIndex("profile_change_account")
    .on("profile_change")
    .columns(["account_id", "created_at"])
    .execute();

  await db.schema
    .createTable("email_change_undo")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("account_id", "text", (c) => c.notNull().references("account.id").onDelete("cascade"))
    // SHA-256 of the link's secret; the secret itself is only in the mail.
    .addColumn("token_hash", "text", (c) => c.notNull().unique())
    .addColumn("old_email", "text", (c) => c.notNull())
    .addColumn("new_email", "text", (c) => c.notNull())
    .addColumn("expires_at", "text", (c) => c.notNull())
    .addColumn("used_at", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
}
