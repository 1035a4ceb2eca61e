import type { Kysely } from "kysely";

/**
 * A client registered for the Device Authorization Grant (RFC 8628, `mamori clients create
 * --device`): a TV app, a kiosk or a speaker that shows a code the person enters on their phone.
 * Such a client is public (it cannot keep a secret: anyone can take the app apart), so its
 * `secret_encrypted` is the empty string and it never authenticates at the token endpoint.
 * Existing clients are not device clients (0).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable("oidc_client")
    .addColumn("device_flow", "integer", (c) => c.notNull().defaultTo(0))
    .execute();
}
