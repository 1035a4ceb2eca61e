import { parseInteger } from "./limits.ts";

/**
 * Webhooks to the shop's systems (docs/webhooks.md): how long one delivery may take, how many
 * attempts before it is marked failed, and whether endpoints may be on a private network.
 */
export type WebhookConfig = {
  /** MAMORI_WEBHOOK_TIMEOUT_SECONDS: the whole request, shorter than the outbox lease (default 10). */
  timeoutSeconds: number;
  /** MAMORI_WEBHOOK_MAX_ATTEMPTS: with the outbox's backoff (5 s doubling, capped at an hour). */
  maxAttempts: number;
  /**
   * MAMORI_WEBHOOK_ALLOW_PRIVATE_NETWORKS: off by default, so an endpoint (or a DNS name that later
   * changes) cannot point Mamori at the cloud metadata service, the database or another internal
   * service (SSRF). An operator whose shop runs on the same private network turns it on.
   */
  allowPrivateNetworks: boolean;
};

export function parseWebhookConfig(
  source: Record<string, string | undefined>,
  outboxLeaseSeconds: number,
  problems: string[],
): WebhookConfig {
  const timeoutSeconds = parseInteger(
    "MAMORI_WEBHOOK_TIMEOUT_SECONDS",
    source.MAMORI_WEBHOOK_TIMEOUT_SECONDS,
    // 10 s, or less when the lease is shorter (a test's): always inside the lease by default.
    Math.max(1, Math.min(10, outboxLeaseSeconds - 1)),
    1,
    600,
    problems,
  );
  const maxAttempts = parseInteger(
    "MAMORI_WEBHOOK_MAX_ATTEMPTS",
    source.MAMORI_WEBHOOK_MAX_ATTEMPTS,
    15,
    1,
    100,
    problems,
  );
  // A delivery still running when its lease ends is claimed and sent again by another process.
  if (source.MAMORI_WEBHOOK_TIMEOUT_SECONDS?.trim() && timeoutSeconds >= outboxLeaseSeconds) {
    problems.push(
      `MAMORI_WEBHOOK_TIMEOUT_SECONDS (${timeoutSeconds}) must be shorter than MAMORI_OUTBOX_LEASE_SECONDS (${outboxLeaseSeconds}): a slow endpoint would otherwise get the event twice at once`,
    );
  }
  const flag = source.MAMORI_WEBHOOK_ALLOW_PRIVATE_NETWORKS?.trim().toLowerCase() ?? "";
  let allowPrivateNetworks = false;
  if (["1", "true", "on", "yes"].includes(flag)) allowPrivateNetworks = true;
  else if (!["", "0", "false", "off", "no"].includes(flag))
    problems.push(`MAMORI_WEBHOOK_ALLOW_PRIVATE_NETWORKS must be true or false (got ${flag})`);
  return { timeoutSeconds, maxAttempts, allowPrivateNetworks };
}
