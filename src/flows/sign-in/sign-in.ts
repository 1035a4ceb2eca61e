import { recordAuditEvent } from "../../audit/audit.ts";
import { queueMessage } from "../../courier/outbox.ts";
import { newId } from "../../crypto/secrets.ts";
import type { Deps } from "../../deps.ts";
import { isCountryAllowed } from "../../geo/country.ts";
import { type AccountRow, findAccountByIdentifier, updatePasswordHash } from "../../identity/accounts.ts";
import { type Identifier, parseIdentifier } from "../../identity/identifiers.ts";
import { createDummyHash, hashPassword, needsRehash, verifyPassword } from "../../passwords/hashing.ts";
import type { Factor, SessionRow, SessionType } from "../../session/sessions.ts";
import { isTrustedDevice } from "../../session/trusted-devices.ts";
import { ipThrottleSubject } from "../../throttle/ip-subject.ts";
import { clearLockout, readLockout, recordFailure } from "../../throttle/lockout.ts";
import type { ThrottleRule } from "../../throttle/throttle.ts";
import { type FlowFailure, failure, type RequestMeta } from "../flow-result.ts";
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
};

let dummyHash: Promise<string> | undefined;

function hashingParameters(deps: Deps) {
  return { memoryKib: deps.config.limits.argon2MemoryKib, iterations: deps.config.limits.argon2Iterations };
}

/** One counter per account identifier however it is written ("090-1234-5678" = "09012345678"). */
function identifierKey(input: string, identifier: Identifier | undefined): string {
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

/**
 * What every way of signing in (password, passkey) passes before a credential is looked at: the
 * address's budget of failed sign-ins, then the shop's country policy (which says nothing about
 * any account). Null when the sign-in may go on.
 */
export async function signInGate(deps: Deps, meta: RequestMeta, now: Date): Promise<FlowFailure | null> {
  // Stuffing from one place across many accounts: that place waits, the accounts' owners do not.
  const ipVerdict = await deps.throttle.peek(ipKey(meta.ip), failuresPerIp(deps), now);
  if (!ipVerdict.allowed)
    return failure("too_many_attempts", { retryAfterSeconds: ipVerdict.retryAfterSeconds });
  if (!(await isCountryAllowed(deps.config.allowedCountries, meta.ip))) return failure("country_not_allowed");
  return null;
}

/** A failed sign-in (wrong password, refused passkey) counts against its address. */
export async function countFailedSignInFrom(deps: Deps, meta: RequestMeta, now: Date): Promise<void> {
  await deps.throttle.hit(ipKey(meta.ip), failuresPerIp(deps), now);
}

/**
 * Sign-in with an email or a verified mobile number and a password. An unknown identifier and a
 * wrong password give the same `invalid_credentials` after the same argon2id work; a suspended or
 * closed account is only named after a correct password.
 */
export async function signInWithPassword(
  deps: Deps,
  input: PasswordSignInInput,
  meta: RequestMeta,
): Promise<SignedIn | TwoStepRequired | FlowFailure> {
  const limits = deps.config.limits;
  const now = deps.clock.now();
  const refused = await signInGate(deps, meta, now);
  if (refused) return refused;

  const identifier = parseIdentifier(input.identifier);
  const account = identifier ? await findAccountByIdentifier(deps.db, identifier) : undefined;
  const lockoutKey = identifierKey(input.identifier, identifier);
  const lockout = await readLockout(deps.db, lockoutKey, now);
  if (lockout.paused) {
    // The owner's trusted browser is not paused: the attacker's guesses must not lock the owner out.
    const trusted =
      account && (await isTrustedDevice(deps.db, deps.clock, account.id, input.trustedDeviceToken));
    if (!trusted) return failure("too_many_attempts", { retryAfterSeconds: lockout.retryAfterSeconds });
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
    await countFailedSignInFrom(deps, meta, now);
    const outcome = await recordFailure(deps.db, lockoutKey, limits.signInFailuresPerIdentifier, now);
    if (account) {
      await recordAuditEvent(deps.db, deps, {
        type: "sign_in.failed",
        accountId: account.id,
        actor: "account",
        ip: meta.ip,
        userAgent: meta.userAgent,
        detail: { reason: "wrong_password", pausedForSeconds: outcome.pausedForSeconds },
      });
      if (outcome.pauseStarted) await tellOwnerOfPause(deps, account, outcome.pausedForSeconds ?? 60);
    }
    return failure("invalid_credentials");
  }
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
  // Most sign-ins have no failures on record: no statement is spent clearing nothing.
  if (lockout.paused || lockout.counting) await clearLockout(deps.db, lockoutKey);
  if (account.two_step_enabled_at) {
    // A trusted browser skips the second factor only: the password was checked above.
    if (await isTrustedDevice(deps.db, deps.clock, account.id, input.trustedDeviceToken)) {
      return completeSignIn(deps, account, ["password", "trusted_device"], input, meta);
    }
    return startSecondFactor(deps, account, input, meta);
  }
  return completeSignIn(deps, account, ["password"], input, meta);
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
    return mintSignInSession(trx, deps, account, factors, input, meta);
  });
  return { ok: true, status: "signed_in", account, token: minted.token, session: minted.session };
}
