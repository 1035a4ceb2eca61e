import { recordAuditEvent } from "../../audit/audit.ts";
import { queueMessage } from "../../courier/outbox.ts";
import { newId } from "../../crypto/secrets.ts";
import type { Deps } from "../../deps.ts";
import { isCountryAllowed } from "../../geo/country.ts";
import {
  type AccountRow,
  findAccountById,
  findAccountByIdentifier,
  updatePasswordHash,
} from "../../identity/accounts.ts";
import { type Identifier, parseIdentifier } from "../../identity/identifiers.ts";
import { countSignInAttempt } from "../../operations/metrics.ts";
import { createDummyHash, hashPassword, needsRehash, verifyPassword } from "../../passwords/hashing.ts";
import type { Factor, SessionRow, SessionType } from "../../session/sessions.ts";
import { findTrustedDevice } from "../../session/trusted-devices.ts";
import { reserveAttempt } from "../../throttle/attempts.ts";
import { ipThrottleSubject } from "../../throttle/ip-subject.ts";
import {
  accountLockoutKey,
  clearLockout,
  recordPasswordFailure,
  reservePasswordAttempt,
} from "../../throttle/lockout.ts";
import type { ThrottleRule } from "../../throttle/throttle.ts";
import { type FlowFailure, failure, type RequestMeta } from "../flow-result.ts";
import {
  cancelWaitingRecovery,
  completeDueRecovery,
  takeSetUpAgainPrompt,
} from "../two-step-recovery/outcome.ts";
import { tellOwnerOfCountryRefusal } from "./country-refusal.ts";
import { mintSignInSession } from "./mint-session.ts";
import { startSecondFactor, type TwoStepRequired } from "./second-factor.ts";

export type PasswordSignInInput = {
  identifier: string;
  password: string;
  sessionType: SessionType;
  keepSignedIn: boolean;
  /** The "don't ask for codes on this browser" cookie, when the browser sent one. */
  trustedDeviceToken?: string | undefined;
};

export type SignedIn = {
  ok: true;
  status: "signed_in";
  account: AccountRow;
  token: string;
  session: SessionRow;
  /** Two-step was just turned off by a recovery whose wait is over: ask the owner to set it up again. */
  twoStepRecovered?: true;
};

let dummyHash: Promise<string> | undefined;

function hashingParameters(deps: Deps) {
  return { memoryKib: deps.config.limits.argon2MemoryKib, iterations: deps.config.limits.argon2Iterations };
}

/**
 * Whose count a password attempt fills: the account's, however it was named (email and mobile
 * number share one), a trusted browser's own when the owner signs in from one (an attacker's
 * guesses elsewhere must not lock the owner out), or, for an identifier with no account, that
 * identifier's ("090-1234-5678" = "09012345678"), so a pause tells nothing about who has an account.
 */
function lockoutKeyFor(
  input: string,
  identifier: Identifier | undefined,
  account: AccountRow | undefined,
  trustedDeviceId: string | undefined,
): string {
  if (account && trustedDeviceId) return `${accountLockoutKey(account.id)}:device:${trustedDeviceId}`;
  if (account) return accountLockoutKey(account.id);
  const canonical = identifier
    ? identifier.kind === "email"
      ? identifier.email
      : identifier.phone
    : input.trim().normalize("NFKC").toLowerCase();
  return `sign_in:identifier:${canonical}`;
}

function ipKey(ip: string | null): string {
  return `sign_in:ip:${ipThrottleSubject(ip)}`;
}

function failuresPerIp(deps: Deps): ThrottleRule {
  const limits = deps.config.limits;
  return { limit: limits.signInFailuresPerIp, windowSeconds: limits.signInFailureWindowSeconds };
}

/** A sign-in attempt admitted by the gate; `succeeded` gives back its place in the address's budget. */
export type AdmittedSignIn = { ok: true; succeeded(): Promise<void> };

