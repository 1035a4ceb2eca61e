import type { Kysely, Selectable } from "kysely";
import { recordAuditEvent } from "../../audit/audit.ts";
import { newId } from "../../crypto/secrets.ts";
import type { Schema, SignInFlowTable } from "../../db/schema.ts";
import type { Deps } from "../../deps.ts";
import { countUnusedRecoveryCodes } from "../../factors/recovery-code/recovery-codes.ts";
import {
  listActiveMethods,
  type MethodRow,
  type PublicMethod,
  toPublicMethod,
  touchMethod,
} from "../../factors/two-step/methods.ts";
import { recordTwoStepChange } from "../../factors/two-step/notify.ts";
import {
  checkSecondFactor,
  type SecondFactorAnswer,
  sendSecondFactorCode,
} from "../../factors/two-step/second-factor-check.ts";
import { type AccountRow, findAccountById } from "../../identity/accounts.ts";
import { countSignInAttempt } from "../../operations/metrics.ts";
import type { Factor, SessionRow } from "../../session/sessions.ts";
import { trustDevice } from "../../session/trusted-devices.ts";
import { type FlowFailure, failure, type RequestMeta } from "../flow-result.ts";
import { cancelWaitingRecovery } from "../two-step-recovery/outcome.ts";
import { mintSignInSession, type SessionChoice } from "./mint-session.ts";

/**
 * The sign-in flow's `second_factor_required` state: after the password, a code from the primary
 * method (sent now when it is a phone), or from a backup the person switches to, or a recovery
 * code. Attempts are capped per challenge, and wrong codes across challenges lock two-step sign-in
 * for a while (the owner is mailed). A session is minted only when a code passes.
 */
export type FlowRow = Selectable<SignInFlowTable>;

export type Challenge = {
  id: string;
  method: MethodRow["method"];
  destination: string | null;
  expiresAt: string;
  alternatives: PublicMethod[];
};

export type TwoStepRequired = { ok: true; status: "two_step_required"; challenge: Challenge };

export type SecondFactorSignedIn = {
  ok: true;
  status: "signed_in";
  account: AccountRow;
  token: string;
  session: SessionRow;
  /** The "don't ask for codes on this browser" cookie value, when asked for. */
  trustedDeviceToken?: string;
};

function codeFlowId(flowId: string, methodId: string): string {
  // Each method of a challenge has its own code: switching from SMS to a call is not a "resend".
  return `${flowId}:${methodId}`;
}

function challengeOf(flow: FlowRow, methods: readonly MethodRow[], current: MethodRow): Challenge {
  return {
    id: flow.id,
    method: current.method,
    destination: toPublicMethod(current).destination,
    expiresAt: flow.expires_at,
    alternatives: methods.filter((m) => m.id !== current.id).map(toPublicMethod),
  };
}

function sendIfPhone(deps: Deps, account: AccountRow, flowId: string, method: MethodRow, meta: RequestMeta) {
  return sendSecondFactorCode(deps, account, method, codeFlowId(flowId, method.id), meta);
}

/**
 * After a right password on an account with two-step on (or a passkey without user verification,
 * `proven` = ["passkey"]): the challenge, the primary's code sent.
 */
export async function startSecondFactor(
  deps: Deps,
  account: AccountRow,
  input: SessionChoice,
  meta: RequestMeta,
  proven: readonly Factor[] = ["password"],
): Promise<TwoStepRequired | FlowFailure> {
  const methods = await listActiveMethods(deps.db, account.id);
  const primary = methods[0];
  // Two-step on without an active method cannot happen through the settings; refuse rather than skip.
  if (!primary) return failure("challenge_not_found");
  const now = deps.clock.now();
  const flow: FlowRow = {
    id: newId(deps.random, "sif"),
    account_id: account.id,
    state: "second_factor_required",
    factors: JSON.stringify(proven),
    persistent: input.keepSignedIn ? 1 : 0,
    session_type: input.sessionType,
    attempts: 0,
    ip: meta.ip,
    user_agent: meta.userAgent?.slice(0, 300) ?? null,
    expires_at: new Date(now.getTime() + deps.config.limits.phoneCodeLifetimeSeconds * 1000).toISOString(),
    created_at: now.toISOString(),
    method_id: primary.id,
  };
  await deps.db.insertInto("sign_in_flow").values(flow).execute();
  // When the SMS budget is spent the challenge still stands: the app and recovery codes work.
  await sendIfPhone(deps, account, flow.id, primary, meta);
  return { ok: true, status: "two_step_required", challenge: challengeOf(flow, methods, primary) };
}

