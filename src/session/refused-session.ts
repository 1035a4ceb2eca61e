import type { Kysely } from "kysely";
import { constantTimeEqual, sha256Hex } from "../crypto/secrets.ts";
import type { LocaleColumn, Schema } from "../db/schema.ts";
import type { Clock } from "../deps.ts";

/**
 * Why a session token that no longer works was refused, when the reason is its account: the
 * account was suspended or closed (which revoked the session). Only the holder of the session's
 * secret learns it — the person who signed in — so it tells a stranger nothing; an erased account,
 * a session past its absolute lifetime or a wrong secret answer nothing, as a sign-in page would.
 */
export type RefusedSession = { status: "suspended" | "closed"; locale: LocaleColumn };

export async function refusedSessionOf(
  db: Kysely<Schema>,
  clock: Clock,
  token: string | undefined,
): Promise<RefusedSession | undefined> {
  if (!token || token.length > 200) return undefined;
  const dot = token.indexOf(".");
  if (dot <= 0) return undefined;
  const row = await db
    .selectFrom("session")
    .innerJoin("account", "account.id", "session.account_id")
    .select([
      "session.secret_hash",
      "session.absolute_expires_at",
      "account.status",
      "account.locale",
      "account.erased_at",
    ])
    .where("session.id", "=", token.slice(0, dot))
    .executeTakeFirst();
  if (!row || row.status === "active" || row.erased_at !== null) return undefined;
  if (row.absolute_expires_at <= clock.now().toISOString()) return undefined;
  if (!constantTimeEqual(sha256Hex(token.slice(dot + 1)), row.secret_hash)) return undefined;
  return { status: row.status, locale: row.locale };
}
