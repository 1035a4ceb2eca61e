import { recordAuditEvent } from "../audit/audit.ts";
import { queueMessage } from "../courier/outbox.ts";
import type { Deps } from "../deps.ts";
import { issueCode, verifyCode } from "../factors/one-time-code/one-time-code.ts";
import { codeDepsFor, codeRefusal, codeRulesFor, resendRefusal } from "../flows/code-step.ts";
import { type FlowFailure, failure, type RequestMeta } from "../flows/flow-result.ts";
import { findAccountByEmail } from "../identity/accounts.ts";
import { normalizeEmail } from "../identity/identifiers.ts";
import { ipThrottleSubject } from "../throttle/ip-subject.ts";
import type { FederationProvider } from "./federation-config.ts";
import { createAccountAndSignIn, type FederationFlowRow, type FederationOutcome } from "./federation-flow.ts";

/**
 * When the provider gave no email (LINE without the email permission) or one it did not verify,
 * the person proves one with the usual 6-digit code, as at registration (the same code rules,
 * tries and resend limits). An address that already has an account gets a decoy code that never
 * works and its owner a mail, as at registration: the step says nothing about who has an account,
 * and never links the provider to that account (the owner links it after signing in).
 */
export async function findWaitingFlow(deps: Deps, id: string): Promise<FederationFlowRow | FlowFailure> {
  const flow = await deps.db
    .selectFrom("federation_flow")
    .selectAll()
    .where("id", "=", id)
    .executeTakeFirst();
  if (!flow || (flow.state !== "email_needed" && flow.state !== "code_sent"))
    return failure("registration_not_found");
  if (flow.expires_at <= deps.clock.now().toISOString()) return failure("code_expired");
  return flow;
}

export async function sendEmailCode(
  deps: Deps,
  flowId: string,
  rawEmail: string,
  meta: RequestMeta,
): Promise<{ ok: true; email: string } | FlowFailure> {
  const flow = await findWaitingFlow(deps, flowId);
  if ("ok" in flow) return flow;
  const email = normalizeEmail(rawEmail);
  if (!email) return failure("email_invalid", { field: "email" });
  // As at registration: codes mailed to addresses typed from one place are bounded per hour.
  const perIp = { limit: deps.config.limits.registrationsPerIpPerHour, windowSeconds: 3600 };
  const place = await deps.throttle.hit(
    `registration:ip:${ipThrottleSubject(meta.ip)}`,
    perIp,
    deps.clock.now(),
  );
  if (!place.allowed) return failure("too_many_attempts", { retryAfterSeconds: place.retryAfterSeconds });
  const existing = await findAccountByEmail(deps.db, email);
  const result = await deps.db.transaction().execute(async (trx) => {
    const issued = await issueCode(
      trx,
      codeDepsFor(deps),
      {
        flowId,
        purpose: "registration",
        channel: "email",
        destination: email,
        decoy: existing !== undefined,
      },
      codeRulesFor(deps, "email"),
    );
    if (!issued.ok) return issued;
    await trx
      .updateTable("federation_flow")
      .set({ state: "code_sent", email, expires_at: issued.expiresAt.toISOString() })
      .where("id", "=", flowId)
      .execute();
    if (existing) {
      await queueMessage(trx, deps, "email", existing.email, existing.locale, {
        kind: "registration_existing_account",
        name: existing.name,
        signInUrl: new URL("/sign-in", deps.config.publicUrl).href,
        resetUrl: new URL("/password-reset", deps.config.publicUrl).href,
      });
      await recordAuditEvent(trx, deps, {
        type: "account.registration_attempt_existing",
        accountId: existing.id,
        actor: "system",
        ip: meta.ip,
        userAgent: meta.userAgent,
        detail: { provider: flow.provider },
      });
    } else {
      await queueMessage(trx, deps, "email", email, flow.locale, {
        kind: "registration_code",
        code: issued.code,
        lifetimeMinutes: Math.ceil(deps.config.limits.emailCodeLifetimeSeconds / 60),
      });
    }
    return issued;
  });
  if (!result.ok) return resendRefusal(deps, result, flow.expires_at);
  deps.courier.wake();
  return { ok: true, email };
}

export async function verifyEmailCode(
  deps: Deps,
  provider: FederationProvider,
  flowId: string,
  code: string,
  meta: RequestMeta,
): Promise<FederationOutcome | FlowFailure> {
  const flow = await findWaitingFlow(deps, flowId);
  if ("ok" in flow) return flow;
  if (flow.state !== "code_sent" || !flow.email || !flow.subject || flow.provider !== provider.name)
    return failure("registration_not_found");
  const verdict = await verifyCode(
    deps.db,
    codeDepsFor(deps),
    flowId,
    code.trim(),
    codeRulesFor(deps, "email"),
  );
  if (!verdict.ok) {
    return codeRefusal(deps, verdict, flow.expires_at, async () => {
      await deps.db
        .updateTable("federation_flow")
        .set({ state: "completed" })
        .where("id", "=", flowId)
        .where("state", "=", "code_sent")
        .execute();
    });
  }
  const moved = await deps.db
    .updateTable("federation_flow")
    .set({ state: "completed" })
    .where("id", "=", flowId)
    .where("state", "=", "code_sent")
    .executeTakeFirst();
  if (moved.numUpdatedRows === 0n) return failure("registration_not_found");
  return createAccountAndSignIn(deps, provider, flow, flow.subject, flow.email, flow.name ?? undefined, meta);
}
