import type {
  PublicKeyCredentialCreationOptionsJSON,
  RegistrationResponseJSON,
} from "@simplewebauthn/server";
import { recordAuditEvent } from "../../audit/audit.ts";
import { dialectOf } from "../../db/database.ts";
import { consumePasskeyChallenge, createPasskeyChallenge } from "../../factors/passkey/challenges.ts";
import { recordPasskeyChange } from "../../factors/passkey/notify.ts";
import {
  cleanPasskeyName,
  deletePasskey,
  findPasskey,
  findPasskeyByCredentialId,
  insertPasskey,
  listPasskeys,
  type PublicPasskey,
  renamePasskey,
  toPublicPasskey,
} from "../../factors/passkey/passkeys.ts";
import { registrationOptions, verifyRegistration } from "../../factors/passkey/webauthn.ts";
import { hasLinkedIdentity } from "../../federation/identities.ts";
import { describeBrowser } from "../../views/user-agent.ts";
import { type FlowFailure, failure } from "../flow-result.ts";
import {
  requireRecentAuthentication,
  requireStepUp,
  type SettingsContext,
} from "../two-step-settings/guards.ts";

/**
 * Login & security -> Passkeys: add (the same guards as a two-step method: a recent sign-in, and
 * a code from a current method while two-step is on), list, rename, remove. Adding a passkey must
 * never be easier than adding a phone, or it would be the way in for someone with a stolen session.
 */
export type RegistrationStarted = {
  ok: true;
  challengeId: string;
  options: PublicKeyCredentialCreationOptionsJSON;
};

function guard(ctx: SettingsContext): FlowFailure | undefined {
  return requireRecentAuthentication(ctx) ?? requireStepUp(ctx);
}

export async function startPasskeyRegistration(
  ctx: SettingsContext,
  how: { conditional?: boolean } = {},
): Promise<RegistrationStarted | FlowFailure> {
  const refused = guard(ctx);
  if (refused) return refused;
  const { deps, auth } = ctx;
  const account = auth.account;
  const challenge = await createPasskeyChallenge(deps.db, deps, {
    purpose: how.conditional === true ? "conditional_registration" : "registration",
    accountId: account.id,
    signInFlowId: null,
  });
  const options = await registrationOptions(deps.config.passkeys, {
    challenge: challenge.challenge,
    account,
    existing: await listPasskeys(deps.db, account.id),
  });
  return { ok: true, challengeId: challenge.id, options };
}

export type RegistrationInput = {
  challengeId: string;
  credential: RegistrationResponseJSON;
  /** The owner's name for it; by default the browser and system that made it ("Chrome (Mac)"). */
  name?: string | undefined;
};

export async function finishPasskeyRegistration(
  ctx: SettingsContext,
  input: RegistrationInput,
): Promise<{ ok: true; passkey: PublicPasskey } | FlowFailure> {
  const refused = guard(ctx);
  if (refused) return refused;
  const { deps, auth, meta } = ctx;
  const account = auth.account;
  // A conditional create's challenge says so when it is made (the options request), never the answer.
  let conditional = false;
  let consumed = await consumePasskeyChallenge(deps.db, deps.clock, input.challengeId, "registration");
  if (!consumed.ok && consumed.reason === "not_found") {
    consumed = await consumePasskeyChallenge(
      deps.db,
      deps.clock,
      input.challengeId,
      "conditional_registration",
    );
    conditional = consumed.ok;
  }
  if (!consumed.ok)
    return failure(consumed.reason === "expired" ? "challenge_expired" : "challenge_not_found");
  // Another account's challenge is no challenge at all for this one.
  if (consumed.challenge.account_id !== account.id) return failure("challenge_not_found");
  const verified = await verifyRegistration(deps.config.passkeys, {
    challenge: consumed.challenge.challenge,
    response: input.credential,
    requireUserPresence: !conditional,
  });
  if (!verified.ok) {
    deps.log.info({ accountId: account.id, detail: verified.detail }, "passkey registration refused");
    return failure("passkey_invalid");
  }
  const credential = verified.credential;
  if (await findPasskeyByCredentialId(deps.db, credential.credentialId)) return failure("method_conflict");
  const typed = cleanPasskeyName(input.name ?? "");
  const name = typed || describeBrowser(meta.userAgent) || (account.locale === "ja" ? "パスキー" : "Passkey");
  const row = await deps.db.transaction().execute(async (trx) => {
    const inserted = await insertPasskey(trx, deps.random, {
      accountId: account.id,
      ...credential,
      name,
      now: deps.clock.now(),
    });
    await recordPasskeyChange(trx, deps, account, "added", inserted, meta);
    return inserted;
  });
  deps.courier.wake();
  return { ok: true, passkey: toPublicPasskey(row) };
}

export async function listAccountPasskeys(
  ctx: Pick<SettingsContext, "deps" | "auth">,
): Promise<PublicPasskey[]> {
  return (await listPasskeys(ctx.deps.db, ctx.auth.account.id)).map(toPublicPasskey);
}

/** A new name for one of the account's passkeys; no guard beyond the session: a name proves nothing. */
export async function renameAccountPasskey(
  ctx: SettingsContext,
  id: string,
  rawName: string,
): Promise<{ ok: true; passkey: PublicPasskey } | FlowFailure> {
  const name = cleanPasskeyName(rawName);
  if (!name) return failure("invalid_request", { field: "name" });
  const { deps, auth, meta } = ctx;
  if (!(await renamePasskey(deps.db, auth.account.id, id, name))) return failure("passkey_not_found");
  await recordAuditEvent(deps.db, deps, {
    type: "passkey.renamed",
    accountId: auth.account.id,
    actor: "account",
    ip: meta.ip,
    userAgent: meta.userAgent,
    detail: { passkeyId: id, name },
  });
  const row = await findPasskey(deps.db, auth.account.id, id);
  if (!row) return failure("passkey_not_found");
  return { ok: true, passkey: toPublicPasskey(row) };
}

/**
 * Removes a passkey (recent sign-in; step-up while two-step is on). An account without a password
 * keeps its last passkey: removing it would leave no way to sign in but a reset.
 */
export async function removeAccountPasskey(
  ctx: SettingsContext,
  id: string,
): Promise<{ ok: true } | FlowFailure> {
  const { deps, auth, meta } = ctx;
  const account = auth.account;
  const row = await findPasskey(deps.db, account.id, id);
  if (!row) return failure("passkey_not_found");
  const refused = guard(ctx);
  if (refused) return refused;
  const removed = await deps.db.transaction().execute(async (trx) => {
    // Two removals at once must not both see "another passkey is left": on PostgreSQL the account
    // row is locked for the count; SQLite runs one writing transaction at a time anyway.
    if (dialectOf(deps.db) === "postgres")
      await trx.selectFrom("account").select("id").where("id", "=", account.id).forUpdate().execute();
    if (!account.password_hash && !(await hasLinkedIdentity(trx, account.id))) {
      const all = await listPasskeys(trx, account.id);
      if (all.length <= 1) return "last" as const;
    }
    if (!(await deletePasskey(trx, account.id, id))) return "gone" as const;
    await recordPasskeyChange(trx, deps, account, "removed", row, meta);
    return "removed" as const;
  });
  if (removed === "last") return failure("passkey_last_sign_in_method");
  if (removed === "gone") return failure("passkey_not_found");
  deps.courier.wake();
  return { ok: true };
}
