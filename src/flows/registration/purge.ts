import type { Kysely } from "kysely";
import type { Schema } from "../../db/schema.ts";

// Rows per statement: a backlog (after a long stop) is cleared in short transactions, not one long one.
const batchSize = 500;

/**
 * Deletes every registration whose code has expired, with its codes: a registration nobody
 * finished holds an argon2id hash of a password (and a name and an address) that no one will ever
 * use, and keeping it only leaves it to leak; a finished one holds a copy of the account's first
 * password hash, stale after the first change. A purged registration then answers like one that
 * never existed (`registration_not_found`). Returns how many were deleted.
 */
export async function purgeExpiredRegistrations(db: Kysely<Schema>, now: Date): Promise<number> {
  const cutoff = now.toISOString();
  let total = 0;
  for (;;) {
    const batch = await db.transaction().execute(async (trx) => {
      const expired = await trx
        .selectFrom("registration")
        .select("id")
        .where("expires_at", "<=", cutoff)
        .limit(batchSize)
        .execute();
      if (expired.length === 0) return { seen: 0, purged: 0 };
      // Guarded by expiry again, as every step is: only rows still expired go.
      const purged = await trx
        .deleteFrom("registration")
        .where(
          "id",
          "in",
          expired.map((row) => row.id),
        )
        .where("expires_at", "<=", cutoff)
        .returning("id")
        .execute();
      if (purged.length > 0) {
        await trx
          .deleteFrom("verification_code")
          .where("purpose", "=", "registration")
          .where(
            "flow_id",
            "in",
            purged.map((row) => row.id),
          )
          .execute();
      }
      return { seen: expired.length, purged: purged.length };
    });
    total += batch.purged;
    if (batch.seen < batchSize) return total;
  }
}
