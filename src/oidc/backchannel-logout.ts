import type { Kysely } from "kysely";
import { newId } from "../crypto/secrets.ts";
import type { Schema } from "../db/schema.ts";
import type { Clock, Random } from "../deps.ts";

/**
 * OpenID Connect Back-Channel Logout 1.0: a shop that registered a `backchannel_logout_uri` is told,
 * server to server, when the sign-in it holds ends at Mamori, and ends its own session for it.
 *
 * - When a shop receives a code, the sign-in is noted (`oidc_logout_target`): the shop, the ID
 *   token's `sid`, the account and the Mamori session it came from.
 * - A sign-in ends exactly when the shop's tokens from it end (adapter.ts, `tokenIsLive`): its Mamori
 *   session was revoked (sign-out, sign-out everywhere, "this wasn't me", a password reset, turning
 *   two-step off, the Devices page), the account's password changed after it, or the account is no
 *   longer active (suspended, closed). `queueEndedSignInLogouts` finds every such sign-in, whatever
 *   ended it, and queues one logout token per shop in the outbox, in the transaction that deletes
 *   the note: the dispatcher runs it before every round, so a logout is queued within a poll.
 * - The outbox delivers it (logout-delivery.ts): the token is signed at each attempt (a fresh `iat`,
 *   `exp` and `jti`), POSTed, and retried with the outbox's backoff until the shop answers 200 or 204
 *   — at least once: a shop must accept the same logout twice.
 *
 * A session that simply expires sends nothing: the shop's own session lifetime covers it.
 */
export const logoutChannel = "oidc_logout";

type LogoutDeps = { clock: Clock; random: Random };

/** The provider's grant lifetime (provider.ts, 90 days): the longest a shop's tokens can live. */
const forgetAfterMs = 90 * 86_400_000;

export type LogoutNotice = { clientId: string; sub: string; sid: string | undefined };

/** Notes that a shop was given a sign-in from a Mamori session (a code), under the ID token's sid. */
export async function recordLogoutTarget(
  db: Kysely<Schema>,
  target: { clientId: string; sid: string; accountId: string; mamoriSessionId: string; now: Date },
): Promise<void> {
  const values = {
    account_id: target.accountId,
    mamori_session_id: target.mamoriSessionId,
    created_at: target.now.toISOString(),
  };
  await db
    .insertInto("oidc_logout_target")
    .values({ client_id: target.clientId, sid: target.sid, ...values })
    .onConflict((oc) => oc.columns(["client_id", "sid"]).doUpdateSet(values))
    .execute();
}

/** Forgets a shop's sign-in (its logout token was queued by other means). */
export async function forgetLogoutTarget(db: Kysely<Schema>, clientId: string, sid: string): Promise<void> {
  await db
    .deleteFrom("oidc_logout_target")
    .where("client_id", "=", clientId)
    .where("sid", "=", sid)
    .execute();
}

/** Queues a logout token for a shop: an outbox row naming the shop, the account and the sid. */
export async function queueLogoutNotice(
  db: Kysely<Schema>,
  deps: LogoutDeps,
  notice: LogoutNotice,
): Promise<void> {
  const now = deps.clock.now().toISOString();
  await db
    .insertInto("outbox_message")
    .values({
      id: newId(deps.random, "msg"),
      channel: logoutChannel,
      recipient: notice.clientId,
      template: "backchannel_logout",
      locale: "en",
      subject: null,
      text_body: JSON.stringify({ sub: notice.sub, sid: notice.sid ?? null }),
      html_body: null,
      dev_code: null,
      code_expires_at: null,
      state: "pending",
      attempts: 0,
      next_attempt_at: now,
      lease_expires_at: null,
      leased_by: null,
      last_error: null,
      created_at: now,
      sent_at: null,
    })
    .execute();
}

/** The shop, account and sid an outbox row of `logoutChannel` carries, or undefined if it is not one. */
export function logoutNoticeOf(row: { recipient: string; text_body: string }): LogoutNotice | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(row.text_body);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const sub = "sub" in parsed && typeof parsed.sub === "string" ? parsed.sub : undefined;
  const sid = "sid" in parsed && typeof parsed.sid === "string" ? parsed.sid : undefined;
  return sub ? { clientId: row.recipient, sub, sid } : undefined;
}

/**
 * Queues a logout token for every shop sign-in whose Mamori session, password or account standing
 * ended it (the same rules as the shop's tokens), and forgets those sign-ins. Shops without a
 * `backchannel_logout_uri` are forgotten without a token. Returns how many tokens were queued.
 */
export async function queueEndedSignInLogouts(db: Kysely<Schema>, deps: LogoutDeps): Promise<number> {
  // A sign-in from a session that expired long ago is forgotten: after the grant's lifetime no token
  // from it can still work at the shop (offline_access tokens outlive the session, not the grant).
  const forgottenBefore = new Date(deps.clock.now().getTime() - forgetAfterMs).toISOString();
  await db
    .deleteFrom("oidc_logout_target")
    .where("mamori_session_id", "in", (eb) =>
      eb.selectFrom("session").select("id").where("absolute_expires_at", "<", forgottenBefore),
    )
    .execute();
  const ended = await db
    .selectFrom("oidc_logout_target")
    .leftJoin("session", "session.id", "oidc_logout_target.mamori_session_id")
    .leftJoin("account", "account.id", "oidc_logout_target.account_id")
    .leftJoin("oidc_client", "oidc_client.id", "oidc_logout_target.client_id")
    .select([
      "oidc_logout_target.client_id",
      "oidc_logout_target.sid",
      "oidc_logout_target.account_id",
      "oidc_logout_target.created_at",
      "oidc_client.backchannel_logout_uri",
    ])
    .where((eb) =>
      eb.or([
        eb("session.id", "is", null),
        eb("session.revoked_at", "is not", null),
        eb("account.id", "is", null),
        eb("account.status", "!=", "active"),
        eb.and([
          eb("account.password_changed_at", "is not", null),
          eb("account.password_changed_at", ">", eb.ref("oidc_logout_target.created_at")),
        ]),
      ]),
    )
    .limit(100)
    .execute();
  let queued = 0;
  for (const target of ended) {
    const notified = await db.transaction().execute(async (trx) => {
      // Only the process that deletes the note queues the token: two dispatchers never send two.
      const deleted = await trx
        .deleteFrom("oidc_logout_target")
        .where("client_id", "=", target.client_id)
        .where("sid", "=", target.sid)
        .where("created_at", "=", target.created_at)
        .executeTakeFirst();
      if (deleted.numDeletedRows === 0n || !target.backchannel_logout_uri) return false;
      await queueLogoutNotice(trx, deps, {
        clientId: target.client_id,
        sub: target.account_id,
        sid: target.sid,
      });
      return true;
    });
    if (notified) queued++;
  }
  return queued;
}