/**
 * What every way of signing in (password, passkey) passes before a credential is looked at: a
 * place in the address's budget of failed sign-ins, reserved now (so a burst from one address
 * cannot have more checked than the budget), then the shop's country policy (which says nothing
 * about any account). A refused attempt takes no place.
 */
export async function admitSignIn(
  deps: Deps,
  meta: RequestMeta,
  now: Date,
): Promise<AdmittedSignIn | FlowFailure> {
  // Stuffing from one place across many accounts: that place waits, the accounts' owners do not.
  const place = await reserveAttempt(deps.throttle, ipKey(meta.ip), failuresPerIp(deps), now);
  if (!place.allowed) return failure("too_many_attempts", { retryAfterSeconds: place.retryAfterSeconds });
  if (!(await isCountryAllowed(deps.config.allowedCountries, meta.ip))) {
    await place.release();
    return failure("country_not_allowed");
  }
  return { ok: true, succeeded: place.release };
}

/** A failed sign-in outside the gate (a refused passkey at reauthentication) counts against its address. */
export async function countFailedSignInFrom(deps: Deps, meta: RequestMeta, now: Date): Promise<void> {
  await deps.throttle.hit(ipKey(meta.ip), failuresPerIp(deps), now);
}

/**
 * Sign-in with an email or a verified mobile number and a password. An unknown identifier and a
 * wrong password give the same `invalid_credentials` after the same argon2id work; a suspended or
 * closed account is only named after a correct password. The attempt is reserved against the
 * address and the account before the password is hashed.
 */
export async function signInWithPassword(
  deps: Deps,
  input: PasswordSignInInput,
  meta: RequestMeta,
): Promise<SignedIn | TwoStepRequired | FlowFailure> {
  const result = await checkPasswordSignIn(deps, input, meta);
  countSignInAttempt("password", result.ok ? result.status : result.code);
  return result;
}

async function checkPasswordSignIn(
  deps: Deps,
  input: PasswordSignInInput,
  meta: RequestMeta,
): Promise<SignedIn | TwoStepRequired | FlowFailure> {
  const limits = deps.config.limits;
  const now = deps.clock.now();
  const admitted = await admitSignIn(deps, meta, now);
  if (!admitted.ok) {
    if (admitted.code === "country_not_allowed")
      await tellOwnerOfCountryRefusal(deps, input.identifier, meta, now);
    return admitted;
  }

  const identifier = parseIdentifier(input.identifier);
  const account = identifier ? await findAccountByIdentifier(deps.db, identifier) : undefined;
  const trustedDeviceId = account
    ? await findTrustedDevice(deps.db, deps.clock, account.id, input.trustedDeviceToken)
    : undefined;
  const lockoutKey = lockoutKeyFor(input.identifier, identifier, account, trustedDeviceId);
  const threshold = limits.signInFailuresPerIdentifier;
  const attempt = await reservePasswordAttempt(deps.db, lockoutKey, threshold, now);
  if (!attempt.allowed) {
    await admitted.succeeded(); // not checked, so not a failure from this address either
    return failure("too_many_attempts", { retryAfterSeconds: attempt.retryAfterSeconds });
  }

  const password = input.password.normalize("NFC");
  let passwordMatches: boolean;
  if (account?.password_hash) {
    passwordMatches = await verifyPassword(account.password_hash, password);
  } else {
    dummyHash ??= createDummyHash(hashingParameters(deps));
    await verifyPassword(await dummyHash, password);
    passwordMatches = false;
  }

  if (!account || !passwordMatches) {
    const outcome = await recordPasswordFailure(deps.db, lockoutKey, attempt, threshold, now);
    if (account) {
      await recordAuditEvent(deps.db, deps, {
        type: "sign_in.failed",
        accountId: account.id,
        actor: "account",
        ip: meta.ip,
        userAgent: meta.userAgent,
        detail: { reason: "wrong_password", pausedForSeconds: outcome.pausedForSeconds },
      });
      // The owner's own trusted browser pausing is not someone else trying the password.
      if (outcome.pauseStarted && !trustedDeviceId)
        await tellOwnerOfPause(deps, account, outcome.pausedForSeconds ?? 60);
    }
    return failure("invalid_credentials");
  }
  await admitted.succeeded();
  await clearLockout(deps.db, lockoutKey);
  if (account.status === "suspended") return failure("account_suspended");
  if (account.status === "closed") return failure("account_closed");

  if (account.password_hash && needsRehash(account.password_hash, hashingParameters(deps))) {
    await updatePasswordHash(deps.db, account.id, await hashPassword(password, hashingParameters(deps)), now);
    await recordAuditEvent(deps.db, deps, {
      type: "password.rehashed",
      accountId: account.id,
      actor: "system",
    });
  }
  // A two-step recovery whose wait is over turns two-step off now, if housekeeping has not yet
  // (docs/flows/two-step-recovery.md): the password then signs in, and trusted browsers are gone.
  // When it returns, any racing completion (housekeeping, a sign-in in another tab) has committed:
  // the account is read again, so a two-step turned off meanwhile is not asked for.
  const current = !account.two_step_enabled_at
    ? account
    : (await completeDueRecovery(deps, account.id))
      ? { ...account, two_step_enabled_at: null }
      : ((await findAccountById(deps.db, account.id)) ?? account);
  if (current.two_step_enabled_at) {
    // A trusted browser skips the second factor only: the password was checked above.
    if (trustedDeviceId) return completeSignIn(deps, current, ["password", "trusted_device"], input, meta);
    return startSecondFactor(deps, current, input, meta);
  }
  const signedIn = await completeSignIn(deps, current, ["password"], input, meta);
  return (await takeSetUpAgainPrompt(deps.db, current.id, now))
    ? { ...signedIn, twoStepRecovered: true }
    : signedIn;
}

