import { recordAuditEvent } from "../audit/audit.ts";
import { queueMessage } from "../courier/outbox.ts";
import { dialectOf } from "../db/database.ts";
import type { Deps } from "../deps.ts";
import { listPasskeys } from "../factors/passkey/passkeys.ts";
import { type FlowFailure, failure, type RequestMeta } from "../flows/flow-result.ts";
import { setAccountPassword } from "../identity/accounts.ts";
import { hashNewPassword } from "../passwords/new-password.ts";
import { type AuthenticatedSession, markReauthenticated } from "../session/sessions.ts";

/**
 * Login & security -> ログイン方法: the ways into an account (a password, passkeys, linked
 * providers). A way may be removed only while another is left: an account must never be left
 * with no way in. The count and the removal are one transaction that first locks the account row
 * (PostgreSQL; SQLite runs one writing transaction at a time), as a passkey's removal does, so two
 * removals sent at once cannot both see "another is left".
 */
export type UnlinkResult = { ok: true } | { ok: false; reason: "last_way_in" | "not_found" };

export async function unlinkIdentity(
  deps: Deps,
  auth: AuthenticatedSession,
  identityId: string,
  meta: RequestMeta,
  labelOf: (provider: string) => string,
): Promise<UnlinkResult> {
  const account = auth.account;
  const now = deps.clock.now();
  const result = await deps.db.transaction().execute(async (trx) => {
    if (dialectOf(deps.db) === "postgres")
      await trx.selectFrom("account").select("id").where("id", "=", account.id).forUpdate().execute();
    else
      await trx
        .updateTable("account")
        .set({ updated_at: now.toISOString() })
        .where("id", "=", account.id)
        .execute();
    const identity = await trx
      .selectFrom("federated_identity")
      .selectAll()
      .where("id", "=", identityId)
      .where("account_id", "=", account.id)
      .executeTakeFirst();
    if (!identity) return { ok: false, reason: "not_found" } as const;
    const current = await trx
      .selectFrom("account")
      .select("password_hash")
      .where("id", "=", account.id)
      .executeTakeFirst();
    const identities = await trx
      .selectFrom("federated_identity")
      .select("id")
      .where("account_id", "=", account.id)
      .execute();
    const passkeys = await listPasskeys(trx, account.id);
    const others = identities.length - 1 + passkeys.length + (current?.password_hash ? 1 : 0);
    if (others < 1) return { ok: false, reason: "last_way_in" } as const;
    await trx.deleteFrom("federated_identity").where("id", "=", identity.id).execute();
    await recordAuditEvent(trx, deps, {
      type: "federation.unlinked",
      accountId: account.id,
      actor: "account",
      ip: meta.ip,
      userAgent: meta.userAgent,
      detail: { provider: identity.provider },
    });
    await queueMessage(trx, deps, "email", account.email, account.locale, {
      kind: "federation_unlinked",
      name: account.name,
      provider: labelOf(identity.provider),
      securityUrl: new URL("/account/security/sign-in-methods", deps.config.publicUrl).href,
    });
    return { ok: true } as const;
  });
  if (result.ok) deps.courier.wake();
  return result;
}

/**
 * "Add a password" for an account that has none (made by a provider): the same policy as a reset
 * or a change; the owner is mailed. Only when no password is set: changing one needs the current.
 */
export async function addPassword(
  deps: Deps,
  auth: AuthenticatedSession,
  newPassword: string,
  meta: RequestMeta,
): Promise<{ ok: true } | FlowFailure> {
  const account = auth.account;
  if (account.password_hash) return failure("invalid_request");
  const prepared = await hashNewPassword(deps, account, newPassword, "newPassword");
  if (!prepared.ok) return prepared;
  const now = deps.clock.now();
  const set = await deps.db.transaction().execute(async (trx) => {
    // Guarded: two "add a password" at once set one, never overwrite it.
    const updated = await trx
      .updateTable("account")
      .set({
        password_hash: prepared.passwordHash,
        password_changed_at: now.toISOString(),
        updated_at: now.toISOString(),
      })
      .where("id", "=", account.id)
      .where("password_hash", "is", null)
      .executeTakeFirst();
    if (updated.numUpdatedRows === 0n) return false;
    await setAccountPassword(trx, account.id, prepared.passwordHash, now);
    await markReauthenticated(trx, auth.session.id, now);
    await recordAuditEvent(trx, deps, {
      type: "password.changed",
      accountId: account.id,
      actor: "account",
      ip: meta.ip,
      userAgent: meta.userAgent,
      detail: { added: true },
    });
    await queueMessage(trx, deps, "email", account.email, account.locale, {
      kind: "password_changed",
      name: account.name,
      how: "change",
      resetUrl: new URL("/password-reset", deps.config.publicUrl).href,
    });
    return true;
  });
  if (!set) return failure("invalid_request");
  deps.courier.wake();
  return { ok: true };
}
