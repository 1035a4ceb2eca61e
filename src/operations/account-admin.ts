import { endAccountAccess, eraseAfterFrom } from "../account/closing.ts";
import { recordAuditEvent } from "../audit/audit.ts";
import type { Locale } from "../config/config.ts";
import { queueMessage } from "../courier/outbox.ts";
import { newId } from "../crypto/secrets.ts";
import type { AccountStatus } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { normalizeName } from "../flows/registration/registration.ts";
import {
  isUniqueViolation,
  newCancelToken,
  tellEveryChannel,
  turnOffTwoStepNow,
} from "../flows/two-step-recovery/outcome.ts";
import { type AccountRow, findAccountByEmail, findAccountById, insertAccount } from "../identity/accounts.ts";
import { normalizeEmail } from "../identity/identifiers.ts";
import { checkBreached } from "../passwords/breach-check.ts";
import { hashPassword } from "../passwords/hashing.ts";
import { checkPasswordPolicy, type PasswordProblem } from "../passwords/policy.ts";
import { listLiveSessions } from "../session/sessions.ts";

/**
 * What an operator does to accounts from the `mamori` CLI. Every change is audited with the
 * operator as actor and mailed to the owner, like any other security change.
 */
export type OperatorDeps = Pick<Deps, "db" | "clock" | "random" | "config" | "courier" | "log">;

export type AdminFailure =
  | { ok: false; reason: "not_found" }
  | { ok: false; reason: "email_invalid" | "name_invalid" | "email_taken" }
  | { ok: false; reason: "password_rejected"; problem: PasswordProblem }
  | { ok: false; reason: "already"; status: AccountStatus }
  | { ok: false; reason: "reason_required" }
  | { ok: false; reason: "erased" }
  | { ok: false; reason: "closed" };

/** An account by its id (`acc_…`) or its email address. */
export async function findAccountForOperator(
  deps: Pick<Deps, "db">,
  idOrEmail: string,
): Promise<AccountRow | undefined> {
  if (idOrEmail.startsWith("acc_")) return findAccountById(deps.db, idOrEmail);
  const email = normalizeEmail(idOrEmail);
  return email ? findAccountByEmail(deps.db, email) : undefined;
}

export type OperatorNewAccount = { email: string; name: string; password: string; locale: Locale };

/**
 * An account made by the operator (say, for a shop's staff): the email counts as verified because
 * the operator vouches for it; the password must pass the same policy as everyone's.
 */
export async function createAccountAsOperator(
  deps: OperatorDeps,
  input: OperatorNewAccount,
): Promise<{ ok: true; account: AccountRow } | AdminFailure> {
  const email = normalizeEmail(input.email);
  if (!email) return { ok: false, reason: "email_invalid" };
  const name = normalizeName(input.name);
  if (!name) return { ok: false, reason: "name_invalid" };
  const policy = checkPasswordPolicy(input.password, { email, name }, deps.config.limits);
  if (!policy.ok) return { ok: false, reason: "password_rejected", problem: policy.problem };
  if ((await checkBreached(deps, policy.password)).breached) {
    return { ok: false, reason: "password_rejected", problem: { code: "password_too_common" } };
  }
  const passwordHash = await hashPassword(policy.password, {
    memoryKib: deps.config.limits.argon2MemoryKib,
    iterations: deps.config.limits.argon2Iterations,
  });
  const id = newId(deps.random, "acc");
  const created = await deps.db.transaction().execute(async (trx) => {
    const inserted = await insertAccount(trx, {
      id,
      email,
      name,
      passwordHash,
      locale: input.locale,
      now: deps.clock.now(),
    });
    if (!inserted) return false;
    await recordAuditEvent(trx, deps, { type: "account.created", accountId: id, actor: "operator" });
    await queueMessage(trx, deps, "email", email, input.locale, {
      kind: "account_created",
      name,
      securityUrl: new URL("/account/security", deps.config.publicUrl).href,
    });
    return true;
  });
  if (!created) return { ok: false, reason: "email_taken" };
  deps.courier.wake();
  const account = await findAccountById(deps.db, id);
  if (!account) throw new Error(`account ${id} vanished right after its creation`);
  return { ok: true, account };
}

