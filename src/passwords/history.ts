import { randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import type { Schema } from "../db/schema.ts";
import { verifyPassword } from "./hashing.ts";

/**
 * Password history: every password an account sets is kept as its argon2id hash, so a reset or a
 * change can refuse one of the last few (`password_reused`). Old rows beyond what any setting can
 * ask for are pruned as new ones arrive.
 */
const keptRows = 24;

export async function recordPasswordHistory(
  db: Kysely<Schema>,
  accountId: string,
  passwordHash: string,
  now: Date,
): Promise<void> {
  await db
    .insertInto("password_history")
    // The id only orders rows set in the same millisecond; it needs no Random from deps.
    .values({
      id: `pwh_${now.getTime().toString(36)}_${randomBytes(6).toString("hex")}`,
      account_id: accountId,
      password_hash: passwordHash,
      created_at: now.toISOString(),
    })
    .execute();
  const stale = await db
    .selectFrom("password_history")
    .select("id")
    .where("account_id", "=", accountId)
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .offset(keptRows)
    .limit(100)
    .execute();
  if (stale.length > 0) {
    await db
      .deleteFrom("password_history")
      .where(
        "id",
        "in",
        stale.map((row) => row.id),
      )
      .execute();
  }
}

/**
 * True when `password` is the current password or one of the `count` most recent ones. Each check
 * is an argon2id verification on the thread pool; `count` is small (5 by default).
 */
export async function isRecentPassword(
  db: Kysely<Schema>,
  accountId: string,
  currentHash: string | null,
  password: string,
  count: number,
): Promise<boolean> {
  if (count === 0) return false;
  const rows = await db
    .selectFrom("password_history")
    .select("password_hash")
    .where("account_id", "=", accountId)
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .limit(count)
    .execute();
  const hashes = new Set(rows.map((row) => row.password_hash));
  if (currentHash) hashes.add(currentHash);
  const matches = await Promise.all([...hashes].map((hash) => verifyPassword(hash, password)));
  return matches.some(Boolean);
}
