import { recordAuditEvent } from "../../audit/audit.ts";
import { newId } from "../../crypto/secrets.ts";
import type { Deps } from "../../deps.ts";
import { type AccountRow, findAccountByIdentifier, updatePasswordHash } from "../../identity/accounts.ts";
import { parseIdentifier } from "../../identity/identifiers.ts";
import { createDummyHash, hashPassword, needsRehash, verifyPassword } from "../../passwords/hashing.ts";
import type { Factor, SessionRow, SessionType } from "../../session/sessions.ts";
import { isTrustedDevice } from "../../session/trusted-devices.ts";
import { clearThrottle, hitThrottle, peekThrottle, type ThrottleRule } from "../../throttle/throttle.ts";
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

function identifierKey(identifier: string): string {
  return `sign_in:identifier:${identifier.trim().normalize("NFKC").toLowerCase()}`;
}

function ipKey(ip: string | null): string {
  return `sign_in:ip:${ip ?? "unknown"}`;
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
  const perIdentifier: ThrottleRule = {
    limit: limits.signInFailuresPerIdentifier,
    windowSeconds: limits.signInFailureWindowSeconds,
  };
  const perIp: ThrottleRule = {
    limit: limits.signInFailuresPerIp,
    windowSeconds: limits.signInFailureWindowSeconds,
  };
  // Counters exist for unknown identifiers too, so throttling reveals nothing about who has an account.
  for (const [key, rule] of [
    [identifierKey(input.identifier), perIdentifier],
    [ipKey(meta.ip), perIp],
  ] as const) {
    const verdict = await peekThrottle(deps.db, key, rule, now);
    if (!verdict.allowed)
      return failure("too_many_attempts", { retryAfterSeconds: verdict.retryAfterSeconds });
  }

  const identifier = parseIdentifier(input.identifier);
  const account = identifier ? await findAccountByIdentifier(deps.db, identifier) : undefined;
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
    await hitThrottle(deps.db, identifierKey(input.identifier), perIdentifier, now);
    await hitThrottle(deps.db, ipKey(meta.ip), perIp, now);
    if (account) {
      await recordAuditEvent(deps.db, deps, {
        type: "sign_in.failed",
        accountId: account.id,
        actor: "account",
        ip: meta.ip,
        userAgent: meta.userAgent,
        detail: { reason: "wrong_password" },
      });
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
  await clearThrottle(deps.db, identifierKey(input.identifier));
  if (account.two_step_enabled_at) {
    // A trusted browser skips the second factor only: the password was checked above.
    if (await isTrustedDevice(deps.db, deps.clock, account.id, input.trustedDeviceToken)) {
      return completeSignIn(deps, account, ["password", "trusted_device"], input, meta);
    }
    return startSecondFactor(deps, account, input, meta);
  }
  return completeSignIn(deps, account, ["password"], input, meta);
}

/** A sign-in that needs nothing more than what was proven: recorded as a completed flow, then a session. */
async function completeSignIn(
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
