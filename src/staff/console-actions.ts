import { recordAuditEvent } from "../audit/audit.ts";
import { queueMessage } from "../courier/outbox.ts";
import { retryFailedMessages } from "../courier/outbox-admin.ts";
import { newOrderedId } from "../crypto/secrets.ts";
import type { StaffRole } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import type { RequestMeta } from "../flows/flow-result.ts";
import { findAccountById } from "../identity/accounts.ts";
import { changeAccountStatus, resetTwoStepAsOperator } from "../operations/account-admin.ts";
import { setMaintenanceMode } from "../operations/maintenance.ts";
import { revokeAccountSessions } from "../session/sessions.ts";
import { forgetTrustedDevices } from "../session/trusted-devices.ts";
import { performServiceAction, type ServiceAction } from "./console-service-actions.ts";
import type { StaffRow } from "./staff-accounts.ts";

/**
 * What staff can do from the console, each with a reason that goes to three places: the staff
 * member's own trail (`staff_action`), the customer's audit (their activity page shows it) and,
 * where it concerns them, a mail to the customer. Which role may do what is decided here, once,
 * not by which buttons a page shows.
 */
export type ConsoleAction =
  | "sign_out_everywhere"
  | "suspend"
  | "reopen"
  | "close"
  | "retry_mail"
  | "reset_two_step"
  | "reset_two_step_now"
  | "maintenance_on"
  | "maintenance_off"
  | ServiceAction;

/** Support answers customers; admins also close and reopen accounts and run the service. */
const allowedRoles: Record<ConsoleAction, readonly StaffRole[]> = {
  sign_out_everywhere: ["support", "admin"],
  suspend: ["support", "admin"],
  retry_mail: ["support", "admin"],
  reset_two_step: ["support", "admin"],
  // Without the waiting period the owner has no time to cancel: only an admin takes that on.
  reset_two_step_now: ["admin"],
  reopen: ["admin"],
  close: ["admin"],
  maintenance_on: ["admin"],
  maintenance_off: ["admin"],
  webhook_add: ["admin"],
  webhook_remove: ["admin"],
  webhook_rotate_secret: ["admin"],
  webhook_retry: ["admin"],
  signing_keys_rotate: ["admin"],
};

export function mayDo(staff: StaffRow, action: ConsoleAction): boolean {
  return allowedRoles[action].includes(staff.role);
}

export const maxReasonLength = 500;

export type ActionFailure = {
  ok: false;
  reason:
    | "forbidden"
    | "reason_required"
    | "reason_too_long"
    | "not_found"
    | "already"
    | "not_failed"
    | "erased"
    | "closed"
    | "two_step_off"
    | "already_pending"
    | "invalid"
    | "changed";
  /** For "invalid": what was wrong with the input (a webhook URL, say). */
  problem?: string;
};
/** `secret` is a new secret to show once on the result page; the staff trail keeps only `summary`. */
export type ActionResult = { ok: true; summary: string; secret?: string } | ActionFailure;

export type ActionInput = {
  action: ConsoleAction;
  reason: string;
  /** The customer, for account actions. */
  accountId?: string;
  /** The message, for `retry_mail`. */
  messageId?: string;
  /** The webhook endpoint, delivery or new endpoint, for the webhook actions. */
  endpointId?: string;
  deliveryId?: string;
  endpoint?: { url: string; events: readonly string[]; personalData: boolean };
};

async function recordStaffAction(
  deps: Deps,
  staff: StaffRow,
  input: ActionInput & { reason: string },
  meta: RequestMeta,
  detail: Record<string, string | number | null> = {},
): Promise<void> {
  const now = deps.clock.now();
  await deps.db
    .insertInto("staff_action")
    .values({
      id: newOrderedId(deps.random, "sta", now),
      staff_id: staff.id,
      action: input.action,
      account_id: input.accountId ?? null,
      reason: input.reason,
      ip: meta.ip,
      user_agent: meta.userAgent?.slice(0, 300) ?? null,
      detail: JSON.stringify(detail),
      created_at: now.toISOString(),
    })
    .execute();
}

/** Runs one console action for one member of staff: role first, then the reason, then the change. */
export async function runConsoleAction(
  deps: Deps,
  staff: StaffRow,
  input: ActionInput,
  meta: RequestMeta,
): Promise<ActionResult> {
  if (!mayDo(staff, input.action)) return { ok: false, reason: "forbidden" };
  const reason = input.reason.trim();
  if (reason === "") return { ok: false, reason: "reason_required" };
  if (reason.length > maxReasonLength) return { ok: false, reason: "reason_too_long" };
  const withReason = { ...input, reason };
  const result = await perform(deps, staff, withReason, meta);
  if (result.ok) await recordStaffAction(deps, staff, withReason, meta, { summary: result.summary });
  return result;
}

