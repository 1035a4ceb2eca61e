import type { Kysely } from "kysely";
import { recordAuditEvent } from "../audit/audit.ts";
import { queueMessage } from "../courier/outbox.ts";
import type { Schema } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { type FlowFailure, failure, type RequestMeta } from "../flows/flow-result.ts";
import { requireRecentAuthentication, requireStepUp } from "../flows/two-step-settings/guards.ts";
import { formatDateTime } from "../i18n/page-text.ts";
import type { AuthenticatedSession } from "../session/sessions.ts";
import { revokeAccountSessions } from "../session/sessions.ts";
import { forgetTrustedDevices } from "../session/trusted-devices.ts";

/**
 * アカウントの閉鎖: the owner closes the account from Login & security. It needs a sign-in within
 * the reauthentication window and, while two-step is on, a second factor proven within it too
 * (the same guards as turning two-step off), then an explicit confirmation. In one transaction
 * the account is closed for sign-in, every session ends (OpenID Connect tokens end with their
 * session: decision 0016), every trusted browser is forgotten, every shop's grant and what was
 * issued under it is deleted, the owner is mailed, and the erasure of its personal data is
 * scheduled after the grace period (MAMORI_ACCOUNT_ERASURE_GRACE_SECONDS), during which the
 * operator can reopen it (`mamori accounts reopen`). See docs/flows/account-closing.md.
 */
export type AccessEnded = { sessions: number; trustedBrowsers: number; shopGrants: number };

/** Ends every way into the account at once: sessions, trusted browsers, shops' grants and tokens. */
export async function endAccountAccess(
  db: Kysely<Schema>,
  accountId: string,
  now: Date,
): Promise<AccessEnded> {
  const sessions = await revokeAccountSessions(db, accountId, null, now);
  const trustedBrowsers = await forgetTrustedDevices(db, accountId, null, now);
  const grants = await db
    .selectFrom("oidc_model")
    .select("id")
    .where("model", "=", "Grant")
    .where("account_id", "=", accountId)
    .execute();
  // Grants, codes, access and refresh tokens, provider sessions: every artefact that names the account.
  await db.deleteFrom("oidc_model").where("account_id", "=", accountId).execute();
  return { sessions, trustedBrowsers, shopGrants: grants.length };
}

/** When a closing now is erased: now plus the grace period. */
export function eraseAfterFrom(deps: Pick<Deps, "config">, now: Date): string {
  return new Date(now.getTime() + deps.config.limits.accountErasureGraceSeconds * 1000).toISOString();
}

export type ClosedAccount = { ok: true; closedAt: string; eraseAfter: string; ended: AccessEnded };

export async function closeOwnAccount(
  deps: Deps,
  auth: AuthenticatedSession,
  confirmed: boolean,
  meta: RequestMeta,
): Promise<ClosedAccount | FlowFailure> {
  const ctx = { deps, auth, meta };
  const refused = requireRecentAuthentication(ctx) ?? requireStepUp(ctx);
  if (refused) return refused;
  // Closing is never the side effect of a stray click or a forged form without the confirmation.
  if (!confirmed) return failure("confirmation_required", { field: "confirm" });
  const account = auth.account;
  const now = deps.clock.now();
  const closedAt = now.toISOString();
  const eraseAfter = eraseAfterFrom(deps, now);
  const ended = await deps.db.transaction().execute(async (trx) => {
    const closed = await trx
      .updateTable("account")
      .set({
        status: "closed",
        status_reason: null,
        closed_at: closedAt,
        erase_after: eraseAfter,
        updated_at: closedAt,
      })
      .where("id", "=", account.id)
      .where("status", "=", "active")
      .executeTakeFirst();
    // Closed (or suspended) meanwhile by another request: this one changes nothing more.
    if (closed.numUpdatedRows === 0n) return undefined;
    const access = await endAccountAccess(trx, account.id, now);
    await recordAuditEvent(trx, deps, {
      type: "account.closed",
      accountId: account.id,
      actor: "account",
      ip: meta.ip,
      userAgent: meta.userAgent,
      detail: {
        eraseAfter,
        sessionsRevoked: access.sessions,
        trustedBrowsersForgotten: access.trustedBrowsers,
        shopGrantsRemoved: access.shopGrants,
      },
    });
    await queueMessage(trx, deps, "email", account.email, account.locale, {
      kind: "account_closed_by_owner",
      name: account.name,
      time: formatDateTime(closedAt, account.locale),
      eraseOn: formatDateTime(eraseAfter, account.locale),
    });
    return access;
  });
  if (!ended) return failure("account_closed");
  deps.courier.wake();
  return { ok: true, closedAt, eraseAfter, ended };
}