type LiveChallenge = { flow: FlowRow; account: AccountRow; methods: MethodRow[] };

async function findLiveChallenge(deps: Deps, id: string): Promise<LiveChallenge | FlowFailure> {
  const flow = await deps.db.selectFrom("sign_in_flow").selectAll().where("id", "=", id).executeTakeFirst();
  if (!flow || flow.state === "completed") return failure("challenge_not_found");
  if (flow.state === "expired" || flow.expires_at <= deps.clock.now().toISOString()) {
    return failure("challenge_expired");
  }
  const account = await findAccountById(deps.db, flow.account_id);
  if (account?.status !== "active" || !account.two_step_enabled_at) return failure("challenge_not_found");
  return { flow, account, methods: await listActiveMethods(deps.db, account.id) };
}

export type SecondFactorInput = SecondFactorAnswer & { trustDevice?: boolean | undefined };

/** The second step. Wrong codes count per challenge and per account; the right one mints the session. */
export async function verifySecondFactor(
  deps: Deps,
  challengeId: string,
  input: SecondFactorInput,
  meta: RequestMeta,
): Promise<SecondFactorSignedIn | FlowFailure> {
  const result = await checkSecondFactorStep(deps, challengeId, input, meta);
  countSignInAttempt("second_factor", result.ok ? result.status : result.code);
  return result;
}

async function checkSecondFactorStep(
  deps: Deps,
  challengeId: string,
  input: SecondFactorInput,
  meta: RequestMeta,
): Promise<SecondFactorSignedIn | FlowFailure> {
  const challenge = await findLiveChallenge(deps, challengeId);
  if ("ok" in challenge) return challenge;
  const { flow, account } = challenge;
  const now = deps.clock.now();
  const maxAttempts = deps.config.limits.codeMaxAttempts;
  // Claim one of the challenge's tries first (guarded), so parallel guesses cannot exceed its cap.
  const claimed = await deps.db
    .updateTable("sign_in_flow")
    .set((eb) => ({ attempts: eb("attempts", "+", 1) }))
    .where("id", "=", flow.id)
    .where("state", "=", "second_factor_required")
    .where("attempts", "<", maxAttempts)
    .returning("attempts")
    .executeTakeFirst();
  if (!claimed)
    return failure("too_many_attempts", { retryAfterSeconds: deps.config.limits.codeResendCooldownSeconds });

  const checked = await checkSecondFactor(
    deps,
    {
      account,
      methods: challenge.methods,
      currentMethodId: flow.method_id,
      phoneCodeFlowId: (method) => codeFlowId(flow.id, method.id),
      during: "sign_in",
      meta,
    },
    input,
  );
  if (!checked.ok) {
    if (claimed.attempts >= maxAttempts) {
      await deps.db.updateTable("sign_in_flow").set({ state: "expired" }).where("id", "=", flow.id).execute();
    }
    if (checked.reason === "locked")
      return failure("too_many_attempts", { retryAfterSeconds: checked.retryAfterSeconds });
    return failure("invalid_code", {
      field: "code",
      extra: { attemptsLeft: Math.max(0, maxAttempts - claimed.attempts) },
    });
  }

  // What the flow proved first (a password, or a passkey without user verification), then the code.
  const factors: Factor[] = [...(JSON.parse(flow.factors) as Factor[]), checked.factor];
  return completeWaitingFlow(deps, account, flow, factors, input.trustDevice === true, meta, async (trx) => {
    if (checked.method) await touchMethod(trx, checked.method.id, now);
    if (checked.factor === "recovery_code") {
      const left = await countUnusedRecoveryCodes(trx, account.id);
      await recordTwoStepChange(trx, deps, account, "recovery_code_used", meta, { left });
    }
  });
}

/**
 * The end of a waiting sign-in, whatever proved its second factor (a code, a passkey): in one
 * transaction the flow moves to `completed` in one guarded statement (never twice, never once it
 * expired), the session is minted, and the browser is trusted when asked. `alsoRecord` writes
 * what the factor itself needs in the same transaction (a method's last use, a spent recovery code).
 */
