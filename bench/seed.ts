import { openDatabase } from "../src/db/database.ts";
import { migrateToLatest } from "../src/db/migrate.ts";
import { insertAccount } from "../src/identity/accounts.ts";
import { normalizeEmail } from "../src/identity/identifiers.ts";
import { type HashingParameters, hashPassword } from "../src/passwords/hashing.ts";

export const benchPassword = "kumo-no-ue-no-shiro-2025";

export function benchEmail(index: number): string {
  return `bench-${String(index).padStart(5, "0")}@example.com`;
}

/**
 * Creates the database file and `count` active accounts with the project's own functions, before
 * the server starts. Every account gets the same argon2id hash (same parameters, same cost to
 * verify): hashing thousands of passwords one by one would only make the bench slower.
 */
export async function seedAccounts(
  databaseUrl: string,
  count: number,
  parameters: HashingParameters,
): Promise<void> {
  const db = openDatabase(databaseUrl);
  try {
    await migrateToLatest(db);
    const passwordHash = await hashPassword(benchPassword, parameters);
    const now = new Date();
    await db.transaction().execute(async (trx) => {
      for (let i = 0; i < count; i++) {
        const email = normalizeEmail(benchEmail(i));
        if (!email) throw new Error(`not an email: ${benchEmail(i)}`);
        const inserted = await insertAccount(trx, {
          id: `acc_bench${String(i).padStart(21, "0")}`,
          email,
          name: `Bench Person ${i}`,
          passwordHash,
          locale: "ja",
          now,
        });
        if (!inserted) throw new Error(`account ${email} exists already`);
      }
    });
  } finally {
    await db.destroy();
  }
}
