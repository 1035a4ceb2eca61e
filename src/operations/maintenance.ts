import type { Kysely } from "kysely";
import type { Schema } from "../db/schema.ts";

export type MaintenanceMode = { on: false } | { on: true; message: string; retryAfterSeconds: number };

const key = "maintenance";

/**
 * Maintenance mode lives in the database, so `mamori maintenance on` reaches every process at once.
 * Read on each sign-in, registration and reset (one primary-key read), never cached.
 */
export async function readMaintenanceMode(db: Kysely<Schema>): Promise<MaintenanceMode> {
  const row = await db.selectFrom("setting").select("value").where("key", "=", key).executeTakeFirst();
  if (!row) return { on: false };
  const value = JSON.parse(row.value) as { message?: string; retryAfterSeconds?: number };
  return { on: true, message: value.message ?? "", retryAfterSeconds: value.retryAfterSeconds ?? 300 };
}

export async function setMaintenanceMode(
  db: Kysely<Schema>,
  mode: MaintenanceMode,
  now: Date,
): Promise<void> {
  if (!mode.on) {
    await db.deleteFrom("setting").where("key", "=", key).execute();
    return;
  }
  const value = JSON.stringify({ message: mode.message, retryAfterSeconds: mode.retryAfterSeconds });
  await db
    .insertInto("setting")
    .values({ key, value, updated_at: now.toISOString() })
    .onConflict((oc) => oc.column("key").doUpdateSet({ value, updated_at: now.toISOString() }))
    .execute();
}
