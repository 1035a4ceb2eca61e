import { randomBytes } from "node:crypto";
import { releaseTwoStepPhone } from "../../account/mobile-number.ts";
import { dialectOf } from "../../db/database.ts";
import type { TwoStepMethodKind } from "../../db/schema.ts";
import { checkPhoneForChannel } from "../../factors/phone/phone-policy.ts";
import { groupedKey, otpauthUri, toBase32, totpSecretBytes } from "../../factors/totp/totp.ts";
import {
  findMethod,
  insertPendingMethod,
  listActiveMethods,
  type MethodDeps,
  type MethodRow,
  type PublicMethod,
  readTotpSecret,
  toPublicMethod,
} from "../../factors/two-step/methods.ts";
import { recordTwoStepChange, toNoticeMethod } from "../../factors/two-step/notify.ts";
import { sendPhoneCode } from "../../factors/two-step/phone-sends.ts";
import { checkMethodCode } from "../../factors/two-step/second-factor-check.ts";
import { type FlowFailure, failure } from "../flow-result.ts";
import { requireRecentAuthentication, requireStepUp, type SettingsContext } from "./guards.ts";

/**
 * Adding a two-step method: start (a phone gets a code, an app gets a QR code and its key), then
 * verify with a code from it. A primary is set up while two-step is off (then turned on), or
 * replaces the primary; a backup needs two-step on, a step-up code, and must differ from every
 * method already there (`method_conflict`).
 */
export type EnrollmentStart = {
  role: "primary" | "backup";
  method: TwoStepMethodKind;
  phone?: string | undefined;
};

export type Enrollment = {
  id: string;
  method: TwoStepMethodKind;
  destination?: string;
  otpauthUri?: string;
  qrSvg?: string;
  secret?: string;
  expiresAt?: string;
};

// An app set-up waits this long for its first code (time to install an app and scan).
const totpSetupSeconds = 30 * 60;

export function methodDeps(ctx: SettingsContext): MethodDeps {
  return { clock: ctx.deps.clock, random: ctx.deps.random, secretKeys: ctx.deps.config.secretKeys };
}

function conflicts(existing: readonly MethodRow[], method: TwoStepMethodKind, phone: string | null): boolean {
  // One authenticator app per account; a phone number once, whether by SMS or by voice.
  return existing.some((m) =>
    method === "totp" ? m.method === "totp" : m.phone !== null && m.phone === phone,
  );
}

/**
 * `fresh` starts an app's set-up over with a new key (the pages' 「最初からやり直す」); without it a
 * pending app set-up of the same role is answered again (see startTotpEnrollment).
 */
export async function startEnrollment(
  ctx: SettingsContext,
  input: EnrollmentStart,
  options: { fresh?: boolean } = {},
): Promise<{ ok: true; enrollment: Enrollment } | FlowFailure> {
  const guard = requireRecentAuthentication(ctx) ?? requireStepUp(ctx);
  if (guard) return guard;
  if (input.role === "backup" && ctx.auth.account.two_step_enabled_at === null) {
    return failure("two_step_not_enabled");
  }
  if (input.method === "totp") {
    const conflict = await conflictWithExisting(ctx, input.role, "totp", null);
    return conflict ?? startTotpEnrollment(ctx, input.role, options.fresh === true);
  }
  if (!input.phone) return failure("phone_invalid", { field: "phone" });
  const check = checkPhoneForChannel(input.phone, input.method, ctx.deps.config.phoneCountries);
  if (!check.ok) return failure(check.reason, { field: "phone" });
  const conflict = await conflictWithExisting(ctx, input.role, input.method, check.e164);
  return conflict ?? startPhoneEnrollment(ctx, input.role, input.method, check.e164);
}

/**
 * `method_conflict` when the new method repeats one already there: a new primary is compared with
 * the backups (it replaces the old primary, but not by itself), a backup with every method.
 */
async function conflictWithExisting(
  ctx: SettingsContext,
  role: "primary" | "backup",
  method: TwoStepMethodKind,
  phone: string | null,
): Promise<FlowFailure | undefined> {
  const active = await listActiveMethods(ctx.deps.db, ctx.auth.account.id);
  const others = role === "primary" ? active.filter((m) => m.role === "backup") : active;
  const samePrimary =
    role === "primary" &&
    active.some((m) => m.role === "primary" && m.method === method && m.phone === phone);
  if (!conflicts(others, method, phone) && !samePrimary) return undefined;
  return failure("method_conflict", { field: method === "totp" ? "method" : "phone" });
}

/**
 * An app's set-up keeps one key until it is finished, expires or is started over: asked again
 * (「もう一度表示」, a reload, the chooser sent twice, the API's POST repeated), it answers with the
 * pending set-up and its key, so the entry the customer already scanned keeps working. Only
 * `fresh` (the explicit 「最初からやり直す」) or an expired set-up draws a new key.
 */
