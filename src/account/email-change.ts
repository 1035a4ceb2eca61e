import type { Kysely } from "kysely";
import { recordAuditEvent } from "../audit/audit.ts";
import { queueMessage } from "../courier/outbox.ts";
import { newId, newSecret, sha256Hex } from "../crypto/secrets.ts";
import type { Schema } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { issueCode, verifyCode } from "../factors/one-time-code/one-time-code.ts";
import { codeDepsFor, codeRefusal, codeRulesFor, secondsUntil } from "../flows/code-step.ts";
import { type FlowFailure, failure, type RequestMeta } from "../flows/flow-result.ts";
import { requireRecentAuthentication } from "../flows/two-step-settings/guards.ts";
import { findAccountByEmail } from "../identity/accounts.ts";
import { maskEmail, normalizeEmail } from "../identity/identifiers.ts";
import { type AuthenticatedSession, revokeAccountSessions } from "../session/sessions.ts";
import { forgetTrustedDevices } from "../session/trusted-devices.ts";

/**
 * Login & security -> Eメールアドレス. The new address gets a code; only the code makes it the
 * account's address (and its sign-in ID). A taken address gets the same answer as a free one (no
 * enumeration): the flow runs with a decoy code that never matches, and the owner of the taken
 * address is mailed that someone tried. Once changed, the old address is mailed at once with a
 * "this wasn't me" link that puts it back (once, within `emailChangeUndoSeconds`), signing out
 * every device.
 */
export type EmailChangeStarted = { id: string; email: string; expiresAt: string };

const changesPerHour = 3600;

function securityUrl(deps: Deps): string {
  return new URL("/account/security", deps.config.publicUrl).href;
}

export function undoUrl(deps: Deps, token: string): string {
  return new URL(`/account/email/undo?token=${encodeURIComponent(token)}`, deps.config.publicUrl).href;
}

export async function startEmailChange(
  deps: Deps,
  auth: AuthenticatedSession,
  input: { email: string },
  meta: RequestMeta,
): Promise<{ ok: true; emailChange: EmailChangeStarted } | FlowFailure> {
  const guard = requireRecentAuthentication({ deps, auth, meta });
  if (guard) return guard;
  const email = normalizeEmail(input.email);
  if (!email) return failure("email_invalid", { field: "email" });
  const account = auth.account;
  if (email === account.email) return failure("email_unchanged", { field: "email" });
  const now = deps.clock.now();
  // Each start mails someone (the new address, or a taken address's owner): a few an hour per account.
  const budget = await deps.throttle.hit(
    `email_change:account:${account.id}`,
    { limit: deps.config.limits.codeMaxSends, windowSeconds: changesPerHour },
    now,
  );
  if (!budget.allowed) return failure("too_many_attempts", { retryAfterSeconds: budget.retryAfterSeconds });

  const owner = await findAccountByEmail(deps.db, email);
  const rules = codeRulesFor(deps, "email");
  const id = newId(deps.random, "pch");
  const expiresAt = new Date(now.getTime() + rules.lifetimeSeconds * 1000).toISOString();
  await deps.db.transaction().execute(async (trx) => {
    await trx
      .insertInto("profile_change")
      .values({
        id,
        account_id: account.id,
        kind: "email",
        value: email,
        state: "code_sent",
        taken: owner ? 1 : 0,
        expires_at: expiresAt,
        created_at: now.toISOString(),
        completed_at: null,
      })
      .execute();
    const issued = await issueCode(
      trx,
      codeDepsFor(deps),
      {
        flowId: id,
        purpose: "email_change",
        channel: "email",
        destination: email,
        decoy: owner !== undefined,
      },
      rules,
    );
    // A new flow's first send is always allowed.
    if (!issued.ok) throw new Error("a new email change could not issue its code");
    if (owner) {
      await queueMessage(trx, deps, "email", owner.email, owner.locale, {
        kind: "email_change_taken",
        name: owner.name,
        securityUrl: securityUrl(deps),
      });
    } else {
      await queueMessage(trx, deps, "email", email, account.locale, {
        kind: "email_change_code",
        name: account.name,
        code: issued.code,
        lifetimeMinutes: Math.round(rules.lifetimeSeconds / 60),
      });
    }
    await recordAuditEvent(trx, deps, {
      type: "account.email_change_requested",
      accountId: account.id,
      actor: "account",
      ip: meta.ip,
      userAgent: meta.userAgent,
      detail: { changeId: id },
    });
  });
  deps.courier.wake();
  return { ok: true, emailChange: { id, email, expiresAt } };
}

