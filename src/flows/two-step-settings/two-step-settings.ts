import type { Kysely } from "kysely";
import { releaseTwoStepPhone } from "../../account/mobile-number.ts";
import type { Schema } from "../../db/schema.ts";
import type { Deps } from "../../deps.ts";
import {
  countUnusedRecoveryCodes,
  replaceRecoveryCodes,
} from "../../factors/recovery-code/recovery-codes.ts";
import {
  findMethod,
  listActiveMethods,
  type PublicMethod,
  toPublicMethod,
} from "../../factors/two-step/methods.ts";
import { recordTwoStepChange, toNoticeMethod } from "../../factors/two-step/notify.ts";
import type { AccountRow } from "../../identity/accounts.ts";
import { revokeAccountSessions } from "../../session/sessions.ts";
import { forgetTrustedDevices } from "../../session/trusted-devices.ts";
import { type FlowFailure, failure } from "../flow-result.ts";
import { requireRecentAuthentication, requireStepUp, type SettingsContext } from "./guards.ts";

/** "Advanced security settings": turn two-step on and off, remove a backup, new recovery codes. */
export type TwoStepStatus = {
  enabled: boolean;
  primary: PublicMethod | null;
  backups: PublicMethod[];
  recoveryCodesLeft: number;
};

export async function twoStepStatus(db: Kysely<Schema>, account: AccountRow): Promise<TwoStepStatus> {
  const methods = await listActiveMethods(db, account.id);
  const primary = methods.find((m) => m.role === "primary");
  return {
    enabled: account.two_step_enabled_at !== null,
    primary: primary ? toPublicMethod(primary) : null,
    backups: methods.filter((m) => m.role === "backup").map(toPublicMethod),
    recoveryCodesLeft: account.two_step_enabled_at ? await countUnusedRecoveryCodes(db, account.id) : 0,
  };
}

function recoveryDeps(deps: Deps) {
  return { clock: deps.clock, random: deps.random, secretKey: deps.config.signingKey };
}

/**
 * Turns two-step on once a verified primary exists; answers the 10 recovery codes, shown once.
 * The session that does it has just proven the primary (verifying it), so it counts as stepped up.
 * Every other session of the account that never passed a second factor ends: one signed in with a
 * stolen password before two-step was on must not outlive it (the owner's mail says so).
 */
export async function enableTwoStep(
  ctx: SettingsContext,
): Promise<{ ok: true; twoStep: TwoStepStatus; recoveryCodes: string[] } | FlowFailure> {
  const { deps, auth } = ctx;
  const guard = requireRecentAuthentication(ctx);
  if (guard) return guard;
  const methods = await listActiveMethods(deps.db, auth.account.id);
  if (!methods.some((m) => m.role === "primary")) return failure("enrollment_not_found");
  const now = deps.clock.now();
  const codes = await deps.db.transaction().execute(async (trx) => {
    const moved = await trx
      .updateTable("account")
      .set({ two_step_enabled_at: now.toISOString(), updated_at: now.toISOString() })
      .where("id", "=", auth.account.id)
      .where("two_step_enabled_at", "is", null)
      .executeTakeFirst();
    if (moved.numUpdatedRows === 0n) return undefined;
    const fresh = await replaceRecoveryCodes(trx, recoveryDeps(deps), auth.account.id);
    await revokeAccountSessions(trx, auth.account.id, auth.session.id, now, "single_factor");
    await recordTwoStepChange(trx, deps, auth.account, "enabled", ctx.meta);
    return fresh;
  });
  if (!codes) return failure("method_conflict");
  deps.courier.wake();
  const account = { ...auth.account, two_step_enabled_at: now.toISOString() };
  return { ok: true, twoStep: await twoStepStatus(deps.db, account), recoveryCodes: codes };
}

