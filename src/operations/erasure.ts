import type { Kysely } from "kysely";
import { recordAuditEvent } from "../audit/audit.ts";
import type { Schema } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { accountLockoutKey } from "../throttle/lockout.ts";

/**
 * Erasing a closed account once its grace period is over (housekeeping, every few minutes): what
 * identifies the person goes; the account's id, its status and its times stay, with the audit's
 * event types and times, so the shop can still answer "was there an account, and when did it
 * close?" without holding anyone's data. What is erased and what is kept, table by table:
 * docs/flows/account-closing.md ("Erasure"). An erased account can never be reopened.
 */
export type ErasureDeps = Pick<Deps, "db" | "clock" | "random">;

/** The address an erased account keeps: unique (the column is), undeliverable, about nobody. */
export function erasedEmailOf(accountId: string): string {
  return `${accountId}@erased.invalid`;
}

/** Erases every closed account whose grace period has ended; returns how many. */
export async function eraseClosedAccounts(deps: ErasureDeps): Promise<number> {
  const now = deps.clock.now().toISOString();
  const due = await deps.db
    .selectFrom("account")
    .select("id")
    .where("status", "=", "closed")
    .where("erased_at", "is", null)
    .where("erase_after", "<=", now)
    .execute();
  let erased = 0;
  for (const { id } of due) if (await eraseAccount(deps, id)) erased += 1;
  return erased;
}

/**
 * One account, in one transaction. It re-reads the row under the update, so a reopening that won
 * the race is respected and two processes never both erase (the second finds nothing to do).
 */
export async function eraseAccount(deps: ErasureDeps, accountId: string): Promise<boolean> {
  const now = deps.clock.now().toISOString();
  return deps.db.transaction().execute(async (trx) => {
    const account = await trx
      .selectFrom("account")
      .select(["id", "email", "phone"])
      .where("id", "=", accountId)
      .where("status", "=", "closed")
      .where("erased_at", "is", null)
      .where("erase_after", "<=", now)
      .executeTakeFirst();
    if (!account) return false;
    const claimed = await trx
      .updateTable("account")
      .set({
        email: erasedEmailOf(accountId),
        email_verified_at: null,
        name: "",
        phone: null,
        phone_verified_at: null,
        password_hash: null,
        status_reason: null,
        two_step_enabled_at: null,
        erased_at: now,
        updated_at: now,
      })
      .where("id", "=", accountId)
      .where("erased_at", "is", null)
      // Still closed and due: a reopening committed since the read above keeps its account.
      .where("status", "=", "closed")
      .where("erase_after", "<=", now)
      .executeTakeFirst();
    if (claimed.numUpdatedRows === 0n) return false;
    await eraseRowsOf(trx, account, now);
    await recordAuditEvent(trx, deps, { type: "account.erased", accountId, actor: "system" });
    return true;
  });
}

/** Every row about the person, in the order foreign references allow. */
async function eraseRowsOf(
  db: Kysely<Schema>,
  account: { id: string; email: string; phone: string | null },
  now: string,
): Promise<void> {
  const id = account.id;
  const methodPhones = await db
    .selectFrom("two_step_method")
    .select("phone")
    .where("account_id", "=", id)
    .where("phone", "is not", null)
    .execute();
  const reminderPhones = await db
    .selectFrom("email_reminder")
    .select("phone")
    .where("account_id", "=", id)
    .execute();
  const phones = [
    ...new Set(
      [account.phone, ...methodPhones.map((m) => m.phone), ...reminderPhones.map((r) => r.phone)].filter(
        (p): p is string => typeof p === "string" && p !== "",
      ),
    ),
  ];
  const addresses = [account.email, ...phones];
  const ips = await addressesUsedBy(db, id);

  await db.deleteFrom("passkey_challenge").where("account_id", "=", id).execute();
  await db
    .deleteFrom("passkey_challenge")
    .where("sign_in_flow_id", "in", db.selectFrom("sign_in_flow").select("id").where("account_id", "=", id))
    .execute();
  await db
    .deleteFrom("passkey_challenge")
    .where("session_id", "in", db.selectFrom("session").select("id").where("account_id", "=", id))
    .execute();
  await db.deleteFrom("passkey").where("account_id", "=", id).execute();
  await db.deleteFrom("recovery_code").where("account_id", "=", id).execute();
  await db.deleteFrom("two_step_method").where("account_id", "=", id).execute();
  await db.deleteFrom("trusted_device").where("account_id", "=", id).execute();
  await db.deleteFrom("sign_in_context").where("account_id", "=", id).execute();
  await db.deleteFrom("sign_in_flow").where("account_id", "=", id).execute();
  await db.deleteFrom("session").where("account_id", "=", id).execute();
  await db.deleteFrom("password_history").where("account_id", "=", id).execute();
  await db
    .deleteFrom("password_reset")
    .where((eb) => eb.or([eb("account_id", "=", id), eb("email", "=", account.email)]))
    .execute();
  await db
    .deleteFrom("email_reminder")
    .where((eb) => eb.or([eb("account_id", "=", id), eb("phone", "in", addresses)]))
    .execute();
  await db.deleteFrom("registration").where("email", "=", account.email).execute();
  await db.deleteFrom("registration").where("account_id", "=", id).execute();
  await db.deleteFrom("verification_code").where("destination", "in", addresses).execute();
  await db.deleteFrom("outbox_message").where("recipient", "in", addresses).execute();
  await db.deleteFrom("oidc_model").where("account_id", "=", id).execute();
  // Lockouts by the account, or by one of its identifiers typed at sign-in.
  await db
    .deleteFrom("sign_in_lockout")
    .where((eb) =>
      eb.or([
        eb("key", "like", `${accountLockoutKey(id)}%`),
        ...addresses.map((a) => eb("key", "=", `sign_in:identifier:${a}`)),
      ]),
    )
    .execute();
  // Counters named after its email or numbers go; those named after an address it used go once
  // their window has ended, so an erasure never resets a limit still counting.
  const counters = await db.selectFrom("throttle_counter").select(["key", "expires_at"]).execute();
  const doomed = counters
    .filter(
      (c) =>
        addresses.some((a) => c.key.endsWith(`:${a}`)) ||
        (c.expires_at <= now && ips.some((ip) => c.key.includes(`:${ip}`))),
    )
    .map((c) => c.key);
  for (const key of doomed) await db.deleteFrom("throttle_counter").where("key", "=", key).execute();
  // The console's trail keeps which member of staff did what and when; the reason they wrote (free
  // text, often the caller's name or number) goes.
  await db.updateTable("staff_action").set({ reason: "" }).where("account_id", "=", id).execute();
  // The audit keeps what happened and when (its ids, types, times, actor), never who or from where.
  await db
    .updateTable("audit_event")
    .set({ ip: null, user_agent: null, detail: "{}" })
    .where("account_id", "=", id)
    .execute();
}

/** The network addresses the account's sessions, flows and audit saw. */
async function addressesUsedBy(db: Kysely<Schema>, accountId: string): Promise<string[]> {
  const rows = [
    ...(await db.selectFrom("session").select("ip").where("account_id", "=", accountId).execute()),
    ...(await db.selectFrom("sign_in_flow").select("ip").where("account_id", "=", accountId).execute()),
    ...(await db.selectFrom("audit_event").select("ip").where("account_id", "=", accountId).execute()),
  ];
  return [
    ...new Set(rows.map((r) => r.ip).filter((ip): ip is string => typeof ip === "string" && ip !== "")),
  ];
}
