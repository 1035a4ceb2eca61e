import type { Kysely } from "kysely";
import type { Locale } from "../config/config.ts";
import type { Schema } from "../db/schema.ts";

/** What the operator turns on: a message per language and how long it should take. */
export type MaintenanceSetting =
  | { on: false }
  | { on: true; message: string; messageEn?: string | undefined; retryAfterSeconds: number };

/** Maintenance as every process reads it: the setting, and when it was expected to end. */
export type MaintenanceMode =
  | { on: false }
  | {
      on: true;
      /** The Japanese message (`--message`); "" for the default words. */
      message: string;
      /** The English message (`--message-en`); "" when the operator gave none. */
      messageEn: string;
      retryAfterSeconds: number;
      /** When it was expected to end: the moment it was turned on plus `retryAfterSeconds`. */
      endsAt: string;
    };

const key = "maintenance";

/** When an expected end has passed and maintenance is still on, clients are asked back within this. */
const overdueRetrySeconds = 300;

/**
 * Maintenance mode lives in the database, so `mamori maintenance on` reaches every process at once.
 * Read on each sign-in, registration and reset (one primary-key read), never cached.
 */
export async function readMaintenanceMode(db: Kysely<Schema>): Promise<MaintenanceMode> {
  const row = await db
    .selectFrom("setting")
    .select(["value", "updated_at"])
    .where("key", "=", key)
    .executeTakeFirst();
  if (!row) return { on: false };
  const value = JSON.parse(row.value) as {
    message?: string;
    messageEn?: string;
    retryAfterSeconds?: number;
    endsAt?: string;
  };
  const retryAfterSeconds = value.retryAfterSeconds ?? 300;
  return {
    on: true,
    message: value.message ?? "",
    messageEn: value.messageEn ?? "",
    retryAfterSeconds,
    // A setting stored before the expected end was kept: from when it was turned on.
    endsAt: value.endsAt ?? new Date(Date.parse(row.updated_at) + retryAfterSeconds * 1000).toISOString(),
  };
}

export async function setMaintenanceMode(
  db: Kysely<Schema>,
  mode: MaintenanceSetting,
  now: Date,
): Promise<void> {
  if (!mode.on) {
    await db.deleteFrom("setting").where("key", "=", key).execute();
    return;
  }
  const value = JSON.stringify({
    message: mode.message,
    messageEn: mode.messageEn ?? "",
    retryAfterSeconds: mode.retryAfterSeconds,
    endsAt: new Date(now.getTime() + mode.retryAfterSeconds * 1000).toISOString(),
  });
  await db
    .insertInto("setting")
    .values({ key, value, updated_at: now.toISOString() })
    .onConflict((oc) => oc.column("key").doUpdateSet({ value, updated_at: now.toISOString() }))
    .execute();
}

/**
 * Retry-After while maintenance is on: the seconds left until the expected end; once that has
 * passed (it is taking longer), a few minutes at most.
 */
export function maintenanceRetryAfter(mode: MaintenanceMode & { on: true }, now: Date): number {
  const left = Math.ceil((Date.parse(mode.endsAt) - now.getTime()) / 1000);
  return left > 0 ? left : Math.min(mode.retryAfterSeconds, overdueRetrySeconds);
}

/** The operator's message in the reader's language: English when given, else the Japanese one. */
export function maintenanceMessage(mode: MaintenanceMode & { on: true }, locale: Locale): string {
  return locale === "en" && mode.messageEn ? mode.messageEn : mode.message;
}
