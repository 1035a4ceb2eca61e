import type { Kysely } from "kysely";

// The OpenID Connect provider's storage (docs/integration.md): its artefacts (authorization codes,
// tokens, grants, interactions, its own sessions), the shops registered as clients, and the keys
// that sign ID tokens.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("oidc_model")
    .addColumn("model", "text", (c) => c.notNull())
    .addColumn("id", "text", (c) => c.notNull())
    .addColumn("payload", "text", (c) => c.notNull())
    .addColumn("grant_id", "text")
    .addColumn("client_id", "text")
    .addColumn("user_code", "text")
    .addColumn("uid", "text")
    .addColumn("expires_at", "text")
    .addColumn("consumed_at", "text")
    .addPrimaryKeyConstraint("oidc_model_pk", ["model", "id"])
    .execute();
  await db.schema.createIndex("oidc_model_grant_id").on("oidc_model").column("grant_id").execute();
  await db.schema.createIndex("oidc_model_client_id").on("oidc_model").column("client_id").execute();
  await db.schema.createIndex("oidc_model_uid").on("oidc_model").columns(["model", "uid"]).execute();
  await db.schema.createIndex("oidc_model_expires_at").on("oidc_model").column("expires_at").execute();

  await db.schema
    .createTable("oidc_client")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("secret_encrypted", "text", (c) => c.notNull())
    .addColumn("redirect_uris", "text", (c) => c.notNull())
    .addColumn("post_logout_redirect_uris", "text", (c) => c.notNull())
    .addColumn("require_two_step", "integer", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("oidc_signing_key")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("private_jwk_encrypted", "text", (c) => c.notNull())
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("created_at", "text", (c) => c.notNull())
    .addColumn("retired_at", "text")
    .execute();
}
