import type { Kysely } from "kysely";

/**
 * When the security code in an outbox message stops working (`code_expires_at`, null for a message
 * without a code), so an operator's retry of a failed message never sends a dead code. Messages
 * queued before this migration have none: they are treated as carrying no code, which is right for
 * every message old enough to have failed for good except a code, and those codes (10–15 minutes)
 * died long before any retry.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("outbox_message").addColumn("code_expires_at", "text").execute();
}
