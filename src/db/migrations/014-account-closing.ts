import type { Kysely } from "kysely";

/**
 * Closing an account (by its owner or the operator) and erasing it later: `closed_at` is when it
 * closed, `erase_after` when housekeeping erases its personal data (the grace period, during which
 * the operator can reopen it), `erased_at` when that happened (it can then never be reopened).
 * Accounts closed before this migration have none of them: they stay closed and are not erased
 * until an operator reopens and closes them again, which nobody could have expected before.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("account").addColumn("closed_at", "text").execute();
  await db.schema.alterTable("account").addColumn("erase_after", "text").execute();
  await db.schema.alterTable("account").addColumn("erased_at", "text").execute();
  await db.schema.createIndex("account_erase_after").on("account").column("erase_after").execute();
}
