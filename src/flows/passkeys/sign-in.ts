import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialRequestOptionsJSON,
} from "@simplewebauthn/server";
import { recordAuditEvent } from "../../audit/audit.ts";
import type { Deps } from "../../deps.ts";
import { checkPasskeyAssertion } from "../../factors/passkey/assertion-check.ts";
import { consumePasskeyChallenge, createPasskeyChallenge } from "../../factors/passkey/challenges.ts";
import { listPasskeys, type PasskeyRow } from "../../factors/passkey/passkeys.ts";
import { authenticationOptions } from "../../factors/passkey/webauthn.ts";
import type { AccountRow } from "../../identity/accounts.ts";
import { countSignInAttempt } from "../../operations/metrics.ts";
import type { Factor, SessionType } from "../../session/sessions.ts";
import { ipThrottleSubject } from "../../throttle/ip-subject.ts";
import type { ThrottleRule } from "../../throttle/throttle.ts";
import { type FlowFailure, failure, type RequestMeta } from "../flow-result.ts";
import type { SessionChoice } from "../sign-in/mint-session.ts";
import {
  completeWaitingFlow,
  type FlowRow,
  type SecondFactorSignedIn,
  startSecondFactor,
  type TwoStepRequired,
} from "../sign-in/second-factor.ts";
import { admitSignIn, completeSignIn } from "../sign-in/sign-in.ts";

/**
 * Sign-in with a passkey, two ways:
 * - first factor ("Sign in with a passkey", autofill): the browser picks a discoverable passkey.
 *   With user verification it is both factors (AAL2: no code is asked); without, it is one, and an
 *   account with two-step on still needs its second factor.
 * - second factor: a sign-in waiting in `second_factor_required` (after the password) completes
 *   with one of the account's passkeys, beside SMS, voice and the app.
 * Each challenge is single use, so a replayed assertion finds nothing to sign against; a counter
 * that does not go up refuses the sign-in and mails the owner (a possible clone).
 */
export type AuthenticationStarted = {
  ok: true;
  challengeId: string;
  options: PublicKeyCredentialRequestOptionsJSON;
};

// Each request stores a challenge row, and every sign-in page asks once for autofill: 120 a minute
// from one address (an office or a shop behind one NAT) is more than its people need.
export const optionsPerIp: ThrottleRule = { limit: 120, windowSeconds: 60 };

export async function startPasskeyAuthentication(
  deps: Deps,
  input: { signInChallengeId?: string | undefined },
  meta: RequestMeta,
): Promise<AuthenticationStarted | FlowFailure> {
  const allowed = await deps.throttle.hit(
    `passkey_options:ip:${ipThrottleSubject(meta.ip)}`,
    optionsPerIp,
    deps.clock.now(),
  );
  if (!allowed.allowed) return failure("too_many_attempts", { retryAfterSeconds: allowed.retryAfterSeconds });
  let accountId: string | null = null;
  let allow: PasskeyRow[] = [];
  if (input.signInChallengeId) {
    const flow = await waitingFlow(deps, input.signInChallengeId);
    if (!flow.ok) return flow;
    accountId = flow.accountId;
    allow = await listPasskeys(deps.db, accountId);
    if (allow.length === 0) return failure("passkey_not_found");
  }
  const challenge = await createPasskeyChallenge(deps.db, deps, {
    purpose: "authentication",
    accountId,
    signInFlowId: input.signInChallengeId ?? null,
  });
  const options = await authenticationOptions(deps.config.passkeys, {
    challenge: challenge.challenge,
    allow,
  });
  return { ok: true, challengeId: challenge.id, options };
}

/** A sign-in waiting for its second factor whose first factor was not a passkey already. */
async function waitingFlow(
  deps: Deps,
  id: string,
): Promise<{ ok: true; accountId: string; factors: Factor[]; flow: FlowRow } | FlowFailure> {
  const flow = await deps.db.selectFrom("sign_in_flow").selectAll().where("id", "=", id).executeTakeFirst();
  if (!flow || flow.state === "completed") return failure("challenge_not_found");
  if (flow.state === "expired" || flow.expires_at <= deps.clock.now().toISOString())
    return failure("challenge_expired");
  const factors = JSON.parse(flow.factors) as Factor[];
  // Two factors of one passkey are one factor: a passkey without verification needs a code.
  if (factors.includes("passkey")) return failure("passkey_not_found");
  return { ok: true, accountId: flow.account_id, factors, flow };
}

export type PasskeySignInInput = {
  challengeId: string;
  credential: AuthenticationResponseJSON;
  sessionType: SessionType;
  keepSignedIn: boolean;
  trustDevice: boolean;
};

