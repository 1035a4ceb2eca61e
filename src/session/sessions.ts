import type { CompiledQuery, Kysely, Selectable } from "kysely";
import type { Limits } from "../config/config.ts";
import { constantTimeEqual, newId, newSecret, sha256Hex } from "../crypto/secrets.ts";
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
  | "passkey_verified";

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

function lifetimes(limits: Limits, persistent: boolean): { idleSeconds: number; absoluteSeconds: number } {
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
    second_factor_at: assuranceLevel(input.factors) === 2 ? now.toISOString() : null,
  };
  await db.insertInto("session").values(row).execute();
  return { token: `${id}.${secret}`, session: row };
}

export type AuthenticatedSession = {
  session: SessionRow;
  account: Selectable<AccountTable>;
};

// last_seen_at is written at most once a minute per session: a session check stays a single read.
const touchIntervalMs = 60_000;

/** The session and its account, by session id: the read every authenticated request makes. */
function sessionLookup(db: Kysely<Schema>) {
  return db
    .selectFrom("session")
    .innerJoin("account", "account.id", "session.account_id")
    .selectAll("session")
    .select([
      "account.email",
      "account.email_verified_at",
      "account.name",
      "account.phone",
      "account.phone_verified_at",
      "account.password_hash",
      "account.password_changed_at",
      "account.locale",
      "account.status",
      "account.status_reason",
      "account.created_at as account_created_at",
      "account.updated_at as account_updated_at",
      "account.two_step_enabled_at",
    ])
    .where("session.id", "=", "");
}

type SessionLookupRow = Awaited<ReturnType<ReturnType<typeof sessionLookup>["executeTakeFirstOrThrow"]>>;
type SessionLookup = CompiledQuery<SessionLookupRow>;

// The lookup is compiled once per database handle and run with the id as its only parameter:
// building and compiling the query cost more than the indexed read itself. Still one read of the
// database on every request, so a revocation takes effect at once.
const compiledLookups = new WeakMap<Kysely<Schema>, SessionLookup>();

function compiledSessionLookup(db: Kysely<Schema>): SessionLookup {
  let compiled = compiledLookups.get(db);
  if (!compiled) {
    compiled = sessionLookup(db).compile();
    if (compiled.parameters.length !== 1) throw new Error("the session lookup must take the id alone");
    compiledLookups.set(db, compiled);
  }
  return compiled;
}

/**
 * The session a token names, if it is live: the secret matches (constant time), not revoked, not
 * past its idle or absolute expiry, and its account is active. Read from the database every time,
 * so a revocation anywhere takes effect at once on every process.
 */
export async function authenticateSessionToken(
  db: Kysely<Schema>,
  deps: SessionDeps,
  token: string,
): Promise<AuthenticatedSession | undefined> {
  const dot = token.indexOf(".");
  if (dot <= 0 || token.length > 200) return undefined;
  const id = token.slice(0, dot);
  const secret = token.slice(dot + 1);
  const lookup = compiledSessionLookup(db);
  const { rows } = await db.executeQuery<SessionLookupRow>({ ...lookup, parameters: [id] });
  const row = rows[0];
  if (!row || !constantTimeEqual(sha256Hex(secret), row.secret_hash)) return undefined;
  const now = deps.clock.now();
  const nowText = now.toISOString();
  if (row.revoked_at !== null || row.idle_expires_at <= nowText || row.absolute_expires_at <= nowText)
    return undefined;
  if (row.status !== "active") return undefined;

  const session: SessionRow = {
    id: row.id,
    secret_hash: row.secret_hash,
    account_id: row.account_id,
    aal: row.aal,
    factors: row.factors,
    persistent: row.persistent,
    session_type: row.session_type,
    created_at: row.created_at,
    last_seen_at: row.last_seen_at,
    authenticated_at: row.authenticated_at,
    idle_expires_at: row.idle_expires_at,
    absolute_expires_at: row.absolute_expires_at,
    revoked_at: row.revoked_at,
    ip: row.ip,
    user_agent: row.user_agent,
    second_factor_at: row.second_factor_at,
  };
  if (now.getTime() - Date.parse(row.last_seen_at) >= touchIntervalMs) {
    const { idleSeconds } = lifetimes(deps.limits, row.persistent === 1);
    session.last_seen_at = nowText;
    session.idle_expires_at = new Date(now.getTime() + idleSeconds * 1000).toISOString();
    await db
      .updateTable("session")
      .set({ last_seen_at: session.last_seen_at, idle_expires_at: session.idle_expires_at })
      .where("id", "=", id)
      .execute();
  }
  const account: Selectable<AccountTable> = {
    id: row.account_id,
    email: row.email,
    email_verified_at: row.email_verified_at,
    name: row.name,
    phone: row.phone,
    phone_verified_at: row.phone_verified_at,
    password_hash: row.password_hash,
    password_changed_at: row.password_changed_at,
    locale: row.locale,
    status: row.status,
    status_reason: row.status_reason,
    created_at: row.account_created_at,
    updated_at: row.account_updated_at,
    two_step_enabled_at: row.two_step_enabled_at,
  };
  return { session, account };
}

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
): Promise<number> {
  let query = db
    .updateTable("session")
    .set({ revoked_at: now.toISOString() })
    .where("account_id", "=", accountId)
    .where("revoked_at", "is", null);
  if (keepSessionId) query = query.where("id", "!=", keepSessionId);
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