/**
 * Turns two-step off. The caller has shown a confirmation page and sends `confirm: true`; a recent
 * password and a second factor proven within the same window are needed too (a code from a
 * method, a recovery code, or a passkey that verified the person): a password alone, however
 * recent, never turns the protection off. Every method, recovery code and trusted device goes,
 * every other session ends, and the owner is mailed.
 */
export async function disableTwoStep(
  ctx: SettingsContext,
  confirm: boolean,
): Promise<{ ok: true; twoStep: TwoStepStatus } | FlowFailure> {
  const { deps, auth } = ctx;
  if (!confirm) return failure("confirmation_required", { field: "confirm" });
  if (!auth.account.two_step_enabled_at) return failure("two_step_not_enabled");
  const guard = requireRecentAuthentication(ctx) ?? requireStepUp(ctx);
  if (guard) return guard;
  const now = deps.clock.now();
  await deps.db.transaction().execute(async (trx) => {
    await trx
      .updateTable("account")
      .set({ two_step_enabled_at: null, updated_at: now.toISOString() })
      .where("id", "=", auth.account.id)
      .execute();
    const phones = await trx
      .selectFrom("two_step_method")
      .select("phone")
      .where("account_id", "=", auth.account.id)
      .execute();
    await trx.deleteFrom("two_step_method").where("account_id", "=", auth.account.id).execute();
    // A number that was a sign-in ID only because of SMS two-step goes with it.
    await releaseTwoStepPhone(
      trx,
      auth.account.id,
      phones.map((m) => m.phone),
      now,
    );
    await trx.deleteFrom("recovery_code").where("account_id", "=", auth.account.id).execute();
    await forgetTrustedDevices(trx, auth.account.id, null, now);
    await revokeAccountSessions(trx, auth.account.id, auth.session.id, now);
    await recordTwoStepChange(trx, deps, auth.account, "disabled", ctx.meta);
  });
  deps.courier.wake();
  return { ok: true, twoStep: { enabled: false, primary: null, backups: [], recoveryCodesLeft: 0 } };
}

/** Removes a backup method (the primary is replaced, or two-step turned off, never removed alone). */
export async function removeMethod(
  ctx: SettingsContext,
  methodId: string,
): Promise<{ ok: true } | FlowFailure> {
  const { deps, auth } = ctx;
  const guard = requireRecentAuthentication(ctx) ?? requireStepUp(ctx);
  if (guard) return guard;
  const method = await findMethod(deps.db, auth.account.id, methodId);
  if (!method) return failure("enrollment_not_found");
  if (method.role === "primary" && method.state === "active" && auth.account.two_step_enabled_at) {
    return failure("method_conflict");
  }
  await deps.db.transaction().execute(async (trx) => {
    await trx.deleteFrom("two_step_method").where("id", "=", method.id).execute();
    // A number that was a sign-in ID only because of this SMS method goes with it.
    await releaseTwoStepPhone(trx, auth.account.id, [method.phone], deps.clock.now());
    if (method.state === "active" && auth.account.two_step_enabled_at) {
      await recordTwoStepChange(trx, deps, auth.account, "method_removed", ctx.meta, {
        method: toNoticeMethod(method),
      });
    }
  });
  deps.courier.wake();
  return { ok: true };
}

/** Ten new recovery codes; the old ones stop working. */
export async function regenerateRecoveryCodes(
  ctx: SettingsContext,
): Promise<{ ok: true; recoveryCodes: string[] } | FlowFailure> {
  const { deps, auth } = ctx;
  const guard = requireRecentAuthentication(ctx) ?? requireStepUp(ctx);
  if (guard) return guard;
  if (!auth.account.two_step_enabled_at) return failure("two_step_not_enabled");
  const codes = await deps.db.transaction().execute(async (trx) => {
    const fresh = await replaceRecoveryCodes(trx, recoveryDeps(deps), auth.account.id);
    await recordTwoStepChange(trx, deps, auth.account, "recovery_codes_replaced", ctx.meta);
    return fresh;
  });
  deps.courier.wake();
  return { ok: true, recoveryCodes: codes };
}
