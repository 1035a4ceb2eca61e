import { recordAuditEvent } from "../../audit/audit.ts";
import type { Deps } from "../../deps.ts";
import { verifyCode } from "../../factors/one-time-code/one-time-code.ts";
import {
  checkTotpMethod,
  listActiveMethods,
  type MethodRow,
  toPublicMethod,
} from "../../factors/two-step/methods.ts";
import { sendPhoneCode } from "../../factors/two-step/phone-sends.ts";
import { factorsAfterStepUp } from "../../integration/assurance.ts";
import type { AuthenticatedSession } from "../../session/sessions.ts";
import { codeDepsFor, codeRulesFor } from "../code-step.ts";
import { type FlowFailure, failure, type RequestMeta } from "../flow-result.ts";

/**
 * Step-up inside a session: a code from a current two-step method, asked for before methods are
 * added or removed (the "code from the primary first" of the backup set-up). A phone method gets
 * its code sent by `startStepUp`; an app's code is simply entered. Success marks the session's
 * second factor (and its authentication) as fresh.
 */
function stepUpFlowId(sessionId: string, methodId: string): string {
  return `stepup:${sessionId}:${methodId}`;
}

async function pickMethod(
  deps: Deps,
  auth: AuthenticatedSession,
  methodId: string | undefined,
  kind?: string,
) {
  const methods = await listActiveMethods(deps.db, auth.account.id);
  if (methodId) return methods.find((m) => m.id === methodId);
  if (kind) return methods.find((m) => m.method === kind);
  return methods[0];
}

export async function startStepUp(
  deps: Deps,
  auth: AuthenticatedSession,
  methodId: string | undefined,
  meta: RequestMeta,
): Promise<{ ok: true; method: ReturnType<typeof toPublicMethod>; expiresAt: string | null } | FlowFailure> {
  if (!auth.account.two_step_enabled_at) return failure("two_step_not_enabled");
  const method = await pickMethod(deps, auth, methodId);
  if (!method) return failure("invalid_request", { field: "methodId" });
  if (method.method === "totp" || !method.phone)
    return { ok: true, method: toPublicMethod(method), expiresAt: null };
  const channel = method.method;
  const phone = method.phone;
  const sent = await sendPhoneCode(deps, {
    flowId: stepUpFlowId(auth.session.id, method.id),
    purpose: "sign_in",
    channel,
    phone,
    accountId: auth.account.id,
    locale: auth.account.locale,
    ip: meta.ip,
  });
  if (!sent.ok) return failure("too_many_attempts", { retryAfterSeconds: sent.retryAfterSeconds });
  deps.courier.wake();
  return { ok: true, method: toPublicMethod(method), expiresAt: sent.expiresAt.toISOString() };
}

async function checkStepUpCode(deps: Deps, auth: AuthenticatedSession, method: MethodRow, code: string) {
  if (method.method === "totp") {
    const methodDeps = { clock: deps.clock, random: deps.random, secretKeys: deps.config.secretKeys };
    return (await checkTotpMethod(deps.db, methodDeps, method, code)).ok;
  }
  const flowId = stepUpFlowId(auth.session.id, method.id);
  return (await verifyCode(deps.db, codeDepsFor(deps), flowId, code, codeRulesFor(deps, method.method))).ok;
}

/** Verifies a step-up code; wrong codes count toward the same account lock as at sign-in. */
export async function completeStepUp(
  deps: Deps,
  auth: AuthenticatedSession,
  input: { method: string; methodId?: string | undefined; code: string },
  meta: RequestMeta,
): Promise<{ ok: true; authenticatedAt: string } | FlowFailure> {
  if (!auth.account.two_step_enabled_at) return failure("two_step_not_enabled");
  const now = deps.clock.now();
  const lockKey = `two_step:account:${auth.account.id}`;
  const rule = {
    limit: deps.config.limits.twoStepFailuresPerAccount,
    windowSeconds: deps.config.limits.signInFailureWindowSeconds,
  };
  const locked = await deps.throttle.peek(lockKey, rule, now);
  if (!locked.allowed) return failure("too_many_attempts", { retryAfterSeconds: locked.retryAfterSeconds });
  const method = await pickMethod(deps, auth, input.methodId, input.method);
  if (!method || !(await checkStepUpCode(deps, auth, method, input.code))) {
    await deps.throttle.hit(lockKey, rule, now);
    return failure("invalid_code", { field: "code" });
  }
  await markSteppedUp(deps, auth, method.method, now);
  await recordAuditEvent(deps.db, deps, {
    type: "session.stepped_up",
    accountId: auth.account.id,
    actor: "account",
    ip: meta.ip,
    userAgent: meta.userAgent,
    detail: { method: method.method },
  });
  return { ok: true, authenticatedAt: now.toISOString() };
}

/**
 * A step-up passed (a code from a two-step method, or a passkey that verified the person): a
 * recent sign-in and a recent second factor, and the session records the factor it has now
 * passed with its assurance level, which shops read.
 */
export async function markSteppedUp(
  deps: Pick<Deps, "db">,
  auth: AuthenticatedSession,
  factor: Parameters<typeof factorsAfterStepUp>[1],
  now: Date,
): Promise<void> {
  const stepped = factorsAfterStepUp(auth.session, factor);
  await deps.db
    .updateTable("session")
    .set({
      second_factor_at: now.toISOString(),
      authenticated_at: now.toISOString(),
      aal: stepped.aal,
      factors: JSON.stringify(stepped.factors),
    })
    .where("id", "=", auth.session.id)
    .execute();
}
