import { randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import type { Schema } from "../db/schema.ts";
import { verifyPassword } from "./hashing.ts";

/**
 * Password history: every password an account sets is kept as its argon2id hash, numbered in
 * order, so a reset or a change can refuse one of the last few (`password_reused`). Rows beyond
 * what any setting can ask for are pruned as new ones arrive.
 */
const keptRows = 24;

export async function recordPasswordHistory(
  db: Kysely<Schema>,
  accountId: string,
  passwordHash: string,
  now: Date,
): Promise<void> {
  const last = await db
    .selectFrom("password_history")
    .select((eb) => eb.fn.max("sequence").as("sequence"))
    .where("account_id", "=", accountId)
    .executeTakeFirst();
  const sequence = Number(last?.sequence ?? 0) + 1;
  // Two changes racing for one sequence number: the unique index refuses the second insert, and
  // its transaction (the whole password change) fails rather than keeping a gap in the history.
  await db
    .insertInto("password_history")
    .values({
      id: `pwh_${randomBytes(12).toString("hex")}`,
      account_id: accountId,
      sequence,
      password_hash: passwordHash,
      created_at: now.toISOString(),
    })
    .execute();
  if (sequence > keptRows) {
    await db
      .deleteFrom("password_history")
      .where("account_id", "=", accountId)
      .where("sequence", "<=", sequence - keptRows)
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
    .orderBy("sequence", "desc")
    .limit(count)
    .execute();
  const hashes = new Set(rows.map((row) => row.password_hash));
  if (currentHash) hashes.add(currentHash);
  const matches = await Promise.all([...hashes].map((hash) => verifyPassword(hash, password)));
  return matches.some(Boolean);
}
