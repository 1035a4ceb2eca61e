import { recordAuditEvent } from "../../audit/audit.ts";
import { queueMessage } from "../../courier/outbox.ts";
import { constantTimeEqual, newId, sha256Hex } from "../../crypto/secrets.ts";
import type { Deps } from "../../deps.ts";
import { issueCode, verifyCode } from "../../factors/one-time-code/one-time-code.ts";
import { type AccountRow, findAccountById } from "../../identity/accounts.ts";
import { verifyPassword } from "../../passwords/hashing.ts";
import { type AttemptReservation, reserveAttempt } from "../../throttle/attempts.ts";
import { ipThrottleSubject } from "../../throttle/ip-subject.ts";
import { codeDepsFor, codeRefusal, codeRulesFor, resendRefusal } from "../code-step.ts";
import { type FlowFailure, failure, type RequestMeta } from "../flow-result.ts";
import {
  cancelWaitingRecovery,
  findWaitingRecovery,
  isUniqueViolation,
  newCancelToken,
  type RecoveryRow,
  tellEveryChannel,
} from "./outcome.ts";

/**
 * "I can't receive my two-step codes" (「2段階認証のコードを受け取れない場合」), from the sign-in's
 * second step: a code mailed to the account's address, then that code and the password, then a
 * wait (MAMORI_TWO_STEP_RECOVERY_WAIT_SECONDS, a day by default) during which the owner is told on
 * every channel and can cancel, then two-step off (./outcome.ts). Nobody is signed in here: after
 * the wait the password signs in as on an account without two-step. docs/flows/two-step-recovery.md.
 */
export type StartedRecovery = { ok: true; twoStepRecovery: { id: string; expiresAt: string } };
export type WaitingRecovery = {
  ok: true;
  twoStepRecovery: { id: string; state: "waiting"; completesAt: string };
};

const daySeconds = 86_400;

function attemptKeys(deps: Deps, accountId: string, meta: RequestMeta): [string, number][] {
  const limits = deps.config.limits;
  return [
    [`two_step_recovery:account:${accountId}`, limits.twoStepRecoveryAttemptsPerAccount],
    [`two_step_recovery:ip:${ipThrottleSubject(meta.ip)}`, limits.twoStepRecoveryAttemptsPerIp],
  ];
}

/**
 * One attempt reserved against the account and the address before anything is checked, so N
 * requests at once never check more than the limit (src/throttle/attempts.ts). `release` gives the
 * places back (a success does not count).
 */
async function reserveRecoveryAttempt(
  deps: Deps,
  accountId: string,
  meta: RequestMeta,
): Promise<{ ok: true; release(): Promise<void> } | FlowFailure> {
  const now = deps.clock.now();
  const held: Extract<AttemptReservation, { allowed: true }>[] = [];
  for (const [key, limit] of attemptKeys(deps, accountId, meta)) {
    const place = await reserveAttempt(deps.throttle, key, { limit, windowSeconds: daySeconds }, now);
    if (!place.allowed) {
      for (const h of held) await h.release(); // not checked, so not counted
      return failure("too_many_attempts", { retryAfterSeconds: place.retryAfterSeconds });
    }
    held.push(place);
  }
  return {
    ok: true,
    release: async () => {
      for (const h of held) await h.release();
    },
  };
}

/** The challenge the recovery starts from: live, on an active account with two-step on. */
async function accountOfChallenge(deps: Deps, challengeId: string): Promise<AccountRow | FlowFailure> {
  const flow = await deps.db
    .selectFrom("sign_in_flow")
    .select(["state", "expires_at", "account_id"])
    .where("id", "=", challengeId)
    .executeTakeFirst();
  if (!flow || flow.state === "completed") return failure("challenge_not_found");
  if (flow.state === "expired" || flow.expires_at <= deps.clock.now().toISOString())
    return failure("challenge_expired");
  const account = await findAccountById(deps.db, flow.account_id);
  if (account?.status !== "active" || !account.two_step_enabled_at) return failure("challenge_not_found");
  return account;
}

/**
 * Step 1, from a live sign-in challenge (the password, or a passkey, was proven to reach it): a
 * 6-digit code to the account's email. Each start counts against the account's and the address's
 * daily budget; a newer start voids the older one's code; none while a recovery already waits.
 */
