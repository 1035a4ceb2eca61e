import type { Selectable } from "kysely";
import { decryptSecret, encryptSecret } from "../crypto/encryption.ts";
import { newId, newSecret, sha256Hex } from "../crypto/secrets.ts";
import type { StaffAccountTable, StaffRole } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { totpSecretBytes, verifyTotp } from "../factors/totp/totp.ts";
import { normalizeName } from "../flows/registration/registration.ts";
import { normalizeEmail } from "../identity/identifiers.ts";
import { checkBreached } from "../passwords/breach-check.ts";
import { hashPassword } from "../passwords/hashing.ts";
import { checkPasswordPolicy, type PasswordProblem } from "../passwords/policy.ts";

/**
 * The operator console's people. A member of staff is made by the CLI (`mamori staff create`),
 * which prints a single-use enrolment link; through it they choose a password and add an
 * authenticator app, so every console session has two factors from the first sign-in on. Staff
 * are not customers: their own table, their own cookie, their own sessions.
 */
export type StaffRow = Selectable<StaffAccountTable>;

export const staffRoles: readonly StaffRole[] = ["support", "admin"];

/** How long an enrolment link works. */
export const enrolLifetimeSeconds = 24 * 3600;

export type StaffDeps = Pick<Deps, "db" | "clock" | "random" | "config" | "log">;

export type StaffFailure =
  | { ok: false; reason: "email_invalid" | "name_invalid" | "role_invalid" | "email_taken" | "not_found" }
  | { ok: false; reason: "enrolment_invalid" | "code_invalid" }
  | { ok: false; reason: "password_rejected"; problem: PasswordProblem };

export type Enrolment = { ok: true; staff: StaffRow; enrolUrl: string };

function totpPurpose(staffId: string): string {
  return `staff-totp:${staffId}`;
}

function enrolUrlFor(deps: StaffDeps, token: string): string {
  const url = new URL("/admin/enrol", deps.config.publicUrl);
  url.searchParams.set("token", token);
  return url.href;
}

/** A new member of staff, `invited` until they use the link this returns. */
export async function createStaff(
  deps: StaffDeps,
  input: { email: string; name: string; role: string },
): Promise<Enrolment | StaffFailure> {
  const email = normalizeEmail(input.email);
  if (!email) return { ok: false, reason: "email_invalid" };
  const name = normalizeName(input.name);
  if (!name) return { ok: false, reason: "name_invalid" };
  const role = staffRoles.find((r) => r === input.role);
  if (!role) return { ok: false, reason: "role_invalid" };
  const token = newSecret(deps.random);
  const now = deps.clock.now();
  const id = newId(deps.random, "stf");
  const inserted = await deps.db
    .insertInto("staff_account")
    .values({
      id,
      email,
      name,
      role,
      status: "invited",
      password_hash: null,
      totp_secret: null,
      totp_last_step: null,
      enrol_token_hash: sha256Hex(token),
      enrol_expires_at: new Date(now.getTime() + enrolLifetimeSeconds * 1000).toISOString(),
      created_at: now.toISOString(),
      updated_at: now.toISOString(),
      last_sign_in_at: null,
    })
    .onConflict((oc) => oc.column("email").doNothing())
    .executeTakeFirst();
  if ((inserted.numInsertedOrUpdatedRows ?? 0n) === 0n) return { ok: false, reason: "email_taken" };
  const staff = await findStaffById(deps, id);
  if (!staff) throw new Error(`staff ${id} vanished right after its creation`);
  return { ok: true, staff, enrolUrl: enrolUrlFor(deps, token) };
}

/**
 * A lost phone or a forgotten password: the person's password and app are cleared, their sessions
 * end, and a new enrolment link is made. Only the CLI can do this (an admin on the server).
 */
export async function reinviteStaff(deps: StaffDeps, email: string): Promise<Enrolment | StaffFailure> {
  const staff = await findStaffByEmail(deps, email);
  if (!staff) return { ok: false, reason: "not_found" };
  const token = newSecret(deps.random);
  const now = deps.clock.now();
  await deps.db.transaction().execute(async (trx) => {
    await trx
      .updateTable("staff_account")
      .set({
        status: "invited",
        password_hash: null,
        totp_secret: null,
        totp_last_step: null,
        enrol_token_hash: sha256Hex(token),
        enrol_expires_at: new Date(now.getTime() + enrolLifetimeSeconds * 1000).toISOString(),
        updated_at: now.toISOString(),
      })
      .where("id", "=", staff.id)
      .execute();
    await trx
      .updateTable("staff_session")
      .set({ revoked_at: now.toISOString() })
      .where("staff_id", "=", staff.id)
      .where("revoked_at", "is", null)
      .execute();
  });
  const updated = await findStaffById(deps, staff.id);
  if (!updated) throw new Error(`staff ${staff.id} vanished while being invited again`);
  return { ok: true, staff: updated, enrolUrl: enrolUrlFor(deps, token) };
}

/** Someone who left: no more sign-in, every session ends at once. */
export async function disableStaff(deps: StaffDeps, email: string): Promise<{ ok: true } | StaffFailure> {
  const staff = await findStaffByEmail(deps, email);
  if (!staff) return { ok: false, reason: "not_found" };
  const now = deps.clock.now().toISOString();
  await deps.db.transaction().execute(async (trx) => {
    await trx
      .updateTable("staff_account")
      .set({ status: "disabled", enrol_token_hash: null, updated_at: now })
      .where("id", "=", staff.id)
      .execute();
    await trx
      .updateTable("staff_session")
      .set({ revoked_at: now })
      .where("staff_id", "=", staff.id)
      .where("revoked_at", "is", null)
      .execute();
  });
  return { ok: true };
}