/** "Someone tried your password": once per series of pauses, with the way to reset it. */
async function tellOwnerOfPause(deps: Deps, account: AccountRow, pausedForSeconds: number): Promise<void> {
  await queueMessage(deps.db, deps, "email", account.email, account.locale, {
    kind: "sign_in_paused",
    name: account.name,
    minutes: Math.ceil(pausedForSeconds / 60),
    resetUrl: new URL("/password-reset", deps.config.publicUrl).href,
  });
  deps.courier.wake();
}

/**
 * A sign-in that needs nothing more than what was proven (a password on an account without two-step,
 * a passkey): recorded as a completed flow, then a session, in one transaction.
 */
export async function completeSignIn(
  deps: Deps,
  account: AccountRow,
  factors: Factor[],
  input: Pick<PasswordSignInInput, "sessionType" | "keepSignedIn">,
  meta: RequestMeta,
): Promise<SignedIn> {
  const now = deps.clock.now();
  const minted = await deps.db.transaction().execute(async (trx) => {
    await trx
      .insertInto("sign_in_flow")
      .values({
        id: newId(deps.random, "sif"),
        account_id: account.id,
        state: "completed",
        factors: JSON.stringify(factors),
        persistent: input.keepSignedIn ? 1 : 0,
        session_type: input.sessionType,
        attempts: 0,
        ip: meta.ip,
        user_agent: meta.userAgent?.slice(0, 300) ?? null,
        expires_at: now.toISOString(),
        created_at: now.toISOString(),
        method_id: null,
      })
      .execute();
    const minted = await mintSignInSession(trx, deps, account, factors, input, meta);
    // A passkey that verified the person is a real second factor: the owner has it, so a pending
    // two-step recovery (someone else's, or no longer needed) is cancelled, and the owner mailed.
    if (factors.includes("passkey_verified"))
      await cancelWaitingRecovery(trx, deps, account, "second_factor_sign_in", meta);
    return minted;
  });
  deps.courier.wake();
  return { ok: true, status: "signed_in", account, token: minted.token, session: minted.session };
}
