import { recordAuditEvent } from "../audit/audit.ts";
import type { Deps } from "../deps.ts";
import type { RequestMeta } from "../flows/flow-result.ts";
import { requestPasswordReset } from "../flows/password-reset/password-reset.ts";
import { countryName } from "../identity/sign-in-context.ts";
import type { AuthenticatedSession } from "../session/sessions.ts";
import { revokeAccountSessions } from "../session/sessions.ts";
import { forgetTrustedDevices } from "../session/trusted-devices.ts";
import { describeBrowser } from "../views/user-agent.ts";

/**
 * "Sign-in activity": what happened to the account lately — sign-ins and every security change —
 * with time, browser, approximate place and address, and "this wasn't me", which signs out
 * everywhere and starts a password reset.
 */
export type ActivityEntry = {
  id: string;
  type: string;
  at: string;
  browser: string | null;
  place: string | null;
  ip: string | null;
  /** The provider of a social sign-in, link or unlink (`line`, `google`…); pages name it. */
  provider?: string;
};

/** What the owner sees: sign-ins and security changes; not failed guesses by strangers. */
const shownTypes = [
  "account.created",
  "sign_in.succeeded",
  "password.changed",
  "password_reset.completed",
  "two_step.enabled",
  "two_step.disabled",
  "two_step.method_added",
  "two_step.method_removed",
  "two_step.recovery_codes_replaced",
  "two_step.recovery_code_used",
  "two_step.locked",
  "trusted_device.added",
  "trusted_device.revoked",
  "session.revoked_others",
  "session.revoked_by_support",
  "account.suspended",
  "account.reopened",
  "security.not_me",
  "passkey.added",
  "passkey.removed",
  "passkey.clone_signal",
  "account.data_exported",
  "sign_in.country_refused",
  "account.name_changed",
  "account.email_changed",
  "account.email_change_undone",
  "account.phone_added",
  "account.phone_removed",
  "federation.signed_in",
  "federation.linked",
  "federation.unlinked",
] as const;

export async function listActivity(
  deps: Pick<Deps, "db">,
  accountId: string,
  locale: "ja" | "en",
  limit = 50,
): Promise<ActivityEntry[]> {
  const rows = await deps.db
    .selectFrom("audit_event")
    .select(["id", "type", "created_at", "ip", "user_agent", "detail"])
    .where("account_id", "=", accountId)
    .where("type", "in", [...shownTypes])
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .limit(limit)
    .execute();
  return rows.map((row) => {
    const detail = JSON.parse(row.detail) as { country?: unknown; provider?: unknown };
    const country = typeof detail.country === "string" ? countryName(detail.country, locale) : undefined;
    return {
      id: row.id,
      type: row.type,
      at: row.created_at,
      browser: describeBrowser(row.user_agent) ?? null,
      place: country ?? null,
      ip: row.ip,
      ...(typeof detail.provider === "string" ? { provider: detail.provider } : {}),
    };
  });
}

/**
 * "This wasn't me": every session of the account ends (this one too), every trusted browser is
 * forgotten, and a password reset starts — its code goes to the account's email, as always.
 */
export async function reportNotMe(
  deps: Deps,
  auth: AuthenticatedSession,
  meta: RequestMeta,
): Promise<
  { ok: true; passwordReset: { id: string; expiresAt: string } } | { ok: false; retryAfterSeconds: number }
> {
  const now = deps.clock.now();
  await deps.db.transaction().execute(async (trx) => {
    await revokeAccountSessions(trx, auth.account.id, null, now);
    await forgetTrustedDevices(trx, auth.account.id, null, now);
    await recordAuditEvent(trx, deps, {
      type: "security.not_me",
      accountId: auth.account.id,
      actor: "account",
      ip: meta.ip,
      userAgent: meta.userAgent,
    });
  });
  const reset = await requestPasswordReset(deps, auth.account.email, auth.account.locale, meta);
  if (!reset.ok) return { ok: false, retryAfterSeconds: reset.retryAfterSeconds ?? 60 };
  return { ok: true, passwordReset: reset.passwordReset };
}