async function startTotpEnrollment(
  ctx: SettingsContext,
  role: "primary" | "backup",
  fresh: boolean,
): Promise<{ ok: true; enrollment: Enrollment }> {
  const accountId = ctx.auth.account.id;
  const now = ctx.deps.clock.now();
  const started = await ctx.deps.db.transaction().execute(async (trx) => {
    // Many starts at once must not each draw a key and replace the others' (the page a customer
    // scanned would then hold a dead key): on PostgreSQL the account row is locked while the pending
    // set-up is looked for; SQLite runs one writing transaction at a time anyway.
    if (dialectOf(ctx.deps.db) === "postgres")
      await trx.selectFrom("account").select("id").where("id", "=", accountId).forUpdate().execute();
    if (!fresh) {
      const pending = await trx
        .selectFrom("two_step_method")
        .selectAll()
        .where("account_id", "=", accountId)
        .where("role", "=", role)
        .where("method", "=", "totp")
        .where("state", "=", "pending")
        .executeTakeFirst();
      const secret = pending && isLive(pending, now) ? readTotpSecret(methodDeps(ctx), pending) : undefined;
      if (pending && secret) return { row: pending, secret };
    }
    const secret = randomBytes(totpSecretBytes);
    const row = await insertPendingMethod(trx, methodDeps(ctx), accountId, { role, method: "totp", secret });
    return { row, secret };
  });
  return { ok: true, enrollment: await appEnrollment(ctx, started.row, started.secret) };
}

/** Whether an app's pending set-up is still waiting for its first code. */
function isLive(row: MethodRow, now: Date): boolean {
  return now.getTime() - Date.parse(row.created_at) <= totpSetupSeconds * 1000;
}

/** What an app's set-up shows: the otpauth:// URI, its QR code (SVG) and the key in groups of four. */
async function appEnrollment(ctx: SettingsContext, row: MethodRow, secret: Buffer): Promise<Enrollment> {
  // The authenticator app lists the entry under the shop's name, in the account's language.
  const uri = otpauthUri(
    ctx.deps.config.brands[ctx.auth.account.locale].name,
    ctx.auth.account.email,
    secret,
  );
  // Drawn here, as SVG: the key never goes to a third-party QR service.
  // qrcode is loaded when someone first sets up an app, not at start.
  const { default: QRCode } = await import("qrcode");
  const qrSvg = await QRCode.toString(uri, { type: "svg", errorCorrectionLevel: "M", margin: 2 });
  return { id: row.id, method: "totp", otpauthUri: uri, qrSvg, secret: groupedKey(toBase32(secret)) };
}

/**
 * An app's set-up shown again (「もう一度表示」, after a wrong code): the same key as when it was
 * started, never a new one. Guarded as starting one is, since it shows the key.
 */
export async function showAppEnrollment(
  ctx: SettingsContext,
  enrollmentId: string,
): Promise<{ ok: true; enrollment: Enrollment } | FlowFailure> {
  const guard = requireRecentAuthentication(ctx) ?? requireStepUp(ctx);
  if (guard) return guard;
  const pending = await findPending(ctx, enrollmentId);
  if ("ok" in pending) return pending;
  const secret = readTotpSecret(methodDeps(ctx), pending);
  if (pending.method !== "totp" || !secret) return failure("enrollment_not_found");
  return { ok: true, enrollment: await appEnrollment(ctx, pending, secret) };
}

async function startPhoneEnrollment(
  ctx: SettingsContext,
  role: "primary" | "backup",
  method: "sms" | "voice",
  phone: string,
): Promise<{ ok: true; enrollment: Enrollment } | FlowFailure> {
  const { deps, auth } = ctx;
  // The pending method first: its id is the code's flow. Should the send be refused (budgets),
  // the pending row is harmless and the next set-up replaces it.
  const row = await insertPendingMethod(deps.db, methodDeps(ctx), auth.account.id, { role, method, phone });
  const result = await sendPhoneCode(deps, {
    flowId: row.id,
    purpose: "phone_verification",
    channel: method,
    phone,
    accountId: auth.account.id,
    locale: auth.account.locale,
    ip: ctx.meta.ip,
  });
  const sent = { row, result };
  if (!sent.result.ok)
    return failure("too_many_attempts", { retryAfterSeconds: sent.result.retryAfterSeconds });
  deps.courier.wake();
  return {
    ok: true,
    enrollment: {
      id: sent.row.id,
      method,
      destination: toPublicMethod(sent.row).destination ?? "",
      expiresAt: sent.result.expiresAt.toISOString(),
    },
  };
}

/** Sends a new code to a phone being set up (cooldown and budgets apply). */
export async function resendEnrollmentCode(
  ctx: SettingsContext,
  enrollmentId: string,
): Promise<{ ok: true } | FlowFailure> {
  const pending = await findPending(ctx, enrollmentId);
  if ("ok" in pending) return pending;
  if (pending.method === "totp" || !pending.phone) return failure("enrollment_not_found");
  const phone = pending.phone;
  const channel = pending.method;
  const result = await sendPhoneCode(ctx.deps, {
    flowId: pending.id,
    purpose: "phone_verification",
    channel,
    phone,
    accountId: ctx.auth.account.id,
    locale: ctx.auth.account.locale,
    ip: ctx.meta.ip,
  });
  if (!result.ok) return failure("too_many_attempts", { retryAfterSeconds: result.retryAfterSeconds });
  ctx.deps.courier.wake();
  return { ok: true };
}

