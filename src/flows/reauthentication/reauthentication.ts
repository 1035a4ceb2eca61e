import { recordAuditEvent } from "../../audit/audit.ts";
import type { Deps } from "../../deps.ts";
import type { AccountRow } from "../../identity/accounts.ts";
import { verifyPassword } from "../../passwords/hashing.ts";
import { type AuthenticatedSession, markReauthenticated } from "../../session/sessions.ts";
import { reserveAttempt } from "../../throttle/attempts.ts";
import { type FlowFailure, failure, type RequestMeta } from "../flow-result.ts";

/**
 * Proves again, inside a live session, that the person knows the password: sensitive settings ask
 * for it when the last proof is older than the reauthentication window. Wrong passwords count
 * against the same per-account limit as sign-in, so a stolen session cannot guess freely.
 */
export async function reauthenticateWithPassword(
  deps: Deps,
  auth: AuthenticatedSession,
  password: string,
  meta: RequestMeta,
): Promise<{ ok: true; authenticatedAt: string } | FlowFailure> {
  const now = deps.clock.now();
  const checked = await checkCurrentPassword(deps, auth.account, password, now);
  if (!checked.ok) return { ...checked, field: "password" };
  await markReauthenticated(deps.db, auth.session.id, now);
  await recordAuditEvent(deps.db, deps, {
    type: "session.reauthenticated",
    accountId: auth.account.id,
    actor: "account",
    ip: meta.ip,
    userAgent: meta.userAgent,
  });
  return { ok: true, authenticatedAt: now.toISOString() };
}

/**
 * The signed-in person's current password, checked (reauthentication, a password change). Each
 * check is reserved against the account's budget before the hash runs, so a stolen session
 * sending many guesses at once has no more checked than the sign-in's limit; a right one gives its
 * place back.
 */
export async function checkCurrentPassword(
  deps: Deps,
  account: AccountRow,
  password: string,
  now: Date,
): Promise<{ ok: true } | FlowFailure> {
  const rule = {
    limit: deps.config.limits.signInFailuresPerIdentifier,
    windowSeconds: deps.config.limits.signInFailureWindowSeconds,
  };
  const place = await reserveAttempt(deps.throttle, `reauth:account:${account.id}`, rule, now);
  if (!place.allowed) return failure("too_many_attempts", { retryAfterSeconds: place.retryAfterSeconds });
  const ok = account.password_hash
    ? await verifyPassword(account.password_hash, password.normalize("NFC"))
    : false;
  if (!ok) return failure("invalid_credentials");
  await place.release();
  return { ok: true };
}
