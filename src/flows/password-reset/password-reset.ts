import type { Selectable } from "kysely";
import { recordAuditEvent } from "../../audit/audit.ts";
import type { Locale } from "../../config/config.ts";
import { queueMessage } from "../../courier/outbox.ts";
import { newId } from "../../crypto/secrets.ts";
import type { PasswordResetTable } from "../../db/schema.ts";
import type { Deps } from "../../deps.ts";
import { issueCode, verifyCode } from "../../factors/one-time-code/one-time-code.ts";
import { findAccountById, findAccountByIdentifier, setAccountPassword } from "../../identity/accounts.ts";
import { parseIdentifier } from "../../identity/identifiers.ts";
import { hashNewPassword } from "../../passwords/new-password.ts";
import { revokeAccountSessions } from "../../session/sessions.ts";
import { forgetTrustedDevices } from "../../session/trusted-devices.ts";
import { ipThrottleSubject } from "../../throttle/ip-subject.ts";
import { accountLockoutKey, clearLockout } from "../../throttle/lockout.ts";
import { codeDepsFor, codeRefusal, codeRulesFor, resendRefusal, secondsUntil } from "../code-step.ts";
import { type FlowFailure, failure, type RequestMeta } from "../flow-result.ts";

/**
 * "Forgot password": identifier -> 6-digit code by email -> verified -> new password -> completed.
 * The answers, pages and work are the same whether or not the identifier has an account: an
 * unknown (or suspended, or closed) one gets a decoy flow whose code can never be right, and no
 * mail. An emailed code resets the password but is never a second factor: nobody is signed in here.
 * States and arrows: docs/flows/password-reset.md.
 */
type ResetRow = Selectable<PasswordResetTable>;

export type StartedReset = { ok: true; passwordReset: { id: string; expiresAt: string } };

function lifetimeMinutes(deps: Deps): number {
  return Math.ceil(deps.config.limits.emailCodeLifetimeSeconds / 60);
}

/** Step 1. Throttled per identifier and per IP, with the same 429 for accounts that do not exist. */
export async function requestPasswordReset(
  deps: Deps,
  identifierInput: string,
  locale: Locale,
  meta: RequestMeta,
): Promise<StartedReset | FlowFailure> {
  const now = deps.clock.now();
  const limits = deps.config.limits;
  const rule = (limit: number) => ({ limit, windowSeconds: limits.passwordResetWindowSeconds });
  const identifier = parseIdentifier(identifierInput);
  // Counted per account identifier, so "090-1234-5678" and "09012345678" share one limit.
  const canonical = identifier
    ? identifier.kind === "email"
      ? identifier.email
      : identifier.phone
    : identifierInput.trim().normalize("NFKC").toLowerCase();
  const identifierKey = `password_reset:identifier:${canonical}`;
  for (const [key, limit] of [
    [identifierKey, limits.passwordResetRequestsPerIdentifier],
    [`password_reset:ip:${ipThrottleSubject(meta.ip)}`, limits.passwordResetRequestsPerIp],
  ] as const) {
    const verdict = await deps.throttle.hit(key, rule(limit), now);
    if (!verdict.allowed)
      return failure("too_many_attempts", { retryAfterSeconds: verdict.retryAfterSeconds });
  }

  const found = identifier ? await findAccountByIdentifier(deps.db, identifier) : undefined;
  // A suspended or closed account gets no reset, and the asker cannot tell it from a stranger.
  const account = found?.status === "active" ? found : undefined;
  const id = newId(deps.random, "pwr");
  const expiresAt = new Date(now.getTime() + limits.emailCodeLifetimeSeconds * 1000);

  await deps.db.transaction().execute(async (trx) => {
    if (account) {
      // One live reset per account: a new request voids the codes of every older one.
      await trx
        .updateTable("password_reset")
        .set({ state: "voided" })
        .where("account_id", "=", account.id)
        .where("state", "in", ["code_sent", "code_verified"])
        .execute();
    }
    await trx
      .insertInto("password_reset")
      .values({
        id,
        account_id: account?.id ?? null,
        state: "code_sent",
        email: account?.email ?? null,
        locale: account?.locale ?? locale,
        expires_at: expiresAt.toISOString(),
        verified_at: null,
        completed_at: null,
        ip: meta.ip,
        created_at: now.toISOString(),
      })
      .execute();
    const issued = await issueCode(
      trx,
      codeDepsFor(deps),
      {
        flowId: id,
        purpose: "password_reset",
        channel: "email",
        destination: account?.email ?? "",
        decoy: account === undefined,
      },
      codeRulesFor(deps, "email"),
    );
    if (!issued.ok) throw new Error("a new password reset cannot be in cooldown");
    // A suspended or closed account is told why no code comes (an honest mail, never a code); the
    // page answers exactly as for everyone, and the per-identifier limit above bounds the mails.
    if (found && !account && found.status !== "active" && found.erased_at === null) {
      await queueMessage(trx, deps, "email", found.email, found.locale, {
        kind: "password_reset_blocked",
        name: found.name,
        status: found.status,
      });
      return;
    }
    if (!account) return;
    await queueMessage(trx, deps, "email", account.email, account.locale, {
      kind: "password_reset_code",
      name: account.name,
      code: issued.code,
      lifetimeMinutes: lifetimeMinutes(deps),
    });
    await recordAuditEvent(trx, deps, {
      type: "password_reset.requested",
      accountId: account.id,
      actor: "account",
      ip: meta.ip,
      userAgent: meta.userAgent,
    });
  });
  if (found) deps.courier.wake();
  return { ok: true, passwordReset: { id, expiresAt: expiresAt.toISOString() } };
}

