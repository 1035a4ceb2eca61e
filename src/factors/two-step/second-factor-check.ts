import { recordAuditEvent } from "../../audit/audit.ts";
import type { Deps } from "../../deps.ts";
import type { RequestMeta } from "../../flows/flow-result.ts";
import type { AccountRow } from "../../identity/accounts.ts";
import type { Factor } from "../../session/sessions.ts";
import { isLastAllowedAttempt, reserveAttempt } from "../../throttle/attempts.ts";
import type { ThrottleRule } from "../../throttle/throttle.ts";
import { type CodeRules, verifyCode } from "../one-time-code/one-time-code.ts";
import { useRecoveryCode } from "../recovery-code/recovery-codes.ts";
import { checkTotpMethod, type MethodRow } from "./methods.ts";
import { recordTwoStepChange } from "./notify.ts";
import { type PhoneSendResult, sendPhoneCode } from "./phone-sends.ts";

/**
 * The one check of a second factor, for every flow that asks for one (the sign-in's second step,
 * the step-up before a sensitive change): it picks the method, checks the code (an app's, a
 * phone's, or a recovery code), counts and locks. Flows keep only their own state.
 *
 * Every wrong code, wherever it is entered, fills the account's one budget of second-factor
 * failures. The attempt is reserved before the code is checked, so codes sent all at once never
 * have more checked than the budget; the failure that spends it locks two-step for the window,
 * writes the audit event and mails the owner, once. A right code gives its place back.
 */
export type SecondFactorAnswer = {
  code: string;
  /** "recovery_code", or a method kind ("totp", "sms", "voice"). */
  method?: string | undefined;
  methodId?: string | undefined;
};

export type SecondFactorContext = {
  account: AccountRow;
  /** The account's active methods, the primary first. */
  methods: readonly MethodRow[];
  /** The method the flow is on now (a code without a method is for it). */
  currentMethodId: string | null;
  /** Where a phone method's code for this flow is kept (each flow and method has its own code). */
  phoneCodeFlowId: (method: MethodRow) => string;
  /** What the person is doing, for the audit trail. */
  during: "sign_in" | "step_up";
  meta: RequestMeta;
};

/** What a second factor's code proves. */
export type CodeFactor = Extract<Factor, "sms_code" | "voice_code" | "totp" | "recovery_code">;

export type SecondFactorCheck =
  | { ok: true; factor: CodeFactor; method: MethodRow | null }
  | { ok: false; reason: "incorrect" }
  | { ok: false; reason: "locked"; retryAfterSeconds: number };

export function twoStepLockRule(deps: Deps): ThrottleRule {
  return {
    limit: deps.config.limits.twoStepFailuresPerAccount,
    windowSeconds: deps.config.limits.signInFailureWindowSeconds,
  };
}

function lockKey(accountId: string): string {
  return `two_step:account:${accountId}`;
}

/** Picks the method a code is for: by id, by kind (the current one first), or the current one. */
export function pickMethod(
  methods: readonly MethodRow[],
  answer: Pick<SecondFactorAnswer, "method" | "methodId">,
  currentMethodId: string | null,
): MethodRow | undefined {
  if (answer.methodId) return methods.find((m) => m.id === answer.methodId);
  if (answer.method)
    return (
      methods.find((m) => m.method === answer.method && m.id === currentMethodId) ??
      methods.find((m) => m.method === answer.method)
    );
  return methods.find((m) => m.id === currentMethodId) ?? methods[0];
}

export function phoneCodeRules(deps: Deps): Pick<CodeRules, "maxAttempts"> {
  return { maxAttempts: deps.config.limits.codeMaxAttempts };
}

/** What a code from one method says: right, or why not (for the flows' own error answers). */
export type MethodCodeCheck =
  | { ok: true; factor: Exclude<CodeFactor, "recovery_code"> }
  | { ok: false; reason: "incorrect"; attemptsLeft: number | null }
  | { ok: false; reason: "expired" | "exhausted" };

/**
 * Checks a code from one method, active or being set up: an app's against its secret (each step
 * once), a phone's against the code sent for `phoneCodeFlowId` (its tries claimed first).
 */