export async function findStaffById(deps: Pick<Deps, "db">, id: string): Promise<StaffRow | undefined> {
  return deps.db.selectFrom("staff_account").selectAll().where("id", "=", id).executeTakeFirst();
}

export async function findStaffByEmail(deps: Pick<Deps, "db">, email: string): Promise<StaffRow | undefined> {
  const normalized = normalizeEmail(email);
  if (!normalized) return undefined;
  return deps.db.selectFrom("staff_account").selectAll().where("email", "=", normalized).executeTakeFirst();
}

export async function listStaff(deps: Pick<Deps, "db">): Promise<StaffRow[]> {
  return deps.db.selectFrom("staff_account").selectAll().orderBy("created_at").execute();
}

/**
 * The invited person behind an enrolment token, with the authenticator secret they are to scan:
 * made at the first look and kept, so showing the page again shows the same secret (an entry
 * already scanned keeps working).
 */
export async function openEnrolment(
  deps: StaffDeps,
  token: string,
): Promise<{ ok: true; staff: StaffRow; secret: Buffer } | StaffFailure> {
  const staff = await deps.db
    .selectFrom("staff_account")
    .selectAll()
    .where("enrol_token_hash", "=", sha256Hex(token))
    .where("status", "=", "invited")
    .where("enrol_expires_at", ">", deps.clock.now().toISOString())
    .executeTakeFirst();
  if (!staff) return { ok: false, reason: "enrolment_invalid" };
  const existing = staff.totp_secret
    ? decryptSecret(deps.config.secretKeys, staff.totp_secret, totpPurpose(staff.id))
    : undefined;
  if (existing) return { ok: true, staff, secret: existing };
  const secret = deps.random.bytes(totpSecretBytes);
  // Two first looks at once: the first secret stored wins, and both pages show it.
  await deps.db
    .updateTable("staff_account")
    .set({ totp_secret: encryptSecret(deps.config.secretKeys, secret, totpPurpose(staff.id)) })
    .where("id", "=", staff.id)
    .where("totp_secret", "is", null)
    .execute();
  const stored = await findStaffById(deps, staff.id);
  const kept = stored?.totp_secret
    ? decryptSecret(deps.config.secretKeys, stored.totp_secret, totpPurpose(staff.id))
    : undefined;
  if (!stored || !kept) return { ok: false, reason: "enrolment_invalid" };
  return { ok: true, staff: stored, secret: kept };
}

/**
 * Ends an enrolment: a password that passes the customers' policy and a code from the app just
 * scanned. The token works once (a guarded update), and the code's step counts as used.
 */
export async function completeEnrolment(
  deps: StaffDeps,
  input: { token: string; password: string; code: string },
): Promise<{ ok: true; staff: StaffRow } | StaffFailure> {
  const opened = await openEnrolment(deps, input.token);
  if (!opened.ok) return opened;
  const { staff, secret } = opened;
  const policy = checkPasswordPolicy(
    input.password,
    { email: staff.email, name: staff.name },
    deps.config.limits,
  );
  if (!policy.ok) return { ok: false, reason: "password_rejected", problem: policy.problem };
  if ((await checkBreached(deps, policy.password)).breached) {
    return { ok: false, reason: "password_rejected", problem: { code: "password_too_common" } };
  }
  const now = deps.clock.now();
  const match = verifyTotp(secret, input.code, now, null);
  if (!match.ok) return { ok: false, reason: "code_invalid" };
  const passwordHash = await hashPassword(policy.password, {
    memoryKib: deps.config.limits.argon2MemoryKib,
    iterations: deps.config.limits.argon2Iterations,
  });
  const done = await deps.db
    .updateTable("staff_account")
    .set({
      status: "active",
      password_hash: passwordHash,
      totp_last_step: match.step,
      enrol_token_hash: null,
      enrol_expires_at: null,
      updated_at: now.toISOString(),
    })
    .where("id", "=", staff.id)
    .where("enrol_token_hash", "=", sha256Hex(input.token))
    .where("status", "=", "invited")
    .executeTakeFirst();
  if (done.numUpdatedRows === 0n) return { ok: false, reason: "enrolment_invalid" };
  const active = await findStaffById(deps, staff.id);
  if (!active) throw new Error(`staff ${staff.id} vanished during enrolment`);
  return { ok: true, staff: active };
}

/** The app's code at sign-in, each step once (a guarded update, so two requests cannot both use it). */
export async function checkStaffCode(deps: StaffDeps, staff: StaffRow, code: string): Promise<boolean> {
  if (!staff.totp_secret) return false;
  const secret = decryptSecret(deps.config.secretKeys, staff.totp_secret, totpPurpose(staff.id));
  if (!secret) return false;
  const match = verifyTotp(secret, code, deps.clock.now(), staff.totp_last_step);
  if (!match.ok) return false;
  const recorded = await deps.db
    .updateTable("staff_account")
    .set({ totp_last_step: match.step })
    .where("id", "=", staff.id)
    .where((eb) => eb.or([eb("totp_last_step", "is", null), eb("totp_last_step", "<", match.step)]))
    .executeTakeFirst();
  return recorded.numUpdatedRows > 0n;
}
