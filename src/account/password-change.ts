import { recordAuditEvent } from "../audit/audit.ts";
import { queueMessage } from "../courier/outbox.ts";
import type { Deps } from "../deps.ts";
import type { FlowFailure, RequestMeta } from "../flows/flow-result.ts";
import { checkCurrentPassword } from "../flows/reauthentication/reauthentication.ts";
import { setAccountPassword } from "../identity/accounts.ts";
import { hashNewPassword } from "../passwords/new-password.ts";
import {
  type AuthenticatedSession,
  markReauthenticated,
  revokeAccountSessions,
} from "../session/sessions.ts";
import { forgetTrustedDevices } from "../session/trusted-devices.ts";

/**
 * Login & security -> Password: the current password proves it is the owner (a stolen, unlocked
 * browser is not enough), then the new one must pass the policy and not be a recent one. This
 * session stays; every other session ends; the owner is mailed.
 */
export async function changePassword(
  deps: Deps,
  auth: AuthenticatedSession,
  input: { currentPassword: string; newPassword: string },
  meta: RequestMeta,
): Promise<{ ok: true; sessionsRevoked: number } | FlowFailure> {
  const now = deps.clock.now();
  const account = auth.account;
  // Wrong current passwords count against the account's limit, as at reauthentication.
  const current = await checkCurrentPassword(deps, account, input.currentPassword, now);
  if (!current.ok) return { ...current, field: "currentPassword" };

  const prepared = await hashNewPassword(deps, account, input.newPassword, "newPassword");
  if (!prepared.ok) return prepared;
  const passwordHash = prepared.passwordHash;

  const sessionsRevoked = await deps.db.transaction().execute(async (trx) => {
    await setAccountPassword(trx, account.id, passwordHash, now);
    const revoked = await revokeAccountSessions(trx, account.id, auth.session.id, now);
    // A new password means a new start: browsers trusted under the old one must pass 2SV again.
    await forgetTrustedDevices(trx, account.id, null, now);
    await markReauthenticated(trx, auth.session.id, now);
    await recordAuditEvent(trx, deps, {
      type: "password.changed",
      accountId: account.id,
      actor: "account",
      ip: meta.ip,
      userAgent: meta.userAgent,
      detail: { sessionsRevoked: revoked },
    });
    await queueMessage(trx, deps, "email", account.email, account.locale, {
      kind: "password_changed",
      name: account.name,
      how: "change",
      resetUrl: new URL("/password-reset", deps.config.publicUrl).href,
    });
    return revoked;
  });
  deps.courier.wake();
  return { ok: true, sessionsRevoked };
}