/** A flow that can still move: not ended, not exhausted, not expired. */
async function findLiveReset(deps: Deps, id: string): Promise<ResetRow | FlowFailure> {
  const row = await deps.db.selectFrom("password_reset").selectAll().where("id", "=", id).executeTakeFirst();
  if (!row || row.state === "completed" || row.state === "voided") return failure("password_reset_not_found");
  if (row.state === "exhausted") {
    return failure("too_many_attempts", { retryAfterSeconds: secondsUntil(deps, row.expires_at) });
  }
  if (row.expires_at <= deps.clock.now().toISOString()) return failure("code_expired", { field: "code" });
  return row;
}

/** Step 2: the emailed code. Five wrong tries end the flow; the sixth fails even with the right code. */
export async function verifyPasswordResetCode(
  deps: Deps,
  id: string,
  code: string,
): Promise<{ ok: true; passwordReset: { id: string; verified: true; expiresAt: string } } | FlowFailure> {
  const reset = await findLiveReset(deps, id);
  if ("ok" in reset) return reset;
  if (reset.state === "code_verified") {
    return { ok: true, passwordReset: { id, verified: true, expiresAt: reset.expires_at } };
  }
  const verdict = await verifyCode(deps.db, codeDepsFor(deps), id, code, codeRulesFor(deps, "email"));
  if (!verdict.ok) {
    return codeRefusal(deps, verdict, reset.expires_at, async () => {
      await deps.db
        .updateTable("password_reset")
        .set({ state: "exhausted" })
        .where("id", "=", id)
        .where("state", "=", "code_sent")
        .execute();
    });
  }
  const now = deps.clock.now();
  // The person gets a fresh lifetime to choose the new password after proving the mailbox.
  const expiresAt = new Date(
    now.getTime() + deps.config.limits.emailCodeLifetimeSeconds * 1000,
  ).toISOString();
  const moved = await deps.db
    .updateTable("password_reset")
    .set({ state: "code_verified", verified_at: now.toISOString(), expires_at: expiresAt })
    .where("id", "=", id)
    .where("state", "=", "code_sent")
    .executeTakeFirst();
  if (moved.numUpdatedRows === 0n) return failure("password_reset_not_found");
  return { ok: true, passwordReset: { id, verified: true, expiresAt } };
}

/**
 * Step 3: the new password. Only from `code_verified` (a guarded statement), same policy as
 * registration, not one of the recent passwords. Every session of the account ends; the owner is
 * mailed; nobody is signed in, so 2SV (when on) is still asked at the next sign-in.
 */
