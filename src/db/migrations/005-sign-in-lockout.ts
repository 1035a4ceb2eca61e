import type { Kysely } from "kysely";

// Consecutive password failures per sign-in identifier, and the pause they caused.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("sign_in_lockout")
    .addColumn("key", "text", (c) => c.primaryKey())
    .addColumn("failures", "integer", (c) => c.notNull())
    .addColumn("level", "integer", (c) => c.notNull())
    .addColumn("paused_until", "text")
    .addColumn("updated_at", "text", (c) => c.notNull())
    .execute();
}
