import type { Kysely } from "kysely";
import { hmacHex, newId } from "../../crypto/secrets.ts";
import type { Schema } from "../../db/schema.ts";
import type { Clock, Random } from "../../deps.ts";

/**
 * Recovery codes: 10 codes of 10 characters from an alphabet without look-alikes (no 0/O, 1/I/L,
 * U), shown once, stored as HMACs, each usable once. 30^10 ≈ 2^49 per code: with the per-account
 * attempt limits, guessing one is out of reach.
 */
export const recoveryCodeCount = 10;
const codeLength = 10;
const alphabet = "23456789ABCDEFGHJKMNPQRSTVWXYZ"; // 30 symbols: 2–9 and A–Z minus I, L, O, U

export type RecoveryDeps = { clock: Clock; random: Random; secretKey: Buffer };

/** One code, drawn by rejection sampling so every symbol is equally likely (no `% n` bias). */
function newRecoveryCode(random: Random): string {
  const limit = 256 - (256 % alphabet.length);
  let code = "";
  while (code.length < codeLength) {
    for (const byte of random.bytes(codeLength)) {
      if (byte < limit && code.length < codeLength) code += alphabet[byte % alphabet.length];
    }
  }
  return `${code.slice(0, 5)}-${code.slice(5)}`;
}

function normalize(code: string): string {
  return code.normalize("NFKC").toUpperCase().replace(/[\s-]/g, "");
}

function recoveryHash(key: Buffer, accountId: string, code: string): string {
  return hmacHex(key, "recovery-code", accountId, normalize(code));
}

/** Replaces every recovery code of the account with 10 new ones; returns them to show once. */
export async function replaceRecoveryCodes(
  db: Kysely<Schema>,
  deps: RecoveryDeps,
  accountId: string,
): Promise<string[]> {
  const now = deps.clock.now().toISOString();
  const codes = Array.from({ length: recoveryCodeCount }, () => newRecoveryCode(deps.random));
  await db.deleteFrom("recovery_code").where("account_id", "=", accountId).execute();
  await db
    .insertInto("recovery_code")
    .values(
      codes.map((code) => ({
        id: newId(deps.random, "rcv"),
        account_id: accountId,
        code_hash: recoveryHash(deps.secretKey, accountId, code),
        used_at: null,
        created_at: now,
      })),
    )
    .execute();
  return codes;
}

/**
 * Uses one recovery code: true when it was unused and is now spent. The lookup is by a keyed hash
 * (nothing to learn from timing without the key), and spending it is one guarded statement, so
 * the same code sent twice at once works once.
 */
export async function useRecoveryCode(
  db: Kysely<Schema>,
  deps: RecoveryDeps,
  accountId: string,
  code: string,
): Promise<boolean> {
  if (normalize(code).length !== codeLength) return false;
  const result = await db
    .updateTable("recovery_code")
    .set({ used_at: deps.clock.now().toISOString() })
    .where("account_id", "=", accountId)
    .where("code_hash", "=", recoveryHash(deps.secretKey, accountId, code))
    .where("used_at", "is", null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function countUnusedRecoveryCodes(db: Kysely<Schema>, accountId: string): Promise<number> {
  const row = await db
    .selectFrom("recovery_code")
    .select((eb) => eb.fn.countAll<number>().as("count"))
    .where("account_id", "=", accountId)
    .where("used_at", "is", null)
    .executeTakeFirst();
  return Number(row?.count ?? 0);
}
