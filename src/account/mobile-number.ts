import type { Kysely } from "kysely";
import { recordAuditEvent } from "../audit/audit.ts";
import { queueMessage } from "../courier/outbox.ts";
import { newId } from "../crypto/secrets.ts";
import type { Schema } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import { verifyCode } from "../factors/one-time-code/one-time-code.ts";
import { checkPhoneForChannel } from "../factors/phone/phone-policy.ts";
import { sendPhoneCode } from "../factors/two-step/phone-sends.ts";
import { codeDepsFor, codeRefusal, codeRulesFor } from "../flows/code-step.ts";
import { type FlowFailure, failure, type RequestMeta } from "../flows/flow-result.ts";
import { requireRecentAuthentication } from "../flows/two-step-settings/guards.ts";
import { maskPhone } from "../identity/identifiers.ts";
import type { AuthenticatedSession } from "../session/sessions.ts";
import { maskedPhone } from "../views/phone-number.ts";
import { findLiveChange, markChangeExhausted } from "./email-change.ts";

/**
 * Login & security -> 携帯電話番号: the account's own mobile number, independent of two-step. It
 * signs in and serves 「Eメールアドレスをお忘れの場合」. Adding, changing and removing each take an
 * SMS code (to the new number; for a removal, to the number itself), so only mobiles (060, 070, 080,
 * 090) qualify: a 050 IP phone cannot receive a text. Numbers are recycled in Japan: when another
 * account proves the same number, it leaves the old account, whose owner is mailed.
 */
export type PhoneChangeStarted = {
  id: string;
  kind: "phone" | "phone_removal";
  phone: string;
  expiresAt: string;
};

function securityUrl(deps: Deps): string {
  return new URL("/account/security", deps.config.publicUrl).href;
}

async function sendChangeCode(
  deps: Deps,
  auth: AuthenticatedSession,
  kind: "phone" | "phone_removal",
  phone: string,
  meta: RequestMeta,
): Promise<{ ok: true; phoneChange: PhoneChangeStarted } | FlowFailure> {
  const now = deps.clock.now();
  const rules = codeRulesFor(deps, "sms");
  const id = newId(deps.random, "pch");
  const expiresAt = new Date(now.getTime() + rules.lifetimeSeconds * 1000).toISOString();
  // The change first: its id is the code's flow. A send refused by the budgets leaves a harmless row.
  await deps.db
    .insertInto("profile_change")
    .values({
      id,
      account_id: auth.account.id,
      kind,
      value: phone,
      state: "code_sent",
      taken: 0,
      expires_at: expiresAt,
      created_at: now.toISOString(),
      completed_at: null,
    })
    .execute();
  const sent = await sendPhoneCode(deps, {
    flowId: id,
    purpose: "phone_verification",
    channel: "sms",
    phone,
    accountId: auth.account.id,
    locale: auth.account.locale,
    ip: meta.ip,
  });
  if (!sent.ok) return failure("too_many_attempts", { retryAfterSeconds: sent.retryAfterSeconds });
  deps.courier.wake();
  return {
    ok: true,
    phoneChange: { id, kind, phone: maskPhone(phone), expiresAt: sent.expiresAt.toISOString() },
  };
}

/** Adds or changes the number: an SMS code goes to the new one. The same number again keeps it as the account's own. */
export async function startPhoneChange(
  deps: Deps,
  auth: AuthenticatedSession,
  input: { phone: string },
  meta: RequestMeta,
): Promise<{ ok: true; phoneChange: PhoneChangeStarted } | FlowFailure> {
  const guard = requireRecentAuthentication({ deps, auth, meta });
  if (guard) return guard;
  const check = checkPhoneForChannel(input.phone, "sms", deps.config.phoneCountries);
  if (!check.ok) return failure(check.reason, { field: "phone" });
  return sendChangeCode(deps, auth, "phone", check.e164, meta);
}

/** Removes the number: an SMS code to it first (a stolen session alone cannot take it away). */
export async function startPhoneRemoval(
  deps: Deps,
  auth: AuthenticatedSession,
  meta: RequestMeta,
): Promise<{ ok: true; phoneChange: PhoneChangeStarted } | FlowFailure> {
  const guard = requireRecentAuthentication({ deps, auth, meta });
  if (guard) return guard;
  const phone = auth.account.phone_verified_at ? auth.account.phone : null;
  if (!phone) return failure("profile_change_not_found");
  return sendChangeCode(deps, auth, "phone_removal", phone, meta);
}

