import type { Kysely, Selectable } from "kysely";
import type { Limits } from "../config/config.ts";
import { newId, newSecret, sha256Hex } from "../crypto/secrets.ts";
import type { AccountTable, Schema, SessionTable } from "../db/schema.ts";
import type { Clock, Random } from "../deps.ts";

export type SessionRow = Selectable<SessionTable>;
export type SessionType = "cookie" | "token";
export type Factor =
  | "password"
  | "email_code"
  | "sms_code"
  | "voice_code"
  | "totp"
  | "recovery_code"
  | "trusted_device"
  | "passkey"
  /** A passkey whose authenticator verified the person (PIN, biometrics): two factors in one. */
  | "passkey_verified"
  /** Another OpenID Connect provider (LINE, Google…) vouched for the person (src/federation). */
  | "federated"
  /** That provider said it used multi-factor sign-in (`amr` "mfa"), and the operator accepts it. */
  | "federated_mfa";

export type SessionDeps = { clock: Clock; random: Random; limits: Limits };

export type NewSession = {
  accountId: string;
  factors: readonly Factor[];
  /** "Keep me signed in": idle and absolute lifetimes instead of a 24-hour browser session. */
  persistent: boolean;
  sessionType: SessionType;
  ip: string | null;
  userAgent: string | null;
};

export type PublicSession = {
  id: string;
  createdAt: string;
  expiresAt: string;
  lastSeenAt: string;
  aal: number;
  persistent: boolean;
  ip: string | null;
  userAgent: string | null;
};

export function toPublicSession(row: SessionRow): PublicSession {
  return {
    id: row.id,
    createdAt: row.created_at,
    expiresAt: [row.idle_expires_at, row.absolute_expires_at].sort()[0] as string,
    lastSeenAt: row.last_seen_at,
    aal: row.aal,
    persistent: row.persistent === 1,
    ip: row.ip,
    userAgent: row.user_agent,
  };
}

// Knowledge (password) plus possession (code, app, passkey) is assurance level 2 (NIST SP 800-63B).
// A trusted device was proven by a second factor when it was trusted, and its cookie is possession.
const possessionFactors: ReadonlySet<Factor> = new Set([
  "federated_mfa",
  "trusted_device",
  "sms_code",
  "voice_code",
  "totp",
  "recovery_code",
  "passkey",
  "passkey_verified",
]);

export function assuranceLevel(factors: readonly Factor[]): 1 | 2 {
  // A passkey with user verification is a multi-factor cryptographic authenticator on its own:
  // the device (possession) unlocked by a PIN or biometrics (NIST SP 800-63B-4, 5.1.9; AAL2).
  if (factors.includes("passkey_verified")) return 2;
  return factors.some((f) => possessionFactors.has(f)) && factors.length >= 2 ? 2 : 1;
}

/**
 * Whether these factors include a second factor proven just now: a code, a recovery code, a passkey
 * that verified the person. A trusted browser's cookie makes the sign-in AAL2 for shops, but it was
 * proven days ago and can be carried off with the browser: it never stands in for the fresh second
 * factor that turning two-step off, or changing its methods, asks for.
 */
export function provesSecondFactorNow(factors: readonly Factor[]): boolean {
  // A provider's own MFA (accepted for sign-in by the operator) is not one of the account's factors:
  // changing two-step still asks for one of those.
  return (
    assuranceLevel(factors) === 2 && !factors.includes("trusted_device") && !factors.includes("federated_mfa")
  );
}

export function lifetimes(
  limits: Limits,
  persistent: boolean,
): { idleSeconds: number; absoluteSeconds: number } {
  return persistent
    ? { idleSeconds: limits.sessionIdleSeconds, absoluteSeconds: limits.sessionAbsoluteSeconds }
    : { idleSeconds: limits.browserSessionSeconds, absoluteSeconds: limits.browserSessionSeconds };
}

/**
 * Mints a session: a 256-bit secret, of which only the SHA-256 is stored. The token handed out is
 * `id.secret`; the id finds the row, the secret proves possession. A new token at every sign-in
 * makes session fixation impossible.
 */
