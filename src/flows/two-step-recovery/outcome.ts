import type { Kysely, Selectable } from "kysely";
import { recordAuditEvent } from "../../audit/audit.ts";
import { queueMessage, queuePhoneMessage } from "../../courier/outbox.ts";
import { newSecret, sha256Hex } from "../../crypto/secrets.ts";
import type { Schema, TwoStepRecoveryTable } from "../../db/schema.ts";
import type { Deps } from "../../deps.ts";
import { formatDateTime } from "../../i18n/page-text.ts";
import { type AccountRow, findAccountById } from "../../identity/accounts.ts";
import { revokeAccountSessions } from "../../session/sessions.ts";
import { forgetTrustedDevices } from "../../session/trusted-devices.ts";
import type { RequestMeta } from "../flow-result.ts";

/**
 * What a two-step recovery does to the account once it is waiting: tell every channel (with the
 * single-use cancel link), end it when the owner cancels, and turn two-step off when the wait is
 * over. Each is one guarded statement on the recovery's state, with its audit event and mails in
 * the same transaction. docs/flows/two-step-recovery.md.
 */
export type RecoveryRow = Selectable<TwoStepRecoveryTable>;

/** Enough of Deps to queue mail and audit: the operator's CLI has no throttle store. */
export type RecoveryDeps = Pick<Deps, "db" | "clock" | "random" | "config" | "courier">;

export type EndedBy = "owner_session" | "cancel_link" | "second_factor_sign_in" | "operator";

function securityUrl(deps: RecoveryDeps): string {
  return new URL("/account/security", deps.config.publicUrl).href;
}

/** The link in the mail and the SMS: `/two-step-recovery/cancel?token=<id>.<secret>`. */
function cancelUrl(deps: RecoveryDeps, token: string): string {
  const url = new URL("/two-step-recovery/cancel", deps.config.publicUrl);
  url.searchParams.set("token", token);
  return url.href;
}

/** A fresh cancel token for a recovery: the secret goes out by mail and SMS, only its hash is kept. */
export function newCancelToken(deps: RecoveryDeps, recoveryId: string): { token: string; hash: string } {
  const secret = newSecret(deps.random);
  return { token: `${recoveryId}.${secret}`, hash: sha256Hex(secret) };
}

/** The mobile numbers the account has: its verified number and its SMS two-step methods'. */
async function mobileNumbersOf(db: Kysely<Schema>, account: AccountRow): Promise<string[]> {
  const methods = await db
    .selectFrom("two_step_method")
    .select("phone")
    .where("account_id", "=", account.id)
    .where("state", "=", "active")
    .where("method", "=", "sms")
    .execute();
  const numbers = new Set<string>();
  if (account.phone && account.phone_verified_at) numbers.add(account.phone);
  for (const m of methods) if (m.phone) numbers.add(m.phone);
  return [...numbers];
}

/**
 * A recovery is now waiting: the owner's email and every mobile number get the notice with the
 * cancel link; signed-in sessions show it on Login & security (they read the row).
 */
export async function tellEveryChannel(
  trx: Kysely<Schema>,
  deps: RecoveryDeps,
  account: AccountRow,
  recovery: Pick<RecoveryRow, "completes_at" | "started_by" | "reason">,
  token: string,
): Promise<void> {
  const completesAt = formatDateTime(recovery.completes_at ?? "", account.locale);
  const link = cancelUrl(deps, token);
  await queueMessage(trx, deps, "email", account.email, account.locale, {
    kind: "two_step_recovery_started",
    name: account.name,
    completesAt,
    cancelUrl: link,
    reason: recovery.reason ?? "—",
    startedBy: recovery.started_by,
  });
  // Bounded without the SMS budgets: one waiting recovery per account, a few starts a day.
  for (const phone of await mobileNumbersOf(trx, account)) {
    await queuePhoneMessage(trx, deps, "sms", phone, account.locale, {
      kind: "two_step_recovery_notice",
      completesAt,
      cancelUrl: link,
    });
  }
}

/**
 * Ends the account's waiting recovery because its owner showed up (a signed-in session, the cancel
 * link's holder, a sign-in with a real second factor, an operator). `extra` narrows which one (the
 * link's hash). Returns whether a recovery was cancelled; the owner is mailed when one was.
 */
export async function cancelWaitingRecovery(
  trx: Kysely<Schema>,
  deps: RecoveryDeps,
  account: AccountRow,
  endedBy: EndedBy,
  meta: RequestMeta,
  only?: { id: string; cancelTokenHash: string },
): Promise<boolean> {
  const now = deps.clock.now().toISOString();
  let query = trx
    .updateTable("two_step_recovery")
    // The hash goes with the cancel: the link is single-use, and a used link finds nothing.
    .set({ state: "cancelled", ended_by: endedBy, ended_at: now, cancel_token_hash: null })
    .where("account_id", "=", account.id)
    .where("state", "=", "waiting");
  if (only) query = query.where("id", "=", only.id).where("cancel_token_hash", "=", only.cancelTokenHash);
  const cancelled = await query.returning("id").execute();
  if (cancelled.length === 0) return false;
  await recordAuditEvent(trx, deps, {
    type: "two_step_recovery.cancelled",
    accountId: account.id,
    actor: endedBy === "operator" ? "operator" : "account",
    ip: meta.ip,
    userAgent: meta.userAgent,
    detail: { recoveryId: cancelled[0]?.id ?? null, endedBy },
  });
  await queueMessage(trx, deps, "email", account.email, account.locale, {
    kind: "two_step_recovery_cancelled",
    name: account.name,
    securityUrl: securityUrl(deps),
  });
  return true;
}