async function perform(
  deps: Deps,
  staff: StaffRow,
  input: ActionInput & { reason: string },
  meta: RequestMeta,
): Promise<ActionResult> {
  const who = `${staff.name} (${staff.id})`;
  switch (input.action) {
    case "sign_out_everywhere":
      return signOutEverywhere(deps, staff, input, meta);
    case "suspend":
    case "reopen":
    case "close": {
      if (!input.accountId) return { ok: false, reason: "not_found" };
      const status =
        input.action === "suspend" ? "suspended" : input.action === "close" ? "closed" : "active";
      const changed = await changeAccountStatus(deps, input.accountId, status, `${input.reason} — ${who}`);
      if (!changed.ok) {
        const reason =
          changed.reason === "already" || changed.reason === "erased" || changed.reason === "closed"
            ? changed.reason
            : "not_found";
        return { ok: false, reason };
      }
      return { ok: true, summary: `${status}; ${changed.sessionsRevoked} sessions ended` };
    }
    case "retry_mail": {
      if (!input.messageId) return { ok: false, reason: "not_found" };
      const message = await deps.db
        .selectFrom("outbox_message")
        .select(["id", "recipient"])
        .where("id", "=", input.messageId)
        .executeTakeFirst();
      const account = input.accountId ? await findAccountById(deps.db, input.accountId) : undefined;
      // Support resends only the customer's own mail, from that customer's page.
      if (!message || !account || message.recipient !== account.email)
        return { ok: false, reason: "not_found" };
      const [outcome] = await retryFailedMessages(deps, [message.id]);
      if (outcome?.outcome === "requeued") return { ok: true, summary: "requeued" };
      if (outcome?.outcome === "expired") return { ok: true, summary: "expired: its code no longer works" };
      return { ok: false, reason: "not_failed" };
    }
    case "reset_two_step":
    case "reset_two_step_now": {
      const account = input.accountId ? await findAccountById(deps.db, input.accountId) : undefined;
      if (!account) return { ok: false, reason: "not_found" };
      if (account.erased_at !== null) return { ok: false, reason: "erased" };
      const now = input.action === "reset_two_step_now";
      // The owner is told on every channel (and, when it waits, can cancel); the audit names the staff.
      const reset = await resetTwoStepAsOperator(deps, account.id, input.reason, now);
      if (!reset.ok) return { ok: false, reason: reset.reason };
      return {
        ok: true,
        // The recovery's id ties this trail row to the customer's audit events of the recovery.
        summary: reset.completesAt
          ? `two-step recovery ${reset.recoveryId} waiting until ${reset.completesAt}`
          : `two-step off (recovery ${reset.recoveryId})`,
      };
    }
    case "webhook_add":
    case "webhook_remove":
    case "webhook_rotate_secret":
    case "webhook_retry":
    case "signing_keys_rotate":
      return performServiceAction(deps, staff, { ...input, action: input.action }, meta);
    case "maintenance_on":
    case "maintenance_off": {
      const on = input.action === "maintenance_on";
      await setMaintenanceMode(
        deps.db,
        on ? { on: true, message: "", retryAfterSeconds: 300 } : { on: false },
        deps.clock.now(),
      );
      await recordAuditEvent(deps.db, deps, {
        type: on ? "maintenance.on" : "maintenance.off",
        accountId: null,
        actor: "operator",
        ip: meta.ip,
        userAgent: meta.userAgent,
        detail: { staffId: staff.id, reason: input.reason },
      });
      return { ok: true, summary: on ? "maintenance on" : "maintenance off" };
    }
  }
}

/** Every session, shop token and trusted browser of the customer ends; the owner is told why. */
async function signOutEverywhere(
  deps: Deps,
  staff: StaffRow,
  input: ActionInput & { reason: string },
  meta: RequestMeta,
): Promise<ActionResult> {
  const account = input.accountId ? await findAccountById(deps.db, input.accountId) : undefined;
  if (!account) return { ok: false, reason: "not_found" };
  // Nobody is left to sign out or to tell: a reason and a mail would only bring personal data back.
  if (account.erased_at !== null) return { ok: false, reason: "erased" };
  const now = deps.clock.now();
  const revoked = await deps.db.transaction().execute(async (trx) => {
    const count = await revokeAccountSessions(trx, account.id, null, now);
    await forgetTrustedDevices(trx, account.id, null, now);
    await recordAuditEvent(trx, deps, {
      type: "session.revoked_by_support",
      accountId: account.id,
      actor: "operator",
      ip: meta.ip,
      userAgent: meta.userAgent,
      detail: { staffId: staff.id, reason: input.reason, sessionsRevoked: count },
    });
    await queueMessage(trx, deps, "email", account.email, account.locale, {
      kind: "signed_out_by_support",
      name: account.name,
      reason: input.reason,
      resetUrl: new URL("/password-reset", deps.config.publicUrl).href,
    });
    return count;
  });
  deps.courier.wake();
  return { ok: true, summary: `${revoked} sessions ended` };
}
