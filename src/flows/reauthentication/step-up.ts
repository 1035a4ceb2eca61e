import { recordAuditEvent } from "../../audit/audit.ts";
import type { Deps } from "../../deps.ts";
import { countUnusedRecoveryCodes } from "../../factors/recovery-code/recovery-codes.ts";
import { listActiveMethods, toPublicMethod } from "../../factors/two-step/methods.ts";
import { recordTwoStepChange } from "../../factors/two-step/notify.ts";
import {
  checkSecondFactor,
  pickMethod,
  type SecondFactorAnswer,
  sendSecondFactorCode,
} from "../../factors/two-step/second-factor-check.ts";
import { factorsAfterStepUp, type StepUpFactor } from "../../integration/assurance.ts";
import type { AuthenticatedSession } from "../../session/sessions.ts";
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

export async function startStepUp(
  deps: Deps,
  auth: AuthenticatedSession,
  methodId: string | undefined,
  meta: RequestMeta,
): Promise<{ ok: true; method: ReturnType<typeof toPublicMethod>; expiresAt: string | null } | FlowFailure> {
  if (!auth.account.two_step_enabled_at) return failure("two_step_not_enabled");
  const methods = await listActiveMethods(deps.db, auth.account.id);
  const method = pickMethod(methods, { methodId }, null);
  if (!method) return failure("invalid_request", { field: "methodId" });
  const sent = await sendSecondFactorCode(
    deps,
    auth.account,
    method,
    stepUpFlowId(auth.session.id, method.id),
    meta,
  );
  if (!sent.ok) return failure("too_many_attempts", { retryAfterSeconds: sent.retryAfterSeconds });
  return { ok: true, method: toPublicMethod(method), expiresAt: sent.expiresAt?.toISOString() ?? null };
}

/**
 * Verifies a step-up answer: a code from a two-step method or a recovery code, through the same
 * check as the sign-in's second step (one budget of wrong codes per account, its lock audited and
 * mailed to the owner).
 */
export async function completeStepUp(
  deps: Deps,
  auth: AuthenticatedSession,
  input: SecondFactorAnswer,
  meta: RequestMeta,
): Promise<{ ok: true; authenticatedAt: string } | FlowFailure> {
  if (!auth.account.two_step_enabled_at) return failure("two_step_not_enabled");
  const now = deps.clock.now();
  const methods = await listActiveMethods(deps.db, auth.account.id);
  const checked = await checkSecondFactor(
    deps,
    {
      account: auth.account,
      methods,
      currentMethodId: null,
      phoneCodeFlowId: (method) => stepUpFlowId(auth.session.id, method.id),
      during: "step_up",
      meta,
    },
    input,
  );
  if (!checked.ok) {
    if (checked.reason === "locked")
      return failure("too_many_attempts", { retryAfterSeconds: checked.retryAfterSeconds });
    return failure("invalid_code", { field: "code" });
  }
  await markSteppedUp(deps, auth, checked.factor, now);
  await recordAuditEvent(deps.db, deps, {
    type: "session.stepped_up",
    accountId: auth.account.id,
    actor: "account",
    ip: meta.ip,
    userAgent: meta.userAgent,
    detail: { method: checked.method?.method ?? checked.factor },
  });
  if (checked.factor === "recovery_code") {
    const left = await countUnusedRecoveryCodes(deps.db, auth.account.id);
    await recordTwoStepChange(deps.db, deps, auth.account, "recovery_code_used", meta, { left });
    deps.courier.wake();
  }
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
  factor: StepUpFactor,
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
