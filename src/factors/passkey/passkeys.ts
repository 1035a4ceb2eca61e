import type { Kysely, Selectable } from "kysely";
import { newId } from "../../crypto/secrets.ts";
import type { PasskeyTable, Schema } from "../../db/schema.ts";
import type { Random } from "../../deps.ts";

/** A stored passkey: the credential's public half, its counter and flags, and the owner's name for it. */
export type PasskeyRow = Selectable<PasskeyTable>;

export type PublicPasskey = {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  /** True when the passkey may be synced to the owner's other devices (backup eligible). */
  synced: boolean;
  userVerified: boolean;
};

export function toPublicPasskey(row: PasskeyRow): PublicPasskey {
  return {
    id: row.id,
    name: row.name,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    synced: row.backup_eligible === 1,
    userVerified: row.user_verified === 1,
  };
}

/** PostgreSQL hands a bigint back as a string; the counter fits a double exactly (32 bits). */
export function signCountOf(row: Pick<PasskeyRow, "sign_count">): number {
  return Number(row.sign_count);
}

export function transportsOf(row: Pick<PasskeyRow, "transports">): string[] {
  const parsed: unknown = JSON.parse(row.transports);
  return Array.isArray(parsed) ? parsed.filter((t): t is string => typeof t === "string") : [];
}

export const passkeyNameMaxLength = 64;

/** A name as typed: trimmed, control characters removed, NFC, at most 64 characters. */
export function cleanPasskeyName(name: string): string {
  return name
    .normalize("NFC")
    .replace(/\p{Cc}/gu, " ")
    .trim()
    .slice(0, passkeyNameMaxLength);
}

export type NewPasskey = {
  accountId: string;
  credentialId: string;
  publicKey: string;
  signCount: number;
  transports: readonly string[];
  aaguid: string;
  backupEligible: boolean;
  backedUp: boolean;
  userVerified: boolean;
  name: string;
  now: Date;
};

export async function insertPasskey(
  db: Kysely<Schema>,
  random: Random,
  input: NewPasskey,
): Promise<PasskeyRow> {
  const row: PasskeyRow = {
    id: newId(random, "pky"),
    account_id: input.accountId,
    credential_id: input.credentialId,
    public_key: input.publicKey,
    sign_count: input.signCount,
    transports: JSON.stringify(input.transports),
    aaguid: input.aaguid,
    backup_eligible: input.backupEligible ? 1 : 0,
    backed_up: input.backedUp ? 1 : 0,
    user_verified: input.userVerified ? 1 : 0,
    name: input.name,
    created_at: input.now.toISOString(),
    last_used_at: null,
  };
  await db.insertInto("passkey").values(row).execute();
  return row;
}

export async function listPasskeys(db: Kysely<Schema>, accountId: string): Promise<PasskeyRow[]> {
  return db
    .selectFrom("passkey")
    .selectAll()
    .where("account_id", "=", accountId)
    .orderBy("created_at", "asc")
    .orderBy("id", "asc")
    .execute();
}

export async function findPasskey(
  db: Kysely<Schema>,
  accountId: string,
  id: string,
): Promise<PasskeyRow | undefined> {
  return db
    .selectFrom("passkey")
    .selectAll()
    .where("id", "=", id)
    .where("account_id", "=", accountId)
    .executeTakeFirst();
}

export async function findPasskeyByCredentialId(
  db: Kysely<Schema>,
  credentialId: string,
): Promise<PasskeyRow | undefined> {
  return db.selectFrom("passkey").selectAll().where("credential_id", "=", credentialId).executeTakeFirst();
}

export async function renamePasskey(
  db: Kysely<Schema>,
  accountId: string,
  id: string,
  name: string,
): Promise<boolean> {
  const result = await db
    .updateTable("passkey")
    .set({ name })
    .where("id", "=", id)
    .where("account_id", "=", accountId)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function deletePasskey(db: Kysely<Schema>, accountId: string, id: string): Promise<boolean> {
  const result = await db
    .deleteFrom("passkey")
    .where("id", "=", id)
    .where("account_id", "=", accountId)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/**
 * Records a use: the new counter and flags, guarded by the counter read before the check, so two
 * assertions racing with the same counter cannot both pass (the second updates nothing).
 */
export async function recordPasskeyUse(
  db: Kysely<Schema>,
  row: PasskeyRow,
  use: { signCount: number; backedUp: boolean; now: Date },
): Promise<boolean> {
  const result = await db
    .updateTable("passkey")
    .set({
      sign_count: use.signCount,
      backed_up: use.backedUp ? 1 : 0,
      last_used_at: use.now.toISOString(),
    })
    .where("id", "=", row.id)
    .where("sign_count", "=", signCountOf(row))
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
