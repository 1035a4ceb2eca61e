import type { Kysely } from "kysely";

/**
 * A shop's codes and tokens are bound to the Mamori session they were issued in and kept as hashes
 * (src/oidc/adapter.ts): `mamori_session_id` names the session, `issued_at` is when the row was
 * written (Mamori's clock, compared with the account's password change), and the row's id becomes
 * the SHA-256 of the code or token.
 *
 * The codes and tokens stored before this migration are deleted: their rows hold the raw values,
 * and nothing says which Mamori session they came from. A shop's next refresh answers
 * `invalid_grant` and it sends the customer through "Sign in with Mamori" again, which passes
 * without a word while their Mamori session lives; consents (grants) are kept.
 */
const tokenModels = ["AuthorizationCode", "AccessToken", "RefreshToken"];

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("oidc_model").addColumn("mamori_session_id", "text").execute();
  await db.schema.alterTable("oidc_model").addColumn("issued_at", "text").execute();
  await db.schema
    .createIndex("oidc_model_mamori_session_id")
    .on("oidc_model")
    .column("mamori_session_id")
    .execute();
  const typed = db as unknown as Kysely<{ oidc_model: { model: string } }>;
  await typed.deleteFrom("oidc_model").where("model", "in", tokenModels).execute();
}
