import type { FastifyReply, FastifyRequest } from "fastify";
import type { Config } from "../config/config.ts";
import { newId, newSecret, sha256Hex } from "../crypto/secrets.ts";
import type { Deps } from "../deps.ts";
import type { RequestMeta } from "../flows/flow-result.ts";
import { cookieName } from "../http/cookie-names.ts";
import { staffCookieBase } from "../http/csrf.ts";
import { createDummyHash, verifyPassword } from "../passwords/hashing.ts";
import { reserveAttempt } from "../throttle/attempts.ts";
import { ipThrottleSubject } from "../throttle/ip-subject.ts";
import { clearLockout, recordPasswordFailure, reservePasswordAttempt } from "../throttle/lockout.ts";
import { checkStaffCode, findStaffByEmail, type StaffRow } from "./staff-accounts.ts";

/**
 * Console sessions: always two factors (password and the authenticator app, both on the one
 * form), short (30 minutes idle, 8 hours at most), in a cookie of their own that a customer's
 * session can never stand in for.
 */
export const staffIdleSeconds = 30 * 60;
export const staffAbsoluteSeconds = 8 * 3600;

export function staffCookieName(config: Config): string {
  return cookieName(config, staffCookieBase);
}

export type StaffSession = { staff: StaffRow; sessionId: string };

export type StaffSignInResult =
  | { ok: true; token: string; staff: StaffRow }
  | { ok: false; reason: "invalid" | "too_many_attempts"; retryAfterSeconds?: number };

let dummyHash: Promise<string> | undefined;

/**
 * Email, password and app code, all checked whatever the first one's answer (one answer for any
 * mistake, so the form does not tell which part was right). The attempt is reserved against the
 * address and the email before anything is checked; ten failures pause the email.
 */
export async function signInStaff(
  deps: Deps,
  input: { email: string; password: string; code: string },
  meta: RequestMeta,
): Promise<StaffSignInResult> {
  const now = deps.clock.now();
  const limits = deps.config.limits;
  const place = await reserveAttempt(
    deps.throttle,
    `staff_sign_in:ip:${ipThrottleSubject(meta.ip)}`,
    { limit: limits.signInFailuresPerIp, windowSeconds: limits.signInFailureWindowSeconds },
    now,
  );
  if (!place.allowed)
    return { ok: false, reason: "too_many_attempts", retryAfterSeconds: place.retryAfterSeconds };
  const staff = await findStaffByEmail(deps, input.email);
  const key = `staff_sign_in:email:${staff?.id ?? input.email.trim().toLowerCase()}`;
  const threshold = limits.signInFailuresPerIdentifier;
  const attempt = await reservePasswordAttempt(deps.db, key, threshold, now);
  if (!attempt.allowed) {
    await place.release();
    return { ok: false, reason: "too_many_attempts", retryAfterSeconds: attempt.retryAfterSeconds };
  }
  let passwordMatches = false;
  if (staff?.password_hash && staff.status === "active") {
    passwordMatches = await verifyPassword(staff.password_hash, input.password.normalize("NFC"));
  } else {
    dummyHash ??= createDummyHash({ memoryKib: limits.argon2MemoryKib, iterations: limits.argon2Iterations });
    await verifyPassword(await dummyHash, input.password);
  }
  const codeMatches = staff && passwordMatches ? await checkStaffCode(deps, staff, input.code) : false;
  if (!staff || !passwordMatches || !codeMatches) {
    await recordPasswordFailure(deps.db, key, attempt, threshold, now);
    return { ok: false, reason: "invalid" };
  }
  await place.release();
  await clearLockout(deps.db, key);
  const token = newSecret(deps.random);
  const nowText = now.toISOString();
  await deps.db.transaction().execute(async (trx) => {
    await trx
      .insertInto("staff_session")
      .values({
        id: newId(deps.random, "sts"),
        token_hash: sha256Hex(token),
        staff_id: staff.id,
        created_at: nowText,
        last_seen_at: nowText,
        expires_at: new Date(now.getTime() + staffAbsoluteSeconds * 1000).toISOString(),
        revoked_at: null,
        ip: meta.ip,
        user_agent: meta.userAgent?.slice(0, 300) ?? null,
      })
      .execute();
    await trx
      .updateTable("staff_account")
      .set({ last_sign_in_at: nowText })
      .where("id", "=", staff.id)
      .execute();
  });
  return { ok: true, token, staff };
}

/**
 * The console session of a request, or undefined: unknown, revoked, past its 8 hours, idle over 30
 * minutes, or its person disabled or invited again. Each request moves the idle clock.
 */
export async function loadStaffSession(
  deps: Deps,
  request: FastifyRequest,
): Promise<StaffSession | undefined> {
  const token = request.cookies[staffCookieName(deps.config)];
  if (!token) return undefined;
  const now = deps.clock.now();
  const nowText = now.toISOString();
  const idleSince = new Date(now.getTime() - staffIdleSeconds * 1000).toISOString();
  const row = await deps.db
    .selectFrom("staff_session")
    .innerJoin("staff_account", "staff_account.id", "staff_session.staff_id")
    .select(["staff_session.id as session_id", "staff_account.id as staff_id"])
    .where("staff_session.token_hash", "=", sha256Hex(token))
    .where("staff_session.revoked_at", "is", null)
    .where("staff_session.expires_at", ">", nowText)
    .where("staff_session.last_seen_at", ">", idleSince)
    .where("staff_account.status", "=", "active")
    .executeTakeFirst();
  if (!row) return undefined;
  await deps.db
    .updateTable("staff_session")
    .set({ last_seen_at: nowText })
    .where("id", "=", row.session_id)
    .execute();
  const staff = await deps.db
    .selectFrom("staff_account")
    .selectAll()
    .where("id", "=", row.staff_id)
    .executeTakeFirst();
  return staff ? { staff, sessionId: row.session_id } : undefined;
}

export async function endStaffSession(deps: Deps, sessionId: string): Promise<void> {
  await deps.db
    .updateTable("staff_session")
    .set({ revoked_at: deps.clock.now().toISOString() })
    .where("id", "=", sessionId)
    .execute();
}

export function setStaffCookie(reply: FastifyReply, config: Config, token: string): void {
  reply.setCookie(staffCookieName(config), token, {
    path: "/",
    httpOnly: true,
    // Strict: the console is never reached from another site's link with its session.
    sameSite: "strict",
    secure: config.cookieSecure,
  });
}

export function clearStaffCookie(reply: FastifyReply, config: Config): void {
  reply.clearCookie(staffCookieName(config), { path: "/", secure: config.cookieSecure });
}