export async function startTwoStepRecovery(
  deps: Deps,
  challengeId: string,
  meta: RequestMeta,
): Promise<StartedRecovery | FlowFailure> {
  const account = await accountOfChallenge(deps, challengeId);
  if ("ok" in account) return account;
  if (await findWaitingRecovery(deps.db, account.id)) return failure("two_step_recovery_pending");
  const now = deps.clock.now();
  for (const [key, limit] of attemptKeys(deps, account.id, meta)) {
    const verdict = await deps.throttle.hit(key, { limit, windowSeconds: daySeconds }, now);
    if (!verdict.allowed)
      return failure("too_many_attempts", { retryAfterSeconds: verdict.retryAfterSeconds });
  }
  const id = newId(deps.random, "tsr");
  const expiresAt = new Date(
    now.getTime() + deps.config.limits.emailCodeLifetimeSeconds * 1000,
  ).toISOString();
  await deps.db.transaction().execute(async (trx) => {
    await trx
      .updateTable("two_step_recovery")
      .set({ state: "voided", ended_at: now.toISOString() })
      .where("account_id", "=", account.id)
      .where("state", "=", "code_sent")
      .execute();
    await trx
      .insertInto("two_step_recovery")
      .values({
        id,
        account_id: account.id,
        state: "code_sent",
        started_by: "account",
        reason: null,
        code_expires_at: expiresAt,
        completes_at: null,
        cancel_token_hash: null,
        ended_by: null,
        ended_at: null,
        prompted_at: null,
        ip: meta.ip,
        user_agent: meta.userAgent?.slice(0, 300) ?? null,
        created_at: now.toISOString(),
      })
      .execute();
    const issued = await issueCode(
      trx,
      codeDepsFor(deps),
      { flowId: id, purpose: "two_step_recovery", channel: "email", destination: account.email },
      codeRulesFor(deps, "email"),
    );
    if (!issued.ok) throw new Error("a new two-step recovery cannot be in cooldown");
    await queueMessage(trx, deps, "email", account.email, account.locale, {
      kind: "two_step_recovery_code",
      name: account.name,
      code: issued.code,
      lifetimeMinutes: Math.ceil(deps.config.limits.emailCodeLifetimeSeconds / 60),
    });
    await recordAuditEvent(trx, deps, {
      type: "two_step_recovery.requested",
      accountId: account.id,
      actor: "account",
      ip: meta.ip,
      userAgent: meta.userAgent,
      detail: { recoveryId: id },
    });
  });
  deps.courier.wake();
  return { ok: true, twoStepRecovery: { id, expiresAt } };
}

export async function findRecovery(deps: Pick<Deps, "db">, id: string): Promise<RecoveryRow | undefined> {
  return deps.db.selectFrom("two_step_recovery").selectAll().where("id", "=", id).executeTakeFirst();
}

/** A recovery still in its code step, or why it cannot take a code. */
export async function findRecoveryAwaitingCode(deps: Deps, id: string): Promise<RecoveryRow | FlowFailure> {
  const row = await findRecovery(deps, id);
  if (!row || row.state === "voided" || row.state === "cancelled" || row.state === "completed")
    return failure("two_step_recovery_not_found");
  if (row.state === "waiting") return failure("two_step_recovery_pending");
  if (row.state === "exhausted") return failure("too_many_attempts", { retryAfterSeconds: daySeconds });
  if (row.code_expires_at <= deps.clock.now().toISOString())
    return failure("code_expired", { field: "code" });
  return row;
}

async function auditFailure(deps: Deps, row: RecoveryRow, meta: RequestMeta, reason: string): Promise<void> {
  await recordAuditEvent(deps.db, deps, {
    type: "two_step_recovery.failed",
    accountId: row.account_id,
    actor: "account",
    ip: meta.ip,
    userAgent: meta.userAgent,
    detail: { recoveryId: row.id, reason },
  });
}

/**
 * Step 2: the mailed code and the password, together. The attempt is reserved first (per account
 * and per address); the password is checked before the code so a wrong password does not spend
 * the code. Both right: the recovery waits, and the owner is told on every channel.
 */
