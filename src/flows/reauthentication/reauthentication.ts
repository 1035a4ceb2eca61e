import { recordAuditEvent } from "../../audit/audit.ts";
import type { Deps } from "../../deps.ts";
import { verifyPassword } from "../../passwords/hashing.ts";
import { type AuthenticatedSession, markReauthenticated } from "../../session/sessions.ts";
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
  const key = `reauth:account:${auth.account.id}`;
  const rule = {
    limit: deps.config.limits.signInFailuresPerIdentifier,
    windowSeconds: deps.config.limits.signInFailureWindowSeconds,
  };
  const verdict = await deps.throttle.peek(key, rule, now);
  if (!verdict.allowed) return failure("too_many_attempts", { retryAfterSeconds: verdict.retryAfterSeconds });
  const ok = auth.account.password_hash
    ? await verifyPassword(auth.account.password_hash, password.normalize("NFC"))
    : false;
  if (!ok) {
    await deps.throttle.hit(key, rule, now);
    return failure("invalid_credentials", { field: "password" });
  }
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
