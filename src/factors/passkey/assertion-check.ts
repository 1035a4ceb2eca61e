import type { AuthenticationResponseJSON } from "@simplewebauthn/server";
import { recordAuditEvent } from "../../audit/audit.ts";
import type { Deps } from "../../deps.ts";
import type { RequestMeta } from "../../flows/flow-result.ts";
import { type AccountRow, findAccountById } from "../../identity/accounts.ts";
import { recordPasskeyChange } from "./notify.ts";
import { findPasskeyByCredentialId, type PasskeyRow, recordPasskeyUse, signCountOf } from "./passkeys.ts";
import { isCounterGoingBackwards, verifyAssertion } from "./webauthn.ts";

/**
 * The one check of a passkey's answer to a challenge, for every flow that takes one (sign-in, the
 * sign-in's second step, "use a passkey instead" of the password): the credential is found and
 * must belong to the expected account, its signature over the challenge is verified, a signature
 * counter that does not go up is refused as a possible clone (audited and mailed to the owner),
 * the account must be active, and the counter moves in one guarded statement, so two answers
 * racing with one counter pass once. The use is audited. Flows keep only their own state: which
 * challenge, what the passkey proves for them, and how a refusal counts.
 */
export type PasskeyAssertionInput = {
  /** The challenge the answer signs (already spent by the caller: single use). */
  challenge: string;
  credential: AuthenticationResponseJSON;
  /** The account the challenge was made for, or null for a sign-in that names nobody yet. */
  accountId: string | null;
};

export type PasskeyAssertionCheck =
  | { ok: true; account: AccountRow; passkey: PasskeyRow; userVerified: boolean }
  | {
      ok: false;
      /** A refused credential: it counts as a failed attempt. */
      reason: "refused";
      code: "passkey_not_found" | "passkey_unknown_credential" | "passkey_invalid";
      /** For the log only: what exactly was wrong. */
      detail: string;
      accountId?: string;
    }
  | { ok: false; reason: "clone_suspected" }
  | { ok: false; reason: "account_inactive"; status: "suspended" | "closed" };

export async function checkPasskeyAssertion(
  deps: Deps,
  input: PasskeyAssertionInput,
  meta: RequestMeta,
): Promise<PasskeyAssertionCheck> {
  const passkey = await findPasskeyByCredentialId(deps.db, input.credential.id.slice(0, 1024));
  // No passkey of any account has this id (removed, or never registered here): a code of its own,
  // so the page can tell the authenticator to stop offering it (WebAuthn's signalUnknownCredential).
  // A passkey of another account is not "unknown": it must never be signalled away.
  if (!passkey)
    return { ok: false, reason: "refused", code: "passkey_unknown_credential", detail: "unknown credential" };
  // A passkey proves only the account the challenge was made for.
  if (input.accountId !== null && input.accountId !== passkey.account_id)
    return {
      ok: false,
      reason: "refused",
      code: "passkey_not_found",
      detail: "credential of another account",
    };
  const verified = await verifyAssertion(deps.config.passkeys, {
    challenge: input.challenge,
    response: input.credential,
    passkey,
  });
  if (!verified.ok)
    return {
      ok: false,
      reason: "refused",
      code: "passkey_invalid",
      detail: verified.detail,
      accountId: passkey.account_id,
    };
  const assertion = verified.assertion;

  const account = await findAccountById(deps.db, passkey.account_id);
  if (!account) return { ok: false, reason: "refused", code: "passkey_not_found", detail: "account gone" };
  if (isCounterGoingBackwards(signCountOf(passkey), assertion.signCount)) {
    await recordPasskeyChange(deps.db, deps, account, "clone_signal", passkey, meta);
    deps.courier.wake();
    return { ok: false, reason: "clone_suspected" };
  }
  if (account.status !== "active") return { ok: false, reason: "account_inactive", status: account.status };
  // Two assertions racing with one counter: only one moves it.
  const used = await recordPasskeyUse(deps.db, passkey, {
    signCount: assertion.signCount,
    backedUp: assertion.backedUp,
    now: deps.clock.now(),
  });
  if (!used)
    return {
      ok: false,
      reason: "refused",
      code: "passkey_invalid",
      detail: "counter moved concurrently",
      accountId: account.id,
    };
  await recordAuditEvent(deps.db, deps, {
    type: "passkey.used",
    accountId: account.id,
    actor: "account",
    ip: meta.ip,
    userAgent: meta.userAgent,
    detail: { passkeyId: passkey.id, userVerified: assertion.userVerified },
  });
  return { ok: true, account, passkey, userVerified: assertion.userVerified };
}
