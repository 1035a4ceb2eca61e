import { recordAuditEvent } from "../../audit/audit.ts";
import type { Locale } from "../../config/config.ts";
import { queuePhoneMessage } from "../../courier/outbox.ts";
import { newId } from "../../crypto/secrets.ts";
import type { Deps } from "../../deps.ts";
import { issueCode, verifyCode } from "../../factors/one-time-code/one-time-code.ts";
import { findAccountById, findAccountByIdentifier } from "../../identity/accounts.ts";
import { maskEmail, normalizePhone } from "../../identity/identifiers.ts";
import { ipThrottleSubject } from "../../throttle/ip-subject.ts";
import { codeDepsFor, codeRefusal, codeRulesFor, resendRefusal, secondsUntil } from "../code-step.ts";
import { type FlowFailure, failure, type RequestMeta } from "../flow-result.ts";

/**
 * "Forgot your email?": a mobile number -> a code by SMS -> the account's email, masked
 * (`t***@example.co.jp`), and the way to reset the password. Only a verified number of an active
 * account gets an SMS; any other number gets a decoy flow with the same answers and no message,
 * so neither who has an account nor a free SMS sender is on offer. States: docs/flows/email-reminder.md.
 */
export type StartedReminder = { ok: true; emailReminder: { id: string; expiresAt: string } };

function lifetimeMinutes(deps: Deps): number {
  return Math.ceil(deps.config.limits.phoneCodeLifetimeSeconds / 60);
}

export async function requestEmailReminder(
  deps: Deps,
  phoneInput: string,
  locale: Locale,
  meta: RequestMeta,
): Promise<StartedReminder | FlowFailure> {
  const phone = normalizePhone(phoneInput);
  if (!phone) return failure("phone_invalid", { field: "phone" });
  const now = deps.clock.now();
  const limits = deps.config.limits;
  const windowSeconds = limits.passwordResetWindowSeconds;
  for (const [key, limit] of [
    [`email_reminder:phone:${phone}`, limits.emailReminderRequestsPerPhone],
    [`email_reminder:ip:${ipThrottleSubject(meta.ip)}`, limits.passwordResetRequestsPerIp],
  ] as const) {
    const verdict = await deps.throttle.hit(key, { limit, windowSeconds }, now);
    if (!verdict.allowed)
      return failure("too_many_attempts", { retryAfterSeconds: verdict.retryAfterSeconds });
  }
  const found = await findAccountByIdentifier(deps.db, { kind: "phone", phone });
  const account = found?.status === "active" ? found : undefined;
  const id = newId(deps.random, "emr");
  const expiresAt = new Date(now.getTime() + limits.phoneCodeLifetimeSeconds * 1000);

  await deps.db.transaction().execute(async (trx) => {
    await trx
      .insertInto("email_reminder")
      .values({
        id,
        account_id: account?.id ?? null,
        phone,
        state: "code_sent",
        locale: account?.locale ?? locale,
        expires_at: expiresAt.toISOString(),
        ip: meta.ip,
        created_at: now.toISOString(),
      })
      .execute();
    const issued = await issueCode(
      trx,
      codeDepsFor(deps),
      {
        flowId: id,
        purpose: "email_reminder",
        channel: "sms",
        destination: phone,
        decoy: account === undefined,
      },
      codeRulesFor(deps, "sms"),
    );
    if (!issued.ok) throw new Error("a new email reminder cannot be in cooldown");
    if (!account) return;
    await queuePhoneMessage(trx, deps, "sms", phone, account.locale, {
      kind: "phone_code",
      code: issued.code,
      lifetimeMinutes: lifetimeMinutes(deps),
    });
  });
  if (account) deps.courier.wake();
  return { ok: true, emailReminder: { id, expiresAt: expiresAt.toISOString() } };
}

/** The right code shows the masked email, once; five wrong tries end the flow. */
export async function verifyEmailReminder(
  deps: Deps,
  id: string,
  code: string,
  meta: RequestMeta,
): Promise<{ ok: true; maskedEmail: string } | FlowFailure> {
  const row = await deps.db.selectFrom("email_reminder").selectAll().where("id", "=", id).executeTakeFirst();
  if (!row || row.state === "completed") return failure("email_reminder_not_found");
  if (row.state === "exhausted") {
    return failure("too_many_attempts", { retryAfterSeconds: secondsUntil(deps, row.expires_at) });
  }
  if (row.expires_at <= deps.clock.now().toISOString()) return failure("code_expired", { field: "code" });
  const verdict = await verifyCode(deps.db, codeDepsFor(deps), id, code, codeRulesFor(deps, "sms"));
  if (!verdict.ok) {
    return codeRefusal(deps, verdict, row.expires_at, async () => {
      await deps.db
        .updateTable("email_reminder")
        .set({ state: "exhausted" })
        .where("id", "=", id)
        .where("state", "=", "code_sent")
        .execute();
    });
  }
  const moved = await deps.db
    .updateTable("email_reminder")
    .set({ state: "completed" })
    .where("id", "=", id)
    .where("state", "=", "code_sent")
    .executeTakeFirst();
  // Only a real flow's code can be right; a decoy never gets here.
  const account = row.account_id ? await findAccountById(deps.db, row.account_id) : undefined;
  if (moved.numUpdatedRows === 0n || !account) return failure("email_reminder_not_found");
  await recordAuditEvent(deps.db, deps, {
    type: "email_reminder.shown",
    accountId: account.id,
    actor: "account",
    ip: meta.ip,
    userAgent: meta.userAgent,
  });
  return { ok: true, maskedEmail: maskEmail(account.email) };
}

/** A new SMS code after the cooldown, within the cap on sends; a decoy answers alike and sends nothing. */
export async function resendEmailReminder(deps: Deps, id: string): Promise<{ ok: true } | FlowFailure> {
  const row = await deps.db.selectFrom("email_reminder").selectAll().where("id", "=", id).executeTakeFirst();
  if (row?.state !== "code_sent") return failure("email_reminder_not_found");
  // An expired flow stays expired: a resend must not bring it back to life.
  if (row.expires_at <= deps.clock.now().toISOString()) return failure("code_expired", { field: "code" });
  const account = row.account_id ? await findAccountById(deps.db, row.account_id) : undefined;
  const result = await deps.db.transaction().execute(async (trx) => {
    const issued = await issueCode(
      trx,
      codeDepsFor(deps),
      { flowId: id, purpose: "email_reminder", channel: "sms", destination: row.phone, decoy: !account },
      codeRulesFor(deps, "sms"),
    );
    if (!issued.ok) return issued;
    await trx
      .updateTable("email_reminder")
      .set({ expires_at: issued.expiresAt.toISOString() })
      .where("id", "=", id)
      .execute();
    if (account) {
      await queuePhoneMessage(trx, deps, "sms", row.phone, account.locale, {
        kind: "phone_code",
        code: issued.code,
        lifetimeMinutes: lifetimeMinutes(deps),
      });
    }
    return issued;
  });
  if (!result.ok) return resendRefusal(deps, result, row.expires_at);
  if (account) deps.courier.wake();
  return { ok: true };
}
