import type { Kysely } from "kysely";

/**
 * OpenID Connect Back-Channel Logout 1.0 and public clients (decision 0022).
 *
 * - `oidc_client.backchannel_logout_uri`: where a shop receives logout tokens (null: none sent);
 *   `public_client` 1 for a single-page or phone app (no secret, PKCE only; RFC 8252).
 * - `oidc_logout_target`: which shop holds a sign-in from which Mamori session, under which `sid`
 *   (the ID token's). Written when the shop gets its code; when that Mamori session ends (or the
 *   account's password changes, or it is suspended or closed) a logout token is queued in the
 *   outbox for the shop and the row is deleted.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("oidc_client").addColumn("backchannel_logout_uri", "text").execute();
  await db.schema
    .alterTable("oidc_client")
    .addColumn("public_client", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createTable("oidc_logout_target")
    .addColumn("client_id", "text", (c) => c.notNull())
    .addColumn("sid", "text", (c) => c.notNull())
    .addColumn("account_id", "text", (c) => c.notNull())
    .addColumn("mamori_session_id", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("oidc_logout_target_pk", ["client_id", "sid"])
    .execute();
  await db.schema
    .createIndex("oidc_logout_target_session")
    .on("oidc_logout_target")
    .column("mamori_session_id")
    .execute();
  await db.schema
    .createIndex("oidc_logout_target_account")
    .on("oidc_logout_target")
    .column("account_id")
    .execute();
}