export async function completeWaitingFlow(
  deps: Deps,
  account: AccountRow,
  flow: FlowRow,
  factors: Factor[],
  trustDevice: boolean,
  meta: RequestMeta,
  alsoRecord?: (trx: Kysely<Schema>) => Promise<void>,
): Promise<SecondFactorSignedIn | FlowFailure> {
  const outcome = await deps.db.transaction().execute(async (trx) => {
    const moved = await trx
      .updateTable("sign_in_flow")
      .set({ state: "completed", factors: JSON.stringify(factors) })
      .where("id", "=", flow.id)
      .where("state", "=", "second_factor_required")
      .where("expires_at", ">", deps.clock.now().toISOString())
      .executeTakeFirst();
    if (moved.numUpdatedRows === 0n) return undefined;
    const minted = await mintSignInSession(trx, deps, account, factors, sessionChoiceOf(flow), meta);
    await alsoRecord?.(trx);
    // The owner just used a real second factor: they have it, so a two-step recovery waiting on
    // the account is cancelled (and they are mailed). Attack: someone holding the mailbox and the
    // password started one; the owner only has to sign in as usual to end it.
    await cancelWaitingRecovery(trx, deps, account, "second_factor_sign_in", meta);
    const trusted = trustDevice ? await trustBrowser(trx, deps, account, meta) : undefined;
    return { minted, trusted };
  });
  if (!outcome) return failure("challenge_not_found");
  deps.courier.wake();
  return {
    ok: true,
    status: "signed_in",
    account,
    token: outcome.minted.token,
    session: outcome.minted.session,
    ...(outcome.trusted ? { trustedDeviceToken: outcome.trusted } : {}),
  };
}

function sessionChoiceOf(flow: FlowRow): SessionChoice {
  return { sessionType: flow.session_type, keepSignedIn: flow.persistent === 1 };
}

/** "Don't ask again on this browser": a trusted-device cookie's token, recorded in the audit. */
export async function trustBrowser(
  trx: Kysely<Schema>,
  deps: Deps,
  account: AccountRow,
  meta: RequestMeta,
): Promise<string> {
  const trusted = await trustDevice(
    trx,
    { clock: deps.clock, random: deps.random, lifetimeSeconds: deps.config.limits.trustedDeviceSeconds },
    account.id,
    meta,
  );
  await recordAuditEvent(trx, deps, {
    type: "trusted_device.added",
    accountId: account.id,
    actor: "account",
    ip: meta.ip,
    userAgent: meta.userAgent,
    detail: { deviceId: trusted.device.id },
  });
  return trusted.token;
}

/** "Use another method": moves the challenge to a backup (its code is sent when it is a phone). */
export async function switchSecondFactor(
  deps: Deps,
  challengeId: string,
  input: { method: string; methodId?: string | undefined },
  meta: RequestMeta,
): Promise<{ ok: true; challenge: Challenge } | FlowFailure> {
  const challenge = await findLiveChallenge(deps, challengeId);
  if ("ok" in challenge) return challenge;
  const target = input.methodId
    ? challenge.methods.find((m) => m.id === input.methodId)
    : (challenge.methods.find((m) => m.method === input.method && m.id !== challenge.flow.method_id) ??
      challenge.methods.find((m) => m.method === input.method));
  if (!target) return failure("invalid_request", { field: "method" });
  const moved = await deps.db
    .updateTable("sign_in_flow")
    .set({ method_id: target.id })
    .where("id", "=", challengeId)
    .where("state", "=", "second_factor_required")
    .executeTakeFirst();
  if (moved.numUpdatedRows === 0n) return failure("challenge_not_found");
  const sent = await sendIfPhone(deps, challenge.account, challengeId, target, meta);
  if (!sent.ok && sent.reason !== "cooldown")
    return failure("too_many_attempts", { retryAfterSeconds: sent.retryAfterSeconds });
  return {
    ok: true,
    challenge: challengeOf({ ...challenge.flow, method_id: target.id }, challenge.methods, target),
  };
}

/** "Send the code again" for the challenge's phone method: cooldown, cap and budgets apply. */
export async function resendSecondFactor(
  deps: Deps,
  challengeId: string,
  meta: RequestMeta,
): Promise<{ ok: true } | FlowFailure> {
  const challenge = await findLiveChallenge(deps, challengeId);
  if ("ok" in challenge) return challenge;
  const current = challenge.methods.find((m) => m.id === challenge.flow.method_id);
  if (!current || current.method === "totp") return failure("invalid_request", { field: "method" });
  const sent = await sendIfPhone(deps, challenge.account, challengeId, current, meta);
  if (!sent.ok) return failure("too_many_attempts", { retryAfterSeconds: sent.retryAfterSeconds });
  return { ok: true };
}
