import { type Kysely, sql } from "kysely";

/**
 * "I can't receive my two-step codes": a recovery that proves the mailbox (a code) and the password,
 * then waits (MAMORI_TWO_STEP_RECOVERY_WAIT_SECONDS) before two-step is turned off, so the owner,
 * told on every channel, can cancel it. States and arrows: docs/flows/two-step-recovery.md.
 * At most one recovery of an account waits at a time: a partial unique index, so two requests
 * racing to start one cannot both succeed, on SQLite and PostgreSQL alike.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("two_step_recovery")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("account_id", "text", (c) => c.notNull().references("account.id"))
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("started_by", "text", (c) => c.notNull())
    .addColumn("reason", "text")
    .addColumn("code_expires_at", "text", (c) => c.notNull())
    .addColumn("completes_at", "text")
    .addColumn("cancel_token_hash", "text")
    .addColumn("ended_by", "text")
    .addColumn("ended_at", "text")
    .addColumn("prompted_at", "text")
    .addColumn("ip", "text")
    .addColumn("user_agent", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("two_step_recovery_one_waiting")
    .on("two_step_recovery")
    .column("account_id")
    .unique()
    .where(sql.ref("state"), "=", "waiting")
    .execute();
  await db.schema
    .createIndex("two_step_recovery_account")
    .on("two_step_recovery")
    .columns(["account_id", "state"])
    .execute();
  await db.schema
    .createIndex("two_step_recovery_due")
    .on("two_step_recovery")
    .columns(["state", "completes_at"])
    .execute();
}