type LiveChange = { id: string; value: string; expires_at: string; taken: number };

/** The account's own change waiting for its code, or why not. */
export async function findLiveChange(
  deps: Deps,
  accountId: string,
  id: string,
  kinds: readonly ("email" | "phone" | "phone_removal")[],
): Promise<(LiveChange & { kind: "email" | "phone" | "phone_removal" }) | FlowFailure> {
  const row = await deps.db
    .selectFrom("profile_change")
    .select(["id", "kind", "value", "state", "expires_at", "taken"])
    .where("id", "=", id)
    .where("account_id", "=", accountId)
    .executeTakeFirst();
  if (!row || !kinds.includes(row.kind) || row.state === "completed")
    return failure("profile_change_not_found");
  if (row.state === "exhausted")
    return failure("too_many_attempts", { retryAfterSeconds: secondsUntil(deps, row.expires_at) });
  if (row.expires_at <= deps.clock.now().toISOString()) return failure("code_expired", { field: "code" });
  return row;
}

export async function markChangeExhausted(db: Kysely<Schema>, id: string): Promise<void> {
  await db
    .updateTable("profile_change")
    .set({ state: "exhausted" })
    .where("id", "=", id)
    .where("state", "=", "code_sent")
    .execute();
}

/** The code from the new address: the address becomes the account's, the old one is mailed the undo link. */
export async function verifyEmailChange(
  deps: Deps,
  auth: AuthenticatedSession,
  id: string,
  code: string,
  meta: RequestMeta,
): Promise<{ ok: true; email: string } | FlowFailure> {
  const change = await findLiveChange(deps, auth.account.id, id, ["email"]);
  if ("ok" in change) return change;
  const verdict = await verifyCode(deps.db, codeDepsFor(deps), id, code, codeRulesFor(deps, "email"));
  if (!verdict.ok)
    return codeRefusal(deps, verdict, change.expires_at, () => markChangeExhausted(deps.db, id));

  const now = deps.clock.now();
  const token = newSecret(deps.random);
  const undoSeconds = deps.config.limits.emailChangeUndoSeconds;
  const result = await deps.db.transaction().execute(async (trx): Promise<FlowFailure | undefined> => {
    const moved = await trx
      .updateTable("profile_change")
      .set({ state: "completed", completed_at: now.toISOString() })
      .where("id", "=", id)
      .where("state", "=", "code_sent")
      .executeTakeFirst();
    // Two tabs with the same right code: the code is consumed once, and the flow completes once.
    if (moved.numUpdatedRows === 0n) return failure("profile_change_not_found");
    const current = await trx
      .selectFrom("account")
      .select(["email", "name", "locale"])
      .where("id", "=", auth.account.id)
      .executeTakeFirstOrThrow();
    // Registered by someone else after the code was sent: the person proved the mailbox, so saying so leaks nothing.
    const other = await trx
      .selectFrom("account")
      .select("id")
      .where("email", "=", change.value)
      .executeTakeFirst();
    if (other) return failure("email_taken", { field: "email" });
    await trx
      .updateTable("account")
      .set({ email: change.value, email_verified_at: now.toISOString(), updated_at: now.toISOString() })
      .where("id", "=", auth.account.id)
      .execute();
    await trx
      .insertInto("email_change_undo")
      .values({
        id: newId(deps.random, "ecu"),
        account_id: auth.account.id,
        token_hash: sha256Hex(token),
        old_email: current.email,
        new_email: change.value,
        expires_at: new Date(now.getTime() + undoSeconds * 1000).toISOString(),
        used_at: null,
        created_at: now.toISOString(),
      })
      .execute();
    await queueMessage(trx, deps, "email", current.email, current.locale, {
      kind: "email_changed",
      name: current.name,
      newEmail: maskEmail(change.value),
      undoUrl: undoUrl(deps, token),
      days: Math.max(1, Math.round(undoSeconds / 86_400)),
    });
    await recordAuditEvent(trx, deps, {
      type: "account.email_changed",
      accountId: auth.account.id,
      actor: "account",
      ip: meta.ip,
      userAgent: meta.userAgent,
      detail: { changeId: id },
    });
    return undefined;
  });
  if (result) return result;
  deps.courier.wake();
  return { ok: true, email: change.value };
}

