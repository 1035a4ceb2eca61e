import type { Kysely } from "kysely";

// Two-step verification: methods (phones and authenticator apps), recovery codes, trusted
// devices, and what a sign-in flow needs to wait for its second factor.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("account").addColumn("two_step_enabled_at", "text").execute();

  await db.schema
    .createTable("two_step_method")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("account_id", "text", (c) => c.notNull().references("account.id").onDelete("cascade"))
    .addColumn("role", "text", (c) => c.notNull())
    .addColumn("method", "text", (c) => c.notNull())
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("phone", "text")
    .addColumn("totp_secret", "text")
    .addColumn("totp_last_step", "integer")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("verified_at", "text")
    .addColumn("last_used_at", "text")
    .execute();
  await db.schema
    .createIndex("two_step_method_account")
    .on("two_step_method")
    .columns(["account_id", "state"])
    .execute();

  await db.schema
    .createTable("recovery_code")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("account_id", "text", (c) => c.notNull().references("account.id").onDelete("cascade"))
    .addColumn("code_hash", "text", (c) => c.notNull())
    .addColumn("used_at", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("recovery_code_account").on("recovery_code").columns(["account_id"]).execute();

  await db.schema
    .createTable("trusted_device")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("account_id", "text", (c) => c.notNull().references("account.id").onDelete("cascade"))
    .addColumn("secret_hash", "text", (c) => c.notNull())
    .addColumn("user_agent", "text")
    .addColumn("ip", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("last_used_at", "text", (c) => c.notNull())
    .addColumn("expires_at", "text", (c) => c.notNull())
    .addColumn("revoked_at", "text")
    .execute();
  await db.schema
    .createIndex("trusted_device_account")
    .on("trusted_device")
    .columns(["account_id"])
    .execute();

  // The method a waiting sign-in asks for now (its code, when a phone, is bound to the flow id).
  await db.schema.alterTable("sign_in_flow").addColumn("method_id", "text").execute();
  // When the session last proved a second factor: adding or removing methods needs it recent.
  await db.schema.alterTable("session").addColumn("second_factor_at", "text").execute();
}