export async function finishPasskeyAuthentication(
  deps: Deps,
  input: PasskeySignInInput,
  meta: RequestMeta,
): Promise<SecondFactorSignedIn | TwoStepRequired | FlowFailure> {
  const result = await checkPasskeySignIn(deps, input, meta);
  countSignInAttempt("passkey", result.ok ? result.status : result.code);
  return result;
}

async function checkPasskeySignIn(
  deps: Deps,
  input: PasskeySignInInput,
  meta: RequestMeta,
): Promise<SecondFactorSignedIn | TwoStepRequired | FlowFailure> {
  const now = deps.clock.now();
  // Failed passkeys count with failed passwords from the same place: a place is reserved first,
  // and given back unless the credential itself was refused.
  const admitted = await admitSignIn(deps, meta, now);
  if (!admitted.ok) return admitted;
  const consumed = await consumePasskeyChallenge(deps.db, deps.clock, input.challengeId, "authentication");
  if (!consumed.ok) {
    await admitted.succeeded(); // no credential was tried
    return failure(consumed.reason === "expired" ? "challenge_expired" : "challenge_not_found");
  }
  const challenge = consumed.challenge;
  const checked = await checkPasskeyAssertion(
    deps,
    { challenge: challenge.challenge, credential: input.credential, accountId: challenge.account_id },
    meta,
  );
  if (!checked.ok) {
    if (checked.reason !== "refused") {
      await admitted.succeeded(); // the credential itself was right
      if (checked.reason === "clone_suspected") return failure("passkey_clone_suspected");
      return failure(checked.status === "suspended" ? "account_suspended" : "account_closed");
    }
    // A refused credential keeps its place in the address's budget: it is a failed sign-in.
    const code = checked.code;
    deps.log.info({ accountId: checked.accountId, detail: checked.detail }, "passkey sign-in refused");
    if (checked.accountId) {
      await recordAuditEvent(deps.db, deps, {
        type: "sign_in.failed",
        accountId: checked.accountId,
        actor: "account",
        ip: meta.ip,
        userAgent: meta.userAgent,
        detail: { reason: code },
      });
    }
    return failure(code);
  }
  await admitted.succeeded();
  return signInWithCheckedPasskey(
    deps,
    checked.account,
    checked.userVerified,
    challenge.sign_in_flow_id,
    input,
    meta,
  );
}

/** What a passkey that passed proves for a sign-in: the second step of a waiting one, or a new one. */
async function signInWithCheckedPasskey(
  deps: Deps,
  account: AccountRow,
  userVerified: boolean,
  waitingFlowId: string | null,
  input: PasskeySignInInput,
  meta: RequestMeta,
): Promise<SecondFactorSignedIn | TwoStepRequired | FlowFailure> {
  if (waitingFlowId) return completeWaitingSignIn(deps, account, waitingFlowId, input, meta);
  const choice: SessionChoice = { sessionType: input.sessionType, keepSignedIn: input.keepSignedIn };
  if (!userVerified && account.two_step_enabled_at) {
    // One factor where two are required: the account's second factor, as after a password.
    return startSecondFactor(deps, account, choice, meta, ["passkey"]);
  }
  return completeFirstFactorSignIn(
    deps,
    account,
    [userVerified ? "passkey_verified" : "passkey"],
    choice,
    meta,
  );
}

async function completeFirstFactorSignIn(
  deps: Deps,
  account: AccountRow,
  factors: Factor[],
  choice: SessionChoice,
  meta: RequestMeta,
): Promise<SecondFactorSignedIn> {
  const signedIn = await completeSignIn(deps, account, factors, choice, meta);
  deps.courier.wake();
  return signedIn;
}

/** The passkey as the second factor: the waiting flow moves to `completed` in one guarded statement. */
async function completeWaitingSignIn(
  deps: Deps,
  account: AccountRow,
  flowId: string,
  input: PasskeySignInInput,
  meta: RequestMeta,
): Promise<SecondFactorSignedIn | FlowFailure> {
  const flow = await waitingFlow(deps, flowId);
  if (!flow.ok) return flow;
  return completeWaitingFlow(deps, account, flow.flow, [...flow.factors, "passkey"], input.trustDevice, meta);
}

/** True when a waiting sign-in can take a passkey as its second factor (the account has one). */
export async function isPasskeyOfferedAt(deps: Deps, signInChallengeId: string): Promise<boolean> {
  const flow = await waitingFlow(deps, signInChallengeId);
  if (!flow.ok) return false;
  return (await listPasskeys(deps.db, flow.accountId)).length > 0;
}
