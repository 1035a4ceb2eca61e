import type { Kysely } from "kysely";

/**
 * Sign-in with other OpenID Connect providers (LINE, Yahoo! JAPAN ID, Google, a generic one):
 * - `federated_identity`: an account's link to one person at one provider (its `sub`), one account
 *   per (provider, subject), so a provider identity can never reach two accounts;
 * - `federation_flow`: one trip to a provider and back, single use: its `id` is the OAuth `state`,
 *   with the PKCE verifier and the nonce the callback must match; when the provider gave no
 *   verified email, the flow waits in `email_needed` / `code_sent` for the person to prove one.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("federated_identity")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("provider", "text", (c) => c.notNull())
    .addColumn("subject", "text", (c) => c.notNull())
    .addColumn("account_id", "text", (c) => c.notNull().references("account.id").onDelete("cascade"))
    .addColumn("email", "text")
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("last_used_at", "text")
    .addUniqueConstraint("federated_identity_provider_subject", ["provider", "subject"])
    .execute();
  await db.schema
    .createIndex("federated_identity_account")
    .on("federated_identity")
    .column("account_id")
    .execute();

  await db.schema
    .createTable("federation_flow")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("provider", "text", (c) => c.notNull())
    .addColumn("purpose", "text", (c) => c.notNull())
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("account_id", "text")
    .addColumn("session_id", "text")
    .addColumn("code_verifier", "text", (c) => c.notNull())
    .addColumn("nonce", "text", (c) => c.notNull())
    .addColumn("return_to", "text", (c) => c.notNull())
    .addColumn("keep_signed_in", "integer", (c) => c.notNull())
    .addColumn("locale", "text", (c) => c.notNull())
    .addColumn("subject", "text")
    .addColumn("name", "text")
    .addColumn("email", "text")
    .addColumn("expires_at", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("federation_flow_expires").on("federation_flow").column("expires_at").execute();
}