async function findPending(ctx: SettingsContext, enrollmentId: string): Promise<MethodRow | FlowFailure> {
  const row = await findMethod(ctx.deps.db, ctx.auth.account.id, enrollmentId);
  if (row?.state !== "pending") return failure("enrollment_not_found");
  if (row.method === "totp" && !isLive(row, ctx.deps.clock.now()))
    return failure("code_expired", { field: "code" });
  return row;
}

/**
 * The code that proves the new method works. Phone codes follow the code rules (10 minutes, 5
 * tries); app codes are limited to 5 wrong tries per set-up. On success the method is active, a
 * replaced primary is gone, and — once two-step is on — the owner is mailed.
 */
export async function verifyEnrollment(
  ctx: SettingsContext,
  enrollmentId: string,
  code: string,
): Promise<{ ok: true; method: PublicMethod } | FlowFailure> {
  const { deps, auth } = ctx;
  const guard = requireRecentAuthentication(ctx) ?? requireStepUp(ctx);
  if (guard) return guard;
  const pending = await findPending(ctx, enrollmentId);
  if ("ok" in pending) return pending;
  const now = deps.clock.now();

  if (pending.method === "totp") {
    // An app's set-up has no code of Mamori's to count tries on: 5 wrong codes per set-up, each
    // try reserved before the check.
    const tries = await deps.throttle.hit(
      `enroll:${pending.id}`,
      { limit: deps.config.limits.codeMaxAttempts + 1, windowSeconds: totpSetupSeconds },
      now,
    );
    if (!tries.allowed) return failure("too_many_attempts", { retryAfterSeconds: tries.retryAfterSeconds });
  }
  // The new method's own code, checked as every method's code is (its phone code's flow is the set-up).
  const checked = await checkMethodCode(deps, pending, code, pending.id);
  if (!checked.ok) {
    if (checked.reason === "incorrect" && checked.attemptsLeft !== 0) {
      return failure("invalid_code", {
        field: "code",
        ...(checked.attemptsLeft !== null ? { extra: { attemptsLeft: checked.attemptsLeft } } : {}),
      });
    }
    if (checked.reason === "expired") return failure("code_expired", { field: "code" });
    return failure("too_many_attempts", { retryAfterSeconds: deps.config.limits.codeResendCooldownSeconds });
  }

  const activated = await deps.db.transaction().execute(async (trx) => {
    const moved = await trx
      .updateTable("two_step_method")
      .set({ state: "active", verified_at: now.toISOString(), last_used_at: now.toISOString() })
      .where("id", "=", pending.id)
      .where("state", "=", "pending")
      .executeTakeFirst();
    if (moved.numUpdatedRows === 0n) return false;
    if (pending.role === "primary") {
      const replaced = await trx
        .selectFrom("two_step_method")
        .select("phone")
        .where("account_id", "=", auth.account.id)
        .where("role", "=", "primary")
        .where("state", "=", "active")
        .where("id", "!=", pending.id)
        .execute();
      // The replaced primary's number stops being a sign-in ID if only it made it one.
      await releaseTwoStepPhone(
        trx,
        auth.account.id,
        replaced.map((m) => m.phone),
        now,
      );
      await trx
        .deleteFrom("two_step_method")
        .where("account_id", "=", auth.account.id)
        .where("role", "=", "primary")
        .where("state", "=", "active")
        .where("id", "!=", pending.id)
        .execute();
    }
    if (pending.phone && pending.method === "sms") {
      // The first verified mobile also becomes a sign-in identifier, unless another account has it;
      // marked as two-step's (`phone_source`), it stops being one when its method goes.
      const taken = await trx
        .selectFrom("account")
        .select("id")
        .where("phone", "=", pending.phone)
        .executeTakeFirst();
      if (!taken) {
        await trx
          .updateTable("account")
          .set({
            phone: pending.phone,
            phone_verified_at: now.toISOString(),
            phone_source: "two_step",
            updated_at: now.toISOString(),
          })
          .where("id", "=", auth.account.id)
          .where("phone", "is", null)
          .execute();
      }
    }
    // A code from a method just proven is a fresh second factor for this session.
    await trx
      .updateTable("session")
      .set({ second_factor_at: now.toISOString() })
      .where("id", "=", auth.session.id)
      .execute();
    if (auth.account.two_step_enabled_at) {
      await recordTwoStepChange(trx, deps, auth.account, "method_added", ctx.meta, {
        method: toNoticeMethod(pending),
      });
    }
    return true;
  });
  if (!activated) return failure("enrollment_not_found");
  deps.courier.wake();
  return { ok: true, method: toPublicMethod(pending) };
}