export async function checkMethodCode(
  deps: Deps,
  method: MethodRow,
  code: string,
  phoneCodeFlowId: string,
): Promise<MethodCodeCheck> {
  if (method.method === "totp") {
    const methodDeps = { clock: deps.clock, random: deps.random, secretKeys: deps.config.secretKeys };
    const check = await checkTotpMethod(deps.db, methodDeps, method, code);
    return check.ok ? { ok: true, factor: "totp" } : { ok: false, reason: "incorrect", attemptsLeft: null };
  }
  const codeDeps = { clock: deps.clock, random: deps.random, secretKey: deps.config.signingKey };
  const verdict = await verifyCode(deps.db, codeDeps, phoneCodeFlowId, code, phoneCodeRules(deps));
  if (verdict.ok) return { ok: true, factor: method.method === "sms" ? "sms_code" : "voice_code" };
  if (verdict.reason === "incorrect")
    return { ok: false, reason: "incorrect", attemptsLeft: verdict.attemptsLeft };
  return { ok: false, reason: verdict.reason === "expired" ? "expired" : "exhausted" };
}

async function checkCode(
  deps: Deps,
  ctx: SecondFactorContext,
  answer: SecondFactorAnswer,
): Promise<{ ok: true; factor: CodeFactor; method: MethodRow | null } | { ok: false }> {
  if (answer.method === "recovery_code") {
    const recoveryDeps = { clock: deps.clock, random: deps.random, secretKey: deps.config.signingKey };
    const used = await useRecoveryCode(deps.db, recoveryDeps, ctx.account.id, answer.code);
    return used ? { ok: true, factor: "recovery_code", method: null } : { ok: false };
  }
  const method = pickMethod(ctx.methods, answer, ctx.currentMethodId);
  if (!method) return { ok: false };
  const checked = await checkMethodCode(deps, method, answer.code, ctx.phoneCodeFlowId(method));
  return checked.ok ? { ok: true, factor: checked.factor, method } : { ok: false };
}

/**
 * Sends the code of a phone method for a flow (the sign-in's second step, a step-up): budgets,
 * cooldown and the cap on sends apply. An app's code is not sent: it is read from the app.
 */
export async function sendSecondFactorCode(
  deps: Deps,
  account: AccountRow,
  method: MethodRow,
  phoneCodeFlowId: string,
  meta: RequestMeta,
): Promise<PhoneSendResult | { ok: true; expiresAt: null }> {
  if (method.method === "totp" || !method.phone) return { ok: true, expiresAt: null };
  const sent = await sendPhoneCode(deps, {
    flowId: phoneCodeFlowId,
    purpose: "sign_in",
    channel: method.method,
    phone: method.phone,
    accountId: account.id,
    locale: account.locale,
    ip: meta.ip,
  });
  if (sent.ok) deps.courier.wake();
  return sent;
}

export async function checkSecondFactor(
  deps: Deps,
  ctx: SecondFactorContext,
  answer: SecondFactorAnswer,
): Promise<SecondFactorCheck> {
  const rule = twoStepLockRule(deps);
  const place = await reserveAttempt(deps.throttle, lockKey(ctx.account.id), rule, deps.clock.now());
  if (!place.allowed) return { ok: false, reason: "locked", retryAfterSeconds: place.retryAfterSeconds };
  const checked = await checkCode(deps, ctx, answer);
  if (checked.ok) {
    await place.release();
    return checked;
  }
  await recordAuditEvent(deps.db, deps, {
    type: "sign_in.second_factor_failed",
    accountId: ctx.account.id,
    actor: "account",
    ip: ctx.meta.ip,
    userAgent: ctx.meta.userAgent,
    detail: { during: ctx.during },
  });
  // This failure spent the budget: from now on every code is refused until the window ends. Only
  // the attempt at the limit gets here once, so the owner gets one mail per lock.
  if (isLastAllowedAttempt(place.place, rule)) {
    await recordTwoStepChange(deps.db, deps, ctx.account, "locked", ctx.meta);
    deps.courier.wake();
  }
  return { ok: false, reason: "incorrect" };
}