/** The SMS code: the number becomes (or stops being) the account's, and the owner is mailed. */
export async function verifyPhoneChange(
  deps: Deps,
  auth: AuthenticatedSession,
  id: string,
  code: string,
  meta: RequestMeta,
): Promise<{ ok: true; phone: string | null } | FlowFailure> {
  const change = await findLiveChange(deps, auth.account.id, id, ["phone", "phone_removal"]);
  if ("ok" in change) return change;
  const verdict = await verifyCode(deps.db, codeDepsFor(deps), id, code, codeRulesFor(deps, "sms"));
  if (!verdict.ok)
    return codeRefusal(deps, verdict, change.expires_at, () => markChangeExhausted(deps.db, id));
  const now = deps.clock.now();
  const nowText = now.toISOString();
  const account = auth.account;
  const done = await deps.db.transaction().execute(async (trx) => {
    const moved = await trx
      .updateTable("profile_change")
      .set({ state: "completed", completed_at: nowText })
      .where("id", "=", id)
      .where("state", "=", "code_sent")
      .executeTakeFirst();
    if (moved.numUpdatedRows === 0n) return false;
    if (change.kind === "phone_removal") {
      await trx
        .updateTable("account")
        .set({ phone: null, phone_verified_at: null, phone_source: null, updated_at: nowText })
        .where("id", "=", account.id)
        .where("phone", "=", change.value)
        .execute();
    } else {
      await takeNumberFromOthers(trx, deps, account.id, change.value, meta);
      await trx
        .updateTable("account")
        .set({
          phone: change.value,
          phone_verified_at: nowText,
          phone_source: "account",
          updated_at: nowText,
        })
        .where("id", "=", account.id)
        .execute();
    }
    const removal = change.kind === "phone_removal";
    await queueMessage(trx, deps, "email", account.email, account.locale, {
      kind: "profile_changed",
      name: account.name,
      change: removal ? "phone_removed" : "phone_added",
      phone: maskedPhone(change.value),
      securityUrl: securityUrl(deps),
    });
    await recordAuditEvent(trx, deps, {
      type: removal ? "account.phone_removed" : "account.phone_added",
      accountId: account.id,
      actor: "account",
      ip: meta.ip,
      userAgent: meta.userAgent,
      detail: removal
        ? { reason: "removed_by_owner" }
        : { replaced: account.phone !== null && account.phone !== change.value },
    });
    return true;
  });
  if (!done) return failure("profile_change_not_found");
  deps.courier.wake();
  return { ok: true, phone: change.kind === "phone_removal" ? null : maskPhone(change.value) };
}

/**
 * Another account holding the number (a previous owner: numbers are recycled) loses it, and its
 * owner is mailed. The proof is fresher: an SMS code to the number just now.
 */
async function takeNumberFromOthers(
  trx: Kysely<Schema>,
  deps: Deps,
  accountId: string,
  phone: string,
  meta: RequestMeta,
): Promise<void> {
  const holders = await trx
    .selectFrom("account")
    .select(["id", "email", "name", "locale", "phone_verified_at"])
    .where("phone", "=", phone)
    .where("id", "!=", accountId)
    .execute();
  const nowText = deps.clock.now().toISOString();
  for (const holder of holders) {
    await trx
      .updateTable("account")
      .set({ phone: null, phone_verified_at: null, phone_source: null, updated_at: nowText })
      .where("id", "=", holder.id)
      .where("phone", "=", phone)
      .execute();
    if (holder.phone_verified_at === null) continue;
    await queueMessage(trx, deps, "email", holder.email, holder.locale, {
      kind: "phone_moved",
      name: holder.name,
      phone: maskedPhone(phone),
      securityUrl: securityUrl(deps),
    });
    await recordAuditEvent(trx, deps, {
      type: "account.phone_removed",
      accountId: holder.id,
      actor: "system",
      ip: meta.ip,
      userAgent: meta.userAgent,
      detail: { reason: "verified_by_another_account" },
    });
  }
}

/**
 * A two-step method's number that became the account's sign-in ID only through SMS two-step
 * set-up (`phone_source = two_step`) stops being one when the method goes. The account's own
 * number (verified in 携帯電話番号) stays.
 */
export async function releaseTwoStepPhone(
  db: Kysely<Schema>,
  accountId: string,
  phones: readonly (string | null)[],
  now: Date,
): Promise<void> {
  const numbers = phones.filter((p): p is string => p !== null);
  if (numbers.length === 0) return;
  await db
    .updateTable("account")
    .set({ phone: null, phone_verified_at: null, phone_source: null, updated_at: now.toISOString() })
    .where("id", "=", accountId)
    .where("phone_source", "=", "two_step")
    .where("phone", "in", numbers)
    .execute();
}