const auditTypeFor = {
  suspended: "account.suspended",
  closed: "account.closed",
  active: "account.reopened",
} as const;

/**
 * Suspends, closes or reopens an account. Suspending or closing signs the owner out everywhere in
 * the same transaction (sessions also die at once because every check reads the status), forgets
 * its trusted browsers and removes every shop's grant. Closing schedules the erasure of its
 * personal data after the grace period; reopening a closed account cancels it, and an account
 * already erased cannot be reopened (there is nobody left to give it back to). A closed account
 * can only be reopened: suspending it would cancel its erasure without anyone saying so (and let
 * a support person, who may suspend but not reopen, keep a closed account's data for ever). The
 * change is made only if the account is still as it was read, so two changes at once (or a change
 * racing the erasure) never both happen.
 */
export async function changeAccountStatus(
  deps: OperatorDeps,
  idOrEmail: string,
  status: AccountStatus,
  reason: string,
): Promise<{ ok: true; account: AccountRow; sessionsRevoked: number } | AdminFailure> {
  const trimmedReason = reason.trim();
  // A suspension the owner cannot understand is support's next ticket: the reason goes in the mail.
  if (status !== "active" && trimmedReason === "") return { ok: false, reason: "reason_required" };
  const account = await findAccountForOperator(deps, idOrEmail);
  if (!account) return { ok: false, reason: "not_found" };
  if (account.erased_at !== null) return { ok: false, reason: "erased" };
  if (account.status === status) return { ok: false, reason: "already", status };
  if (account.status === "closed" && status !== "active") return { ok: false, reason: "closed" };
  const now = deps.clock.now();
  const sessionsRevoked = await deps.db.transaction().execute(async (trx) => {
    const changed = await trx
      .updateTable("account")
      .set({
        status,
        status_reason: trimmedReason || null,
        updated_at: now.toISOString(),
        ...(status === "closed"
          ? { closed_at: now.toISOString(), erase_after: eraseAfterFrom(deps, now) }
          : { closed_at: null, erase_after: null }),
      })
      .where("id", "=", account.id)
      .where("status", "=", account.status)
      .where("erased_at", "is", null)
      .executeTakeFirst();
    // Changed (or erased) by someone else since it was read: this request changes nothing.
    if (changed.numUpdatedRows === 0n) return undefined;
    const revoked = status === "active" ? 0 : (await endAccountAccess(trx, account.id, now)).sessions;
    await recordAuditEvent(trx, deps, {
      type: auditTypeFor[status],
      accountId: account.id,
      actor: "operator",
      detail: { reason: trimmedReason || null, previousStatus: account.status, sessionsRevoked: revoked },
    });
    await queueMessage(trx, deps, "email", account.email, account.locale, {
      kind: "account_status_changed",
      name: account.name,
      status,
      reason: trimmedReason || "—",
    });
    return revoked;
  });
  const updated = await findAccountById(deps.db, account.id);
  if (!updated) throw new Error(`account ${account.id} vanished while its status changed`);
  if (sessionsRevoked === undefined) {
    if (updated.erased_at !== null) return { ok: false, reason: "erased" };
    return { ok: false, reason: "already", status: updated.status };
  }
  deps.courier.wake();
  return { ok: true, account: updated, sessionsRevoked };
}