export async function proveTwoStepRecovery(
  deps: Deps,
  id: string,
  input: { code: string; password: string },
  meta: RequestMeta,
): Promise<WaitingRecovery | FlowFailure> {
  const row = await findRecoveryAwaitingCode(deps, id);
  if ("ok" in row) return row;
  const account = await findAccountById(deps.db, row.account_id);
  if (account?.status !== "active" || !account.two_step_enabled_at)
    return failure("two_step_recovery_not_found");
  const reserved = await reserveRecoveryAttempt(deps, account.id, meta);
  if (!reserved.ok) return reserved;

  const passwordMatches = account.password_hash
    ? await verifyPassword(account.password_hash, input.password.normalize("NFC"))
    : false;
  if (!passwordMatches) {
    await auditFailure(deps, row, meta, "wrong_password");
    return failure("invalid_credentials", { field: "password" });
  }
  const verdict = await verifyCode(deps.db, codeDepsFor(deps), id, input.code, codeRulesFor(deps, "email"));
  if (!verdict.ok) {
    await auditFailure(deps, row, meta, "wrong_code");
    return codeRefusal(deps, verdict, row.code_expires_at, async () => {
      await deps.db
        .updateTable("two_step_recovery")
        .set({ state: "exhausted" })
        .where("id", "=", id)
        .where("state", "=", "code_sent")
        .execute();
    });
  }
  await reserved.release();

  const now = deps.clock.now();
  const completesAt = new Date(
    now.getTime() + deps.config.limits.twoStepRecoveryWaitSeconds * 1000,
  ).toISOString();
  const cancel = newCancelToken(deps, id);
  let moved: boolean;
  try {
    moved = await deps.db.transaction().execute(async (trx) => {
      const result = await trx
        .updateTable("two_step_recovery")
        .set({ state: "waiting", completes_at: completesAt, cancel_token_hash: cancel.hash })
        .where("id", "=", id)
        .where("state", "=", "code_sent")
        .executeTakeFirst();
      if (result.numUpdatedRows === 0n) return false;
      await tellEveryChannel(
        trx,
        deps,
        account,
        { completes_at: completesAt, started_by: "account", reason: null },
        cancel.token,
      );
      await recordAuditEvent(trx, deps, {
        type: "two_step_recovery.started",
        accountId: account.id,
        actor: "account",
        ip: meta.ip,
        userAgent: meta.userAgent,
        detail: { recoveryId: id, completesAt },
      });
      return true;
    });
  } catch (error) {
    // Another recovery of the account entered its wait at the same moment: one waits, not two.
    if (isUniqueViolation(error)) return failure("two_step_recovery_pending");
    throw error;
  }
  if (!moved) return failure("two_step_recovery_not_found");
  deps.courier.wake();
  return { ok: true, twoStepRecovery: { id, state: "waiting", completesAt } };
}

/**
 * The cancel link of the mail and SMS (`<id>.<secret>`): cancels that one waiting recovery, once.
 * It proves nothing else and opens nothing else: no session, no settings.
 */
export async function cancelRecoveryWithLink(
  deps: Deps,
  token: string,
  meta: RequestMeta,
): Promise<{ ok: true } | FlowFailure> {
  const [id = "", secret = ""] = token.slice(0, 200).split(".");
  const row = id && secret ? await findRecovery(deps, id) : undefined;
  const hash = sha256Hex(secret);
  if (!row?.cancel_token_hash || row.state !== "waiting" || !constantTimeEqual(hash, row.cancel_token_hash))
    return failure("two_step_recovery_not_found");
  const account = await findAccountById(deps.db, row.account_id);
  if (!account) return failure("two_step_recovery_not_found");
  const cancelled = await deps.db
    .transaction()
    .execute((trx) =>
      cancelWaitingRecovery(trx, deps, account, "cancel_link", meta, { id, cancelTokenHash: hash }),
    );
  if (!cancelled) return failure("two_step_recovery_not_found");
  deps.courier.wake();
  return { ok: true };
}

/** The button on Login & security: a signed-in owner cancels the account's waiting recovery. */
export async function cancelRecoveryAsOwner(
  deps: Deps,
  account: AccountRow,
  meta: RequestMeta,
): Promise<{ ok: true } | FlowFailure> {
  const cancelled = await deps.db
    .transaction()
    .execute((trx) => cancelWaitingRecovery(trx, deps, account, "owner_session", meta));
  if (!cancelled) return failure("two_step_recovery_not_found");
  deps.courier.wake();
  return { ok: true };
}

/** "Send the code again": a new code (the old one dies) after the cooldown, within the cap on sends. */
export async function resendTwoStepRecoveryCode(deps: Deps, id: string): Promise<{ ok: true } | FlowFailure> {
  const row = await findRecoveryAwaitingCode(deps, id);
  if ("ok" in row) return row;
  const account = await findAccountById(deps.db, row.account_id);
  if (account?.status !== "active") return failure("two_step_recovery_not_found");
  const issued = await deps.db.transaction().execute(async (trx) => {
    const result = await issueCode(
      trx,
      codeDepsFor(deps),
      { flowId: id, purpose: "two_step_recovery", channel: "email", destination: account.email },
      codeRulesFor(deps, "email"),
    );
    if (!result.ok) return result;
    await trx
      .updateTable("two_step_recovery")
      .set({ code_expires_at: result.expiresAt.toISOString() })
      .where("id", "=", id)
      .where("state", "=", "code_sent")
      .execute();
    await queueMessage(trx, deps, "email", account.email, account.locale, {
      kind: "two_step_recovery_code",
      name: account.name,
      code: result.code,
      lifetimeMinutes: Math.ceil(deps.config.limits.emailCodeLifetimeSeconds / 60),
    });
    return result;
  });
  if (!issued.ok) return resendRefusal(deps, issued, row.code_expires_at);
  deps.courier.wake();
  return { ok: true };
}
