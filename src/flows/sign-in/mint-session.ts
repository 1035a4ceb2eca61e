import type { Kysely } from "kysely";
import { recordAuditEvent } from "../../audit/audit.ts";
import { queueMessage } from "../../courier/outbox.ts";
import type { Schema } from "../../db/schema.ts";
import type { Deps } from "../../deps.ts";
import { formatDateTime } from "../../i18n/page-text.ts";
import type { AccountRow } from "../../identity/accounts.ts";
import { countryName, isNewSignInContext, signInContextOf } from "../../identity/sign-in-context.ts";
import { createSession, type Factor, type SessionRow, type SessionType } from "../../session/sessions.ts";
import type { RequestMeta } from "../flow-result.ts";

/** What the person chose for the session they are signing in to. */
export type SessionChoice = { sessionType: SessionType; keepSignedIn: boolean };

/**
 * Where every sign-in ends: the flow row reaches `completed` (inserted so here, or moved there
 * from `second_factor_required` by one guarded statement in the caller's transaction) and the
 * session is created in the same transaction. No other code mints a session at sign-in.
 */
export async function mintSignInSession(
  trx: Kysely<Schema>,
  deps: Deps,
  account: AccountRow,
  factors: readonly Factor[],
  input: SessionChoice,
  meta: RequestMeta,
): Promise<{ token: string; session: SessionRow }> {
  const session = await createSession(
    trx,
    { ...deps, limits: deps.config.limits },
    {
      accountId: account.id,
      factors,
      // An API token has no browser to close: it always gets the long lifetimes.
      persistent: input.keepSignedIn || input.sessionType === "token",
      sessionType: input.sessionType,
      ip: meta.ip,
      userAgent: meta.userAgent,
    },
  );
  const context = await signInContextOf(meta.ip, meta.userAgent);
  await recordAuditEvent(trx, deps, {
    type: "sign_in.succeeded",
    accountId: account.id,
    actor: "account",
    ip: meta.ip,
    userAgent: meta.userAgent,
    detail: { factors: factors.join(","), sessionId: session.session.id, ...context },
  });
  if (await isNewSignInContext(trx, account.id, context, deps.clock.now())) {
    await queueMessage(trx, deps, "email", account.email, account.locale, {
      kind: "new_sign_in",
      name: account.name,
      browser:
        context.browser === "unknown" ? (account.locale === "ja" ? "不明" : "unknown") : context.browser,
      place:
        countryName(context.country, account.locale) ??
        (account.locale === "ja" ? "不明（社内ネットワークなど）" : "unknown (a private network)"),
      time: formatDateTime(deps.clock.now().toISOString(), account.locale),
      securityUrl: new URL("/account/security", deps.config.publicUrl).href,
    });
  }
  return session;
}
