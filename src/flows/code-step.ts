import type { Deps } from "../deps.ts";
import type {
  CodeDeps,
  CodeRules,
  IssueResult,
  VerifyResult,
} from "../factors/one-time-code/one-time-code.ts";
import { type FlowFailure, failure } from "./flow-result.ts";

/**
 * What every flow that sends a one-time code shares: the rules from configuration, the key, and
 * how the code factor's verdicts become the API's errors. Email codes live 15 minutes, phone codes
 * 10 (shared/DESIGN.md).
 */
export function codeRulesFor(deps: Deps, channel: "email" | "sms" | "voice"): CodeRules {
  const l = deps.config.limits;
  return {
    lifetimeSeconds: channel === "email" ? l.emailCodeLifetimeSeconds : l.phoneCodeLifetimeSeconds,
    maxAttempts: l.codeMaxAttempts,
    resendCooldownSeconds: l.codeResendCooldownSeconds,
    maxSends: l.codeMaxSends,
  };
}

export function codeDepsFor(deps: Deps): CodeDeps {
  // The first key signs; codes live minutes, so a rotation only voids codes in flight.
  return { clock: deps.clock, random: deps.random, secretKey: deps.config.signingKey };
}

export function secondsUntil(deps: Deps, time: string): number {
  return Math.max(1, Math.ceil((Date.parse(time) - deps.clock.now().getTime()) / 1000));
}

/**
 * The error for a code that was not accepted. `markExhausted` ends the flow (one guarded statement
 * in the caller's table) when a wrong code spent the last try: the next try fails even with the
 * right code. Only a wrong code ends it. A try refused because every try was already taken, or
 * because the code was just used, may be racing a right code that is still being checked (the same
 * code sent twice at once): ending the flow then would refuse the person who typed it right.
 */
export async function codeRefusal(
  deps: Deps,
  verdict: Exclude<VerifyResult, { ok: true }>,
  flowExpiresAt: string,
  markExhausted: () => Promise<void>,
): Promise<FlowFailure> {
  if (verdict.reason === "incorrect" && verdict.attemptsLeft > 0) {
    return failure("invalid_code", { field: "code", extra: { attemptsLeft: verdict.attemptsLeft } });
  }
  if (verdict.reason === "expired") return failure("code_expired", { field: "code" });
  if (verdict.reason === "incorrect") {
    await markExhausted();
    return failure("invalid_code", { field: "code", extra: { attemptsLeft: 0 } });
  }
  return failure("too_many_attempts", { retryAfterSeconds: secondsUntil(deps, flowExpiresAt) });
}

/** The error for a resend that was not allowed: the cooldown, or the flow's cap on sends. */
export function resendRefusal(
  deps: Deps,
  result: Exclude<IssueResult, { ok: true }>,
  flowExpiresAt: string,
): FlowFailure {
  return failure("too_many_attempts", {
    retryAfterSeconds:
      result.reason === "cooldown" ? result.retryAfterSeconds : secondsUntil(deps, flowExpiresAt),
  });
}
