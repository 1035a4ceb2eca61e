import type { Kysely, Selectable } from "kysely";
import { decryptSecret, encryptSecret } from "../../crypto/encryption.ts";
import { newId } from "../../crypto/secrets.ts";
import type { Schema, TwoStepMethodKind, TwoStepMethodTable } from "../../db/schema.ts";
import type { Clock, Random } from "../../deps.ts";
import { maskPhone } from "../../identity/identifiers.ts";
import { verifyTotp } from "../totp/totp.ts";

/**
 * The two-step methods of an account: a primary and backups, each an SMS phone, a voice phone or
 * an authenticator app. A method is `pending` from the moment it is added until a code from it is
 * entered once; only `active` methods count at sign-in.
 */
export type MethodRow = Selectable<TwoStepMethodTable>;

export type PublicMethod = { id: string; method: TwoStepMethodKind; destination: string | null };

/** What the API and pages show: phones masked to the last four digits, apps by name. */
export function toPublicMethod(row: MethodRow): PublicMethod {
  return { id: row.id, method: row.method, destination: row.phone ? maskPhone(row.phone) : null };
}

export async function listActiveMethods(db: Kysely<Schema>, accountId: string): Promise<MethodRow[]> {
  const rows = await db
    .selectFrom("two_step_method")
    .selectAll()
    .where("account_id", "=", accountId)
    .where("state", "=", "active")
    .orderBy("created_at")
    .orderBy("id")
    .execute();
  // The primary first, then backups in the order they were added.
  return [...rows.filter((r) => r.role === "primary"), ...rows.filter((r) => r.role === "backup")];
}

export async function findMethod(
  db: Kysely<Schema>,
  accountId: string,
  methodId: string,
): Promise<MethodRow | undefined> {
  return db
    .selectFrom("two_step_method")
    .selectAll()
    .where("id", "=", methodId)
    .where("account_id", "=", accountId)
    .executeTakeFirst();
}

export type NewMethod =
  | { role: "primary" | "backup"; method: "sms" | "voice"; phone: string }
  | { role: "primary" | "backup"; method: "totp"; secret: Buffer };

export type MethodDeps = { clock: Clock; random: Random; secretKeys: readonly Buffer[] };

function totpPurpose(accountId: string): string {
  return `totp-secret:${accountId}`;
}

/** Adds a pending method; an older pending method of the same role is dropped (one set-up at a time). */
export async function insertPendingMethod(
  db: Kysely<Schema>,
  deps: MethodDeps,
  accountId: string,
  input: NewMethod,
): Promise<MethodRow> {
  await db
    .deleteFrom("two_step_method")
    .where("account_id", "=", accountId)
    .where("role", "=", input.role)
    .where("state", "=", "pending")
    .execute();
  const row: MethodRow = {
    id: newId(deps.random, "mth"),
    account_id: accountId,
    role: input.role,
    method: input.method,
    state: "pending",
    phone: input.method === "totp" ? null : input.phone,
    totp_secret:
      input.method === "totp" ? encryptSecret(deps.secretKeys, input.secret, totpPurpose(accountId)) : null,
    totp_last_step: null,
    created_at: deps.clock.now().toISOString(),
    verified_at: null,
    last_used_at: null,
  };
  await db.insertInto("two_step_method").values(row).execute();
  return row;
}

/** The key of an app method, to show a set-up again; undefined when no configured key decrypts it. */
export function readTotpSecret(deps: MethodDeps, method: MethodRow): Buffer | undefined {
  if (method.method !== "totp" || !method.totp_secret) return undefined;
  return decryptSecret(deps.secretKeys, method.totp_secret, totpPurpose(method.account_id));
}

export type TotpCheck = { ok: true } | { ok: false; reason: "incorrect" | "replayed" | "unreadable" };

/**
 * Checks an authenticator-app code and records its step in one guarded statement, so the same code
 * sent twice at once (two tabs, a replay) passes once.
 */
export async function checkTotpMethod(
  db: Kysely<Schema>,
  deps: MethodDeps,
  method: MethodRow,
  code: string,
): Promise<TotpCheck> {
  if (method.method !== "totp" || !method.totp_secret) return { ok: false, reason: "incorrect" };
  const secret = decryptSecret(deps.secretKeys, method.totp_secret, totpPurpose(method.account_id));
  // A secret no configured key decrypts (a key removed too early) must fail closed, not crash.
  if (!secret) return { ok: false, reason: "unreadable" };
  const now = deps.clock.now();
  const match = verifyTotp(secret, code, now, method.totp_last_step);
  if (!match.ok) return match;
  const recorded = await db
    .updateTable("two_step_method")
    .set({ totp_last_step: match.step, last_used_at: now.toISOString() })
    .where("id", "=", method.id)
    .where((eb) => eb.or([eb("totp_last_step", "is", null), eb("totp_last_step", "<", match.step)]))
    .executeTakeFirst();
  return recorded.numUpdatedRows > 0n ? { ok: true } : { ok: false, reason: "replayed" };
}

/** Notes that a phone method was used to sign in (for "last used" on the settings page). */
export async function touchMethod(db: Kysely<Schema>, methodId: string, now: Date): Promise<void> {
  await db
    .updateTable("two_step_method")
    .set({ last_used_at: now.toISOString() })
    .where("id", "=", methodId)
    .execute();
}
