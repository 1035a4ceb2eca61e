import { recordAuditEvent } from "../audit/audit.ts";
import type { Deps } from "../deps.ts";
import type { RequestMeta } from "../flows/flow-result.ts";
import { rotateSigningKeys } from "../oidc/signing-keys.ts";
import { retryWebhookDelivery } from "../webhooks/delivery.ts";
import {
  addWebhookEndpoint,
  parseEventList,
  removeWebhookEndpoint,
  rotateWebhookSecret,
} from "../webhooks/endpoints.ts";
import type { StaffRow } from "./staff-accounts.ts";

/**
 * The console's actions on the service rather than on a customer (admins only, decided in
 * `allowedRoles`): the shop's webhook endpoints and their delivery log, and the rotation of the
 * ID-token signing keys. A new secret comes back once, for the result page, and is never part of
 * the summary that the staff trail keeps.
 */
export type ServiceAction =
  | "webhook_add"
  | "webhook_remove"
  | "webhook_rotate_secret"
  | "webhook_retry"
  | "signing_keys_rotate";

export type ServiceInput = {
  action: ServiceAction;
  reason: string;
  /** The endpoint, for `webhook_remove` and `webhook_rotate_secret`. */
  endpointId?: string;
  /** The delivery, for `webhook_retry`. */
  deliveryId?: string;
  /** The new endpoint, for `webhook_add`: its URL, the event names (or "all") and personal data. */
  endpoint?: { url: string; events: readonly string[]; personalData: boolean };
};

export type ServiceResult =
  | { ok: true; summary: string; secret?: string }
  | { ok: false; reason: "not_found" | "not_failed" | "invalid" | "changed"; problem?: string };

export async function performServiceAction(
  deps: Deps,
  staff: StaffRow,
  input: ServiceInput,
  meta: RequestMeta,
): Promise<ServiceResult> {
  switch (input.action) {
    case "webhook_add": {
      const endpoint = input.endpoint;
      if (!endpoint) return { ok: false, reason: "invalid", problem: "no endpoint given" };
      const events = parseEventList(endpoint.events.join(","));
      if (!events.ok)
        return { ok: false, reason: "invalid", problem: `unknown event type ${events.unknown}` };
      let url: URL;
      try {
        url = new URL(endpoint.url.trim());
      } catch {
        return { ok: false, reason: "invalid", problem: "not a URL" };
      }
      const added = await addWebhookEndpoint(deps, {
        url: url.href,
        events: events.events,
        personalData: endpoint.personalData,
      });
      if (!added.ok) return { ok: false, reason: "invalid", problem: added.problem };
      return { ok: true, summary: `endpoint ${added.id} added for ${url.origin}`, secret: added.secret };
    }
    case "webhook_remove": {
      if (!input.endpointId || !(await removeWebhookEndpoint(deps, input.endpointId)))
        return { ok: false, reason: "not_found" };
      return { ok: true, summary: `endpoint ${input.endpointId} removed` };
    }
    case "webhook_rotate_secret": {
      if (!input.endpointId) return { ok: false, reason: "not_found" };
      const rotated = await rotateWebhookSecret(deps, input.endpointId);
      // "changed": another rotation won the race; this one made no secret, so none is shown.
      if (!rotated.ok) return { ok: false, reason: rotated.reason };
      return {
        ok: true,
        summary: `endpoint ${input.endpointId}: new secret; the previous one signs until ${rotated.previousUntil}`,
        secret: rotated.secret,
      };
    }
    case "webhook_retry": {
      if (!input.deliveryId) return { ok: false, reason: "not_found" };
      const outcome = await retryWebhookDelivery(deps, input.deliveryId);
      if (outcome.outcome === "requeued")
        return { ok: true, summary: `delivery ${input.deliveryId} requeued` };
      if (outcome.outcome === "not_failed") return { ok: false, reason: "not_failed" };
      return { ok: false, reason: "not_found" };
    }
    case "signing_keys_rotate": {
      const rotated = await rotateSigningKeys(deps.db, {
        clock: deps.clock,
        random: deps.random,
        secretKeys: deps.config.secretKeys,
      });
      await recordAuditEvent(deps.db, deps, {
        type: "oidc.signing_keys_rotated",
        accountId: null,
        actor: "operator",
        ip: meta.ip,
        userAgent: meta.userAgent,
        detail: {
          staffId: staff.id,
          reason: input.reason,
          current: rotated.current,
          previous: rotated.previous ?? null,
        },
      });
      return {
        ok: true,
        summary: `new signing key ${rotated.current}${rotated.previous ? `; ${rotated.previous} still published until the next rotation` : ""}`,
      };
    }
  }
}
