import type { Kysely } from "kysely";
import { recordAuditEvent } from "../../audit/audit.ts";
import type { Schema } from "../../db/schema.ts";
import type { Deps } from "../../deps.ts";
import type { AccountRow } from "../../identity/accounts.ts";
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
  await recordAuditEvent(trx, deps, {
    type: "sign_in.succeeded",
    accountId: account.id,
    actor: "account",
    ip: meta.ip,
    userAgent: meta.userAgent,
    detail: { factors: factors.join(","), sessionId: session.session.id },
  });
  return session;
}