export async function createSession(
  db: Kysely<Schema>,
  deps: SessionDeps,
  input: NewSession,
): Promise<{ token: string; session: SessionRow }> {
  const now = deps.clock.now();
  const id = newId(deps.random, "ses");
  const secret = newSecret(deps.random);
  const { idleSeconds, absoluteSeconds } = lifetimes(deps.limits, input.persistent);
  const row: SessionRow = {
    id,
    secret_hash: sha256Hex(secret),
    account_id: input.accountId,
    aal: assuranceLevel(input.factors),
    factors: JSON.stringify(input.factors),
    persistent: input.persistent ? 1 : 0,
    session_type: input.sessionType,
    created_at: now.toISOString(),
    last_seen_at: now.toISOString(),
    authenticated_at: now.toISOString(),
    idle_expires_at: new Date(now.getTime() + idleSeconds * 1000).toISOString(),
    absolute_expires_at: new Date(now.getTime() + absoluteSeconds * 1000).toISOString(),
    revoked_at: null,
    ip: input.ip,
    user_agent: input.userAgent?.slice(0, 300) ?? null,
    second_factor_at: provesSecondFactorNow(input.factors) ? now.toISOString() : null,
  };
  await db.insertInto("session").values(row).execute();
  return { token: `${id}.${secret}`, session: row };
}

export type AuthenticatedSession = {
  session: SessionRow;
  account: Selectable<AccountTable>;
};

/** True when the session proved a password or code within the reauthentication window (10 minutes). */
export function isRecentlyAuthenticated(session: SessionRow, now: Date, windowSeconds: number): boolean {
  return now.getTime() - Date.parse(session.authenticated_at) <= windowSeconds * 1000;
}

export async function markReauthenticated(db: Kysely<Schema>, sessionId: string, now: Date): Promise<void> {
  await db
    .updateTable("session")
    .set({ authenticated_at: now.toISOString() })
    .where("id", "=", sessionId)
    .execute();
}

export async function listLiveSessions(
  db: Kysely<Schema>,
  accountId: string,
  now: Date,
): Promise<SessionRow[]> {
  const nowText = now.toISOString();
  return db
    .selectFrom("session")
    .selectAll()
    .where("account_id", "=", accountId)
    .where("revoked_at", "is", null)
    .where("idle_expires_at", ">", nowText)
    .where("absolute_expires_at", ">", nowText)
    .orderBy("last_seen_at", "desc")
    .execute();
}

/** Revokes one of the account's own sessions; false when it is not theirs or already gone. */
export async function revokeSession(
  db: Kysely<Schema>,
  accountId: string,
  sessionId: string,
  now: Date,
): Promise<boolean> {
  const result = await db
    .updateTable("session")
    .set({ revoked_at: now.toISOString() })
    .where("id", "=", sessionId)
    .where("account_id", "=", accountId)
    .where("revoked_at", "is", null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Revokes every session of the account but `keepSessionId` (all of them when it is null). */
export async function revokeAccountSessions(
  db: Kysely<Schema>,
  accountId: string,
  keepSessionId: string | null,
  now: Date,
  /** Only the sessions that never passed a second factor (assurance level 1). */
  scope: "all" | "single_factor" = "all",
): Promise<number> {
  let query = db
    .updateTable("session")
    .set({ revoked_at: now.toISOString() })
    .where("account_id", "=", accountId)
    .where("revoked_at", "is", null);
  if (keepSessionId) query = query.where("id", "!=", keepSessionId);
  if (scope === "single_factor") query = query.where("aal", "<", 2);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * A new secret for a live session, same id: after a privilege change (password proven again, a
 * second factor, a new password) the old cookie value stops working, so a value planted in the
 * browser before (session fixation) never carries the new privileges.
 */
export async function rotateSessionSecret(
  db: Kysely<Schema>,
  random: Random,
  sessionId: string,
): Promise<string> {
  const secret = newSecret(random);
  await db
    .updateTable("session")
    .set({ secret_hash: sha256Hex(secret) })
    .where("id", "=", sessionId)
    .execute();
  return `${sessionId}.${secret}`;
}
