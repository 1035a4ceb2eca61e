import type { Deps } from "../deps.ts";
import { listWebhookDeliveries, retryWebhookDelivery } from "../webhooks/delivery.ts";
import {
  addWebhookEndpoint,
  listWebhookEndpoints,
  parseEventList,
  removeWebhookEndpoint,
  rotateWebhookSecret,
  secretGraceSeconds,
} from "../webhooks/endpoints.ts";
import { webhookEventTypes } from "../webhooks/events.ts";

/**
 * `mamori webhooks …`: the shop's endpoints for signed events (docs/webhooks.md), their secrets,
 * and the delivery log. Exit 0 done, 1 refused (not found, invalid), 2 usage.
 */
export const webhookUsage = `  webhooks add <https URL> --events <type,type…|all> [--personal-data]
                                           send these events there; prints the endpoint id and
                                           its whsec_ signing secret (shown once); with
                                           --personal-data payloads also carry email and name
  webhooks list                            the endpoints as JSON (never their secrets)
  webhooks remove <endpoint id>            stop sending there (unsent deliveries are cancelled)
  webhooks rotate-secret <endpoint id>     a new secret; the old one still signs beside it for 24 h
  webhooks deliveries [--failed] [--limit N]
                                           the delivery log, newest first (JSON lines)
  webhooks retry <delivery id>             send a failed delivery again (same webhook-id)`;

type Output = { out(text: string): void; err(text: string): void };

export type WebhookCommandValues = {
  events?: string | undefined;
  "personal-data"?: boolean | undefined;
  failed?: boolean | undefined;
  limit?: string | undefined;
};

function usageError(output: Output, message: string): number {
  output.err(`${message}\n\nUsage:\n${webhookUsage}`);
  return 2;
}

export async function runWebhooks(
  deps: Deps,
  args: readonly string[],
  values: WebhookCommandValues,
  output: Output,
): Promise<number> {
  const [verb, target, ...rest] = args;
  if (rest.length > 0) return usageError(output, `unexpected arguments: ${rest.join(" ")}`);
  const onlyFor = (allowed: readonly string[]): string | undefined => {
    const given = Object.entries(values)
      .filter(([name, value]) => value !== undefined && !allowed.includes(name))
      .map(([name]) => `--${name}`);
    return given.length > 0 ? `webhooks ${verb ?? ""} does not take ${given.join(", ")}` : undefined;
  };
  if (verb === "add") {
    const misplaced = onlyFor(["events", "personal-data"]);
    if (misplaced) return usageError(output, misplaced);
    if (target === undefined) return usageError(output, "webhooks add needs the endpoint's URL");
    if (values.events === undefined)
      return usageError(
        output,
        `webhooks add needs --events (all, or some of: ${webhookEventTypes.join(", ")})`,
      );
    const events = parseEventList(values.events);
    if (!events.ok) {
      output.err(`mamori: unknown event type ${events.unknown}; known: ${webhookEventTypes.join(", ")}`);
      return 1;
    }
    const added = await addWebhookEndpoint(deps, {
      url: target,
      events: events.events,
      personalData: values["personal-data"] === true,
    });
    if (!added.ok) {
      output.err(`mamori: ${added.problem}`);
      return 1;
    }
    output.out(`endpoint: ${added.id}`);
    output.out(`secret: ${added.secret}`);
    output.out("\nThe secret is shown once: put it in the receiver's configuration now.");
    return 0;
  }
  if (verb === "list") {
    const misplaced = onlyFor([]);
    if (misplaced || target !== undefined)
      return usageError(output, misplaced ?? "webhooks list takes no argument");
    output.out(JSON.stringify(await listWebhookEndpoints(deps), null, 2));
    return 0;
  }
  if (verb === "remove" || verb === "rotate-secret") {
    const misplaced = onlyFor([]);
    if (misplaced) return usageError(output, misplaced);
    if (target === undefined) return usageError(output, `webhooks ${verb} needs an endpoint id`);
    if (verb === "remove") {
      if (!(await removeWebhookEndpoint(deps, target))) {
        output.err(`mamori: no webhook endpoint ${target}`);
        return 1;
      }
      output.out(`endpoint ${target} removed; its unsent deliveries are cancelled`);
      return 0;
    }
    const rotated = await rotateWebhookSecret(deps, target);
    if (!rotated.ok) {
      output.err(
        rotated.reason === "not_found"
          ? `mamori: no webhook endpoint ${target}`
          : `mamori: ${target} was rotated or removed by someone else just now; list it and try again`,
      );
      return 1;
    }
    output.out(`secret: ${rotated.secret}`);
    output.out(
      `\nThe previous secret still signs beside it until ${rotated.previousUntil} (${secretGraceSeconds / 3600} h): switch the receiver to the new one before then.`,
    );
    return 0;
  }
  if (verb === "deliveries") {
    const misplaced = onlyFor(["failed", "limit"]);
    if (misplaced || target !== undefined)
      return usageError(output, misplaced ?? "webhooks deliveries takes only --failed and --limit");
    const limitText = values.limit ?? "50";
    const limit = Number(limitText);
    if (!/^\d+$/.test(limitText) || limit < 1 || limit > 10_000)
      return usageError(output, "--limit must be a number from 1 to 10000");
    for (const delivery of await listWebhookDeliveries(deps, { failedOnly: values.failed === true, limit }))
      output.out(JSON.stringify(delivery));
    return 0;
  }
  if (verb === "retry") {
    const misplaced = onlyFor([]);
    if (misplaced) return usageError(output, misplaced);
    if (target === undefined) return usageError(output, "webhooks retry needs a delivery id");
    const result = await retryWebhookDelivery(deps, target);
    if (result.outcome === "requeued") {
      deps.courier.wake();
      output.out(`${target}: queued again`);
      return 0;
    }
    const messages = {
      not_found: "no such delivery",
      endpoint_removed: "its endpoint was removed; not sent",
      not_failed: `not a failed delivery (${result.outcome === "not_failed" ? result.state : ""}); left as it is`,
    };
    output.err(`mamori: ${target}: ${messages[result.outcome]}`);
    return 1;
  }
  return usageError(output, `unknown webhooks command: ${args.join(" ")}`);
}