/** What the undo page shows before the owner confirms: the address that comes back. */
export async function findUndo(
  deps: Deps,
  token: string,
): Promise<{ ok: true; oldEmail: string; newEmail: string } | FlowFailure> {
  const row = await deps.db
    .selectFrom("email_change_undo")
    .select(["old_email", "new_email", "used_at", "expires_at"])
    .where("token_hash", "=", sha256Hex(token))
    .executeTakeFirst();
  if (!row || row.used_at !== null || row.expires_at <= deps.clock.now().toISOString())
    return failure("undo_link_invalid");
  return { ok: true, oldEmail: row.old_email, newEmail: maskEmail(row.new_email) };
}

/**
 * "This wasn't me": the old address comes back, once and within the period. Every session ends
 * (the one that changed it too) and every trusted browser is forgotten, since whoever changed the
 * address was signed in; every other pending change and undo link of the account ends with it.
 */
export async function undoEmailChange(
  deps: Deps,
  token: string,
  meta: RequestMeta,
): Promise<{ ok: true; email: string } | FlowFailure> {
  const now = deps.clock.now();
  const nowText = now.toISOString();
  const result = await deps.db
    .transaction()
    .execute(async (trx): Promise<{ ok: true; email: string } | FlowFailure> => {
      const row = await trx
        .selectFrom("email_change_undo")
        .select(["id", "account_id", "old_email"])
        .where("token_hash", "=", sha256Hex(token))
        .where("used_at", "is", null)
        .where("expires_at", ">", nowText)
        .executeTakeFirst();
      if (!row) return failure("undo_link_invalid");
      const other = await trx
        .selectFrom("account")
        .select("id")
        .where("email", "=", row.old_email)
        .where("id", "!=", row.account_id)
        .executeTakeFirst();
      if (other) return failure("undo_link_invalid");
      // One guarded statement claims the link: parallel clicks undo once.
      const claimed = await trx
        .updateTable("email_change_undo")
        .set({ used_at: nowText })
        .where("id", "=", row.id)
        .where("used_at", "is", null)
        .executeTakeFirst();
      if (claimed.numUpdatedRows === 0n) return failure("undo_link_invalid");
      await trx
        .updateTable("email_change_undo")
        .set({ used_at: nowText })
        .where("account_id", "=", row.account_id)
        .where("used_at", "is", null)
        .execute();
      await trx
        .updateTable("profile_change")
        .set({ state: "exhausted" })
        .where("account_id", "=", row.account_id)
        .where("state", "=", "code_sent")
        .execute();
      await trx
        .updateTable("account")
        .set({ email: row.old_email, email_verified_at: nowText, updated_at: nowText })
        .where("id", "=", row.account_id)
        .execute();
      const account = await trx
        .selectFrom("account")
        .select(["name", "locale"])
        .where("id", "=", row.account_id)
        .executeTakeFirstOrThrow();
      const revoked = await revokeAccountSessions(trx, row.account_id, null, now);
      await forgetTrustedDevices(trx, row.account_id, null, now);
      await queueMessage(trx, deps, "email", row.old_email, account.locale, {
        kind: "email_change_undone",
        name: account.name,
        resetUrl: new URL("/password-reset", deps.config.publicUrl).href,
      });
      await recordAuditEvent(trx, deps, {
        type: "account.email_change_undone",
        accountId: row.account_id,
        actor: "account",
        ip: meta.ip,
        userAgent: meta.userAgent,
        detail: { sessionsRevoked: revoked },
      });
      return { ok: true, email: row.old_email };
    });
  if (result.ok) deps.courier.wake();
  return result;
}