/**
 * Two-step off for good: methods and recovery codes deleted, trusted browsers forgotten, every
 * session ended (a session the attacker might hold included), audited, and the owner asked to set
 * it up again. Called in the transaction that moved the recovery to `completed`.
 */
async function turnOffTwoStep(
  trx: Kysely<Schema>,
  deps: RecoveryDeps,
  account: AccountRow,
  recoveryId: string,
  immediate: boolean,
  reason: string | null,
): Promise<void> {
  const now = deps.clock.now();
  await trx
    .updateTable("account")
    .set({ two_step_enabled_at: null, updated_at: now.toISOString() })
    .where("id", "=", account.id)
    .execute();
  await trx.deleteFrom("two_step_method").where("account_id", "=", account.id).execute();
  await trx.deleteFrom("recovery_code").where("account_id", "=", account.id).execute();
  await forgetTrustedDevices(trx, account.id, null, now);
  const sessionsRevoked = await revokeAccountSessions(trx, account.id, null, now);
  await recordAuditEvent(trx, deps, {
    type: "two_step_recovery.completed",
    accountId: account.id,
    actor: immediate ? "operator" : "system",
    detail: { recoveryId, immediate, reason, sessionsRevoked },
  });
  await recordAuditEvent(trx, deps, {
    type: "two_step.disabled",
    accountId: account.id,
    actor: immediate ? "operator" : "system",
    detail: { by: "two_step_recovery", recoveryId },
  });
  await queueMessage(trx, deps, "email", account.email, account.locale, {
    kind: "two_step_recovery_completed",
    name: account.name,
    securityUrl: securityUrl(deps),
    immediate: immediate ? "yes" : "no",
  });
}

/**
 * The wait of this account's recovery is over: two-step goes off now. Both the housekeeping timer
 * and the next sign-in call this; the guarded move out of `waiting` lets exactly one of them do it.
 * A recovery that two-step has outlived (the owner turned it off, or on again with a new method,
 * after the recovery started) is moot: it ends as `cancelled` and touches nothing, so it can never
 * undo the owner's new set-up.
 */
export async function completeDueRecovery(deps: RecoveryDeps, accountId: string): Promise<boolean> {
  const now = deps.clock.now().toISOString();
  const account = await findAccountById(deps.db, accountId);
  if (!account) return false;
  const due = await deps.db
    .selectFrom("two_step_recovery")
    .select(["id", "created_at"])
    .where("account_id", "=", accountId)
    .where("state", "=", "waiting")
    .where("completes_at", "<=", now)
    .executeTakeFirst();
  if (!due) return false;
  const moot = !account.two_step_enabled_at || account.two_step_enabled_at > due.created_at;
  const done = await deps.db.transaction().execute(async (trx) => {
    const moved = await trx
      .updateTable("two_step_recovery")
      .set({
        state: moot ? "cancelled" : "completed",
        ended_by: moot ? "two_step_changed" : "wait_over",
        ended_at: now,
        cancel_token_hash: null,
      })
      .where("id", "=", due.id)
      .where("state", "=", "waiting")
      .executeTakeFirst();
    if (moved.numUpdatedRows === 0n) return false;
    if (moot) {
      await recordAuditEvent(trx, deps, {
        type: "two_step_recovery.cancelled",
        accountId,
        actor: "system",
        detail: { recoveryId: due.id, endedBy: "two_step_changed" },
      });
      return false;
    }
    await turnOffTwoStep(trx, deps, account, due.id, false, null);
    return true;
  });
  if (done) deps.courier.wake();
  return done;
}

/** Housekeeping: every recovery whose wait is over, completed; returns how many. */
export async function completeDueRecoveries(deps: RecoveryDeps): Promise<number> {
  const due = await deps.db
    .selectFrom("two_step_recovery")
    .select("account_id")
    .where("state", "=", "waiting")
    .where("completes_at", "<=", deps.clock.now().toISOString())
    .limit(500)
    .execute();
  let completed = 0;
  for (const row of due) if (await completeDueRecovery(deps, row.account_id)) completed++;
  return completed;
}

/**
 * Support's `--now`: two-step off at once, the waiting recovery (if any) completed with it, the
 * reason audited and the owner mailed.
 */
export async function turnOffTwoStepNow(
  trx: Kysely<Schema>,
  deps: RecoveryDeps,
  account: AccountRow,
  recoveryId: string,
  reason: string,
): Promise<void> {
  await turnOffTwoStep(trx, deps, account, recoveryId, true, reason);
}

/**
 * "Set up two-step again", shown once after a sign-in: true (and marked shown) when a recovery of
 * this account completed and the owner has not been asked yet.
 */
export async function takeSetUpAgainPrompt(
  db: Kysely<Schema>,
  accountId: string,
  now: Date,
): Promise<boolean> {
  const marked = await db
    .updateTable("two_step_recovery")
    .set({ prompted_at: now.toISOString() })
    .where("account_id", "=", accountId)
    .where("state", "=", "completed")
    .where("prompted_at", "is", null)
    .executeTakeFirst();
  return marked.numUpdatedRows > 0n;
}

/** The account's waiting recovery, for the banner and the API. */
export async function findWaitingRecovery(
  db: Kysely<Schema>,
  accountId: string,
): Promise<RecoveryRow | undefined> {
  return db
    .selectFrom("two_step_recovery")
    .selectAll()
    .where("account_id", "=", accountId)
    .where("state", "=", "waiting")
    .executeTakeFirst();
}

/** Whether an error is a unique index refusing a second row (PostgreSQL 23505, SQLite's UNIQUE). */
export function isUniqueViolation(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return code === "23505" || (typeof message === "string" && /UNIQUE constraint failed/.test(message));
}
