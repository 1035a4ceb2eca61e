import type { Kysely, Selectable } from "kysely";
import type { Locale } from "../config/config.ts";
import type { AccountStatus, AccountTable, Schema } from "../db/schema.ts";
import { recordPasswordHistory } from "../passwords/history.ts";
import type { Identifier } from "./identifiers.ts";

export type AccountRow = Selectable<AccountTable>;

/** What the API shows of an account (shared/API.md, `GET /api/v1/session`). */
export type PublicAccount = {
  id: string;
  email: string;
  name: string;
  phone: string | null;
  locale: Locale;
  status: AccountStatus;
};

export function toPublicAccount(row: AccountRow): PublicAccount {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    phone: row.phone,
    locale: row.locale,
    status: row.status,
  };
}

export type NewAccount = {
  id: string;
  email: string;
  name: string;
  passwordHash: string;
  locale: Locale;
  now: Date;
};

/** Inserts a verified account. Returns false when the email was taken meanwhile (unique index). */
export async function insertAccount(db: Kysely<Schema>, account: NewAccount): Promise<boolean> {
  const now = account.now.toISOString();
  const result = await db
    .insertInto("account")
    .values({
      id: account.id,
      email: account.email,
      email_verified_at: now,
      name: account.name,
      phone: null,
      phone_verified_at: null,
      password_hash: account.passwordHash,
      password_changed_at: now,
      locale: account.locale,
      status: "active",
      status_reason: null,
      created_at: now,
      updated_at: now,
    })
    .onConflict((oc) => oc.column("email").doNothing())
    .executeTakeFirst();
  if ((result.numInsertedOrUpdatedRows ?? 0n) === 0n) return false;
  await recordPasswordHistory(db, account.id, account.passwordHash, account.now);
  return true;
}

/** The account a sign-in identifier names: by email, or by a *verified* mobile number only. */
export async function findAccountByIdentifier(
  db: Kysely<Schema>,
  identifier: Identifier,
): Promise<AccountRow | undefined> {
  if (identifier.kind === "email") {
    return db.selectFrom("account").selectAll().where("email", "=", identifier.email).executeTakeFirst();
  }
  return db
    .selectFrom("account")
    .selectAll()
    .where("phone", "=", identifier.phone)
    .where("phone_verified_at", "is not", null)
    .executeTakeFirst();
}

export async function findAccountById(db: Kysely<Schema>, id: string): Promise<AccountRow | undefined> {
  return db.selectFrom("account").selectAll().where("id", "=", id).executeTakeFirst();
}

export async function findAccountByEmail(db: Kysely<Schema>, email: string): Promise<AccountRow | undefined> {
  return db.selectFrom("account").selectAll().where("email", "=", email).executeTakeFirst();
}

/** A rehash of the same password (new argon2 parameters): the history is about passwords, not hashes. */
export async function updatePasswordHash(
  db: Kysely<Schema>,
  accountId: string,
  passwordHash: string,
  now: Date,
): Promise<void> {
  await db
    .updateTable("account")
    .set({ password_hash: passwordHash, updated_at: now.toISOString() })
    .where("id", "=", accountId)
    .execute();
}

export async function setAccountStatus(
  db: Kysely<Schema>,
  accountId: string,
  status: AccountStatus,
  reason: string | null,
  now: Date,
): Promise<boolean> {
  const result = await db
    .updateTable("account")
    .set({ status, status_reason: reason, updated_at: now.toISOString() })
    .where("id", "=", accountId)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Sets a new password: the hash, the time it changed, and a history row, in the caller's transaction. */
export async function setAccountPassword(
  db: Kysely<Schema>,
  accountId: string,
  passwordHash: string,
  now: Date,
): Promise<void> {
  await db
    .updateTable("account")
    .set({
      password_hash: passwordHash,
      password_changed_at: now.toISOString(),
      updated_at: now.toISOString(),
    })
    .where("id", "=", accountId)
    .execute();
  await recordPasswordHistory(db, accountId, passwordHash, now);
}
