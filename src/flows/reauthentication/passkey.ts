import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialRequestOptionsJSON,
} from "@simplewebauthn/server";
import { recordAuditEvent } from "../../audit/audit.ts";
import type { Deps } from "../../deps.ts";
import { checkPasskeyAssertion } from "../../factors/passkey/assertion-check.ts";
import { consumePasskeyChallenge, createPasskeyChallenge } from "../../factors/passkey/challenges.ts";
import { listPasskeys } from "../../factors/passkey/passkeys.ts";
import { authenticationOptions } from "../../factors/passkey/webauthn.ts";
import { type AuthenticatedSession, markReauthenticated } from "../../session/sessions.ts";
import { reserveAttempt } from "../../throttle/attempts.ts";
import { ipThrottleSubject } from "../../throttle/ip-subject.ts";
import { type FlowFailure, failure, type RequestMeta } from "../flow-result.ts";
import { optionsPerIp } from "../passkeys/sign-in.ts";
import { countFailedSignInFrom } from "../sign-in/sign-in.ts";
import { markSteppedUp } from "./step-up.ts";

/**
 * "Use a passkey instead" of the password inside a live session (docs/decisions/0009): one of the
 * signed-in account's own passkeys proves it's the person again.
 * - Any passkey of the account sets the "recent sign-in" mark, as the password does.
 * - A passkey whose device verified the person (UV: PIN or biometrics) is a phishing-resistant
 *   possession factor unlocked by a second one (NIST SP 800-63B-4, AAL2): it also sets what a
 *   step-up code sets (second_factor_at, aal, factors). Without UV it is one factor, never a step-up.
 * The challenge belongs to the account and the session that asked, is spent by the first answer,
 * and names only the account's passkeys; a counter that does not go up refuses and mails the owner.
 */
export type PasskeyReauthenticationStarted = {
  ok: true;
  challengeId: string;
  options: PublicKeyCredentialRequestOptionsJSON;
};

export type PasskeyReauthenticated = { ok: true; authenticatedAt: string; steppedUp: boolean };

export async function startPasskeyReauthentication(
  deps: Deps,
  auth: AuthenticatedSession,
  meta: RequestMeta,
): Promise<PasskeyReauthenticationStarted | FlowFailure> {
  // The same per-address budget as the sign-in's options: each answer stores a challenge row.
  const allowed = await deps.throttle.hit(
    `passkey_options:ip:${ipThrottleSubject(meta.ip)}`,
    optionsPerIp,
    deps.clock.now(),
  );
  if (!allowed.allowed) return failure("too_many_attempts", { retryAfterSeconds: allowed.retryAfterSeconds });
  const allow = await listPasskeys(deps.db, auth.account.id);
  if (allow.length === 0) return failure("passkey_not_found");
  const challenge = await createPasskeyChallenge(deps.db, deps, {
    purpose: "reauthentication",
    accountId: auth.account.id,
    signInFlowId: null,
    sessionId: auth.session.id,
  });
  const options = await authenticationOptions(deps.config.passkeys, {
    challenge: challenge.challenge,
    allow,
  });
  return { ok: true, challengeId: challenge.id, options };
}

export async function finishPasskeyReauthentication(
  deps: Deps,
  auth: AuthenticatedSession,
  input: { challengeId: string; credential: AuthenticationResponseJSON },
  meta: RequestMeta,
): Promise<PasskeyReauthenticated | FlowFailure> {
  const now = deps.clock.now();
  const account = auth.account;
  // Refused passkeys count with wrong passwords against the account (a stolen session cannot try
  // freely), reserved before the check as they are, and with failed sign-ins against the address.
  const rule = {
    limit: deps.config.limits.signInFailuresPerIdentifier,
    windowSeconds: deps.config.limits.signInFailureWindowSeconds,
  };
  const place = await reserveAttempt(deps.throttle, `reauth:account:${account.id}`, rule, now);
  if (!place.allowed) return failure("too_many_attempts", { retryAfterSeconds: place.retryAfterSeconds });

  const consumed = await consumePasskeyChallenge(deps.db, deps.clock, input.challengeId, "reauthentication");
  // Another session's (or account's) challenge is no challenge at all for this one.
  const ours =
    consumed.ok &&
    consumed.challenge.account_id === account.id &&
    consumed.challenge.session_id === auth.session.id;
  if (!consumed.ok || !ours) {
    await place.release(); // no credential was tried
    return failure(
      !consumed.ok && consumed.reason === "expired" ? "challenge_expired" : "challenge_not_found",
    );
  }
  const checked = await checkPasskeyAssertion(
    deps,
    { challenge: consumed.challenge.challenge, credential: input.credential, accountId: account.id },
    meta,
  );
  if (!checked.ok) {
    if (checked.reason === "refused") {
      await countFailedSignInFrom(deps, meta, now);
      deps.log.info({ accountId: account.id, detail: checked.detail }, "passkey reauthentication refused");
      return failure(checked.code);
    }
    await place.release();
    if (checked.reason === "clone_suspected") return failure("passkey_clone_suspected");
    return failure(checked.status === "suspended" ? "account_suspended" : "account_closed");
  }
  await place.release();
  const passkey = checked.passkey;

  const steppedUp = checked.userVerified;
  if (steppedUp) {
    // What a step-up code sets, with the passkey's own factor.
    await markSteppedUp(deps, auth, "passkey_verified", now);
  } else {
    await markReauthenticated(deps.db, auth.session.id, now);
  }
  await recordAuditEvent(deps.db, deps, {
    type: "session.reauthenticated_with_passkey",
    accountId: account.id,
    actor: "account",
    ip: meta.ip,
    userAgent: meta.userAgent,
    detail: { passkeyId: passkey.id, steppedUp },
  });
  return { ok: true, authenticatedAt: now.toISOString(), steppedUp };
}