/** What `mamori accounts show` prints: the account without its password hash, and its live sessions. */
export async function describeAccount(
  deps: Pick<Deps, "db" | "clock">,
  account: AccountRow,
): Promise<Record<string, unknown>> {
  const sessions = await listLiveSessions(deps.db, account.id, deps.clock.now());
  return {
    id: account.id,
    email: account.email,
    emailVerifiedAt: account.email_verified_at,
    name: account.name,
    phone: account.phone,
    phoneVerifiedAt: account.phone_verified_at,
    hasPassword: account.password_hash !== null,
    passwordChangedAt: account.password_changed_at,
    locale: account.locale,
    status: account.status,
    statusReason: account.status_reason,
    createdAt: account.created_at,
    closedAt: account.closed_at,
    eraseAfter: account.erase_after,
    erasedAt: account.erased_at,
    liveSessions: sessions.length,
  };
}

export type TwoStepResetFailure = {
  ok: false;
  reason: "not_found" | "reason_required" | "two_step_off" | "already_pending";
};

/**
 * Support's `mamori accounts reset-two-step`: for a customer who lost every second factor and
 * called in. By default it honours the waiting period like the customer's own recovery (a caller
 * who talked support into it is stopped by the owner's cancel, told on every channel); `now` turns
 * two-step off at once. Both need a reason, which is audited and mailed.
 */
export async function resetTwoStepAsOperator(
  deps: OperatorDeps,
  idOrEmail: string,
  reason: string,
  now: boolean,
): Promise<
  { ok: true; account: AccountRow; completesAt: string | null; recoveryId: string } | TwoStepResetFailure
> {
  const trimmedReason = reason.trim();
  if (trimmedReason === "") return { ok: false, reason: "reason_required" };
  const account = await findAccountForOperator(deps, idOrEmail);
  if (!account) return { ok: false, reason: "not_found" };
  if (!account.two_step_enabled_at) return { ok: false, reason: "two_step_off" };
  const started = deps.clock.now();
  const id = newId(deps.random, "tsr");
  const completesAt = new Date(
    started.getTime() + (now ? 0 : deps.config.limits.twoStepRecoveryWaitSeconds * 1000),
  ).toISOString();
  const cancel = newCancelToken(deps, id);
  const values = {
    id,
    account_id: account.id,
    started_by: "operator" as const,
    reason: trimmedReason,
    code_expires_at: started.toISOString(),
    completes_at: completesAt,
    cancel_token_hash: now ? null : cancel.hash,
    prompted_at: null,
    ip: null,
    user_agent: null,
    created_at: started.toISOString(),
  };
  try {
    await deps.db.transaction().execute(async (trx) => {
      if (now) {
        // Whatever recovery was waiting ends with this one: two-step is off from now on.
        await trx
          .updateTable("two_step_recovery")
          .set({
            state: "completed",
            ended_by: "operator",
            ended_at: started.toISOString(),
            cancel_token_hash: null,
          })
          .where("account_id", "=", account.id)
          .where("state", "=", "waiting")
          .execute();
        await trx
          .insertInto("two_step_recovery")
          .values({ ...values, state: "completed", ended_by: "operator", ended_at: started.toISOString() })
          .execute();
        await turnOffTwoStepNow(trx, deps, account, id, trimmedReason);
        return;
      }
      await trx
        .insertInto("two_step_recovery")
        .values({ ...values, state: "waiting", ended_by: null, ended_at: null })
        .execute();
      await tellEveryChannel(
        trx,
        deps,
        account,
        { completes_at: completesAt, started_by: "operator", reason: trimmedReason },
        cancel.token,
      );
      await recordAuditEvent(trx, deps, {
        type: "two_step_recovery.started",
        accountId: account.id,
        actor: "operator",
        detail: { recoveryId: id, completesAt, reason: trimmedReason },
      });
    });
  } catch (error) {
    // One waiting recovery per account (a unique index): the customer's own, or another operator's.
    if (isUniqueViolation(error)) return { ok: false, reason: "already_pending" };
    throw error;
  }
  deps.courier.wake();
  return { ok: true, account, completesAt: now ? null : completesAt, recoveryId: id };
}
