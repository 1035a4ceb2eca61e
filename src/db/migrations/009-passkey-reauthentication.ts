import type { Kysely } from "kysely";

// A passkey can prove it's the person again inside a session (reauthentication, step-up): its
// challenge belongs to the session that asked, so no other session can spend it.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("passkey_challenge").addColumn("session_id", "text").execute();
}
