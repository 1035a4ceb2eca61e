import type { Kysely, Selectable } from "kysely";
import { constantTimeEqual, newId, newSecret, sha256Hex } from "../crypto/secrets.ts";
import type { Schema, TrustedDeviceTable } from "../db/schema.ts";
import type { Clock, Random } from "../deps.ts";

/**
 * "Don't ask for codes on this browser": a 30-day `id.secret` cookie, hashed at rest like a
 * session. It skips only the second factor, never the password; it is listed on the security page
 * and forgotten one by one, or all at once when the password changes or two-step is turned off.
 */
export type TrustedDeviceRow = Selectable<TrustedDeviceTable>;

/** The cookie's name outside production (`__Host-mamori_trusted` in it: src/http/cookie-names.ts). */
export const trustedDeviceCookieName = "mamori_trusted";

export async function trustDevice(
  db: Kysely<Schema>,
  deps: { clock: Clock; random: Random; lifetimeSeconds: number },
  accountId: string,
  meta: { ip: string | null; userAgent: string | null },
): Promise<{ token: string; device: TrustedDeviceRow }> {
  const now = deps.clock.now();
  const secret = newSecret(deps.random);
  const device: TrustedDeviceRow = {
    id: newId(deps.random, "dev"),
    account_id: accountId,
    secret_hash: sha256Hex(secret),
    user_agent: meta.userAgent?.slice(0, 300) ?? null,
    ip: meta.ip,
    created_at: now.toISOString(),
    last_used_at: now.toISOString(),
    expires_at: new Date(now.getTime() + deps.lifetimeSeconds * 1000).toISOString(),
    revoked_at: null,
  };
  await db.insertInto("trusted_device").values(device).execute();
  return { token: `${device.id}.${secret}`, device };
}

/** True when the cookie names a live trusted device of this account (and notes its use). */
export async function isTrustedDevice(
  db: Kysely<Schema>,
  clock: Clock,
  accountId: string,
  token: string | undefined,
): Promise<boolean> {
  return (await findTrustedDevice(db, clock, accountId, token)) !== undefined;
}

/** The live trusted device of the account this token belongs to (its id), noting its use. */
export async function findTrustedDevice(
  db: Kysely<Schema>,
  clock: Clock,
  accountId: string,
  token: string | undefined,
): Promise<string | undefined> {
  if (!token || token.length > 200) return undefined;
  const dot = token.indexOf(".");
  if (dot <= 0) return undefined;
  const row = await db
    .selectFrom("trusted_device")
    .selectAll()
    .where("id", "=", token.slice(0, dot))
    .where("account_id", "=", accountId)
    .executeTakeFirst();
  const now = clock.now().toISOString();
  if (!row || row.revoked_at !== null || row.expires_at <= now) return undefined;
  if (!constantTimeEqual(sha256Hex(token.slice(dot + 1)), row.secret_hash)) return undefined;
  await db.updateTable("trusted_device").set({ last_used_at: now }).where("id", "=", row.id).execute();
  return row.id;
}

export async function listTrustedDevices(
  db: Kysely<Schema>,
  accountId: string,
  now: Date,
): Promise<TrustedDeviceRow[]> {
  return db
    .selectFrom("trusted_device")
    .selectAll()
    .where("account_id", "=", accountId)
    .where("revoked_at", "is", null)
    .where("expires_at", ">", now.toISOString())
    .orderBy("last_used_at", "desc")
    .execute();
}

/** Forgets one device (`deviceId`) or all of them (null); returns how many. */
export async function forgetTrustedDevices(
  db: Kysely<Schema>,
  accountId: string,
  deviceId: string | null,
  now: Date,
): Promise<number> {
  let query = db
    .updateTable("trusted_device")
    .set({ revoked_at: now.toISOString() })
    .where("account_id", "=", accountId)
    .where("revoked_at", "is", null);
  if (deviceId) query = query.where("id", "=", deviceId);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows);
}