export async function completePasswordReset(
  deps: Deps,
  id: string,
  newPassword: string,
  meta: RequestMeta,
): Promise<{ ok: true; status: "password_changed" } | FlowFailure> {
  const reset = await findLiveReset(deps, id);
  if ("ok" in reset) return reset;
  if (reset.state !== "code_verified") return failure("code_not_verified", { field: "code" });
  // Only a real flow reaches code_verified (a decoy's code can never be right).
  const account = reset.account_id ? await findAccountById(deps.db, reset.account_id) : undefined;
  if (account?.status !== "active") return failure("password_reset_not_found");

  const prepared = await hashNewPassword(deps, account, newPassword, "newPassword");
  if (!prepared.ok) return prepared;
  const passwordHash = prepared.passwordHash;

  const now = deps.clock.now();
  const completed = await deps.db.transaction().execute(async (trx) => {
    const moved = await trx
      .updateTable("password_reset")
      .set({ state: "completed", completed_at: now.toISOString() })
      .where("id", "=", id)
      .where("state", "=", "code_verified")
      .where("expires_at", ">", now.toISOString())
      .executeTakeFirst();
    if (moved.numUpdatedRows === 0n) return false;
    await setAccountPassword(trx, account.id, passwordHash, now);
    const revoked = await revokeAccountSessions(trx, account.id, null, now);
    // A new password means a new start: browsers trusted under the old one must pass 2SV again.
    await forgetTrustedDevices(trx, account.id, null, now);
    // The reset proved the mailbox: the owner may sign in with the new password at once, whatever
    // pause someone else's guesses at the old one started.
    await clearLockout(trx, accountLockoutKey(account.id));
    await recordAuditEvent(trx, deps, {
      type: "password_reset.completed",
      accountId: account.id,
      actor: "account",
      ip: meta.ip,
      userAgent: meta.userAgent,
      detail: { sessionsRevoked: revoked },
    });
    await queueMessage(trx, deps, "email", account.email, account.locale, {
      kind: "password_changed",
      name: account.name,
      how: "reset",
      resetUrl: new URL("/password-reset", deps.config.publicUrl).href,
    });
    return true;
  });
  if (!completed) return failure("password_reset_not_found");
  deps.courier.wake();
  return { ok: true, status: "password_changed" };
}

/** A new code (the old one dies) after the cooldown, within the cap on sends; decoys alike. */
export async function resendPasswordResetCode(deps: Deps, id: string): Promise<{ ok: true } | FlowFailure> {
  const reset = await findLiveReset(deps, id);
  if ("ok" in reset) return reset;
  if (reset.state !== "code_sent") return { ok: true };
  const account = reset.account_id ? await findAccountById(deps.db, reset.account_id) : undefined;
  const result = await deps.db.transaction().execute(async (trx) => {
    const issued = await issueCode(
      trx,
      codeDepsFor(deps),
      {
        flowId: id,
        purpose: "password_reset",
        channel: "email",
        destination: account?.email ?? "",
        decoy: account === undefined,
      },
      codeRulesFor(deps, "email"),
    );
    if (!issued.ok) return issued;
    await trx
      .updateTable("password_reset")
      .set({ expires_at: issued.expiresAt.toISOString() })
      .where("id", "=", id)
      .where("state", "=", "code_sent")
      .execute();
    if (account) {
      await queueMessage(trx, deps, "email", account.email, account.locale, {
        kind: "password_reset_code",
        name: account.name,
        code: issued.code,
        lifetimeMinutes: lifetimeMinutes(deps),
      });
    }
    return issued;
  });
  if (!result.ok) return resendRefusal(deps, result, reset.expires_at);
  if (account) deps.courier.wake();
  return { ok: true };
}

/** For the code page: where the code went (masked) and when a resend is possible. */
export async function describePasswordReset(
  deps: Deps,
  id: string,
): Promise<{ state: ResetRow["state"]; expiresAt: string; locale: Locale } | undefined> {
  const row = await deps.db
    .selectFrom("password_reset")
    .select(["state", "expires_at", "locale"])
    .where("id", "=", id)
    .executeTakeFirst();
  return row ? { state: row.state, expiresAt: row.expires_at, locale: row.locale } : undefined;
}
