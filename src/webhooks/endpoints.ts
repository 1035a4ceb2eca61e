import { recordAuditEvent } from "../audit/audit.ts";
import { decryptSecret, encryptSecret } from "../crypto/encryption.ts";
import { newId } from "../crypto/secrets.ts";
import type { Deps } from "../deps.ts";
import { isWebhookEventType, type WebhookEventType } from "./events.ts";
import { checkEndpointUrl } from "./target-policy.ts";

/**
 * The shop's webhook endpoints: where events go, which events, and the secret that signs them
 * (`whsec_` + base64 of 32 random bytes, as Standard Webhooks has it), stored encrypted under
 * MAMORI_SECRET_KEYS. After a rotation the previous secret signs beside the new one for a day, so
 * the shop can switch its verifier without losing an event.
 */
export const secretGraceSeconds = 86_400;

type EndpointDeps = Pick<Deps, "db" | "clock" | "random" | "config">;

function secretPurpose(endpointId: string): string {
  return `webhook_secret:${endpointId}`;
}

function newWebhookSecret(deps: Pick<Deps, "random">): string {
  return `whsec_${deps.random.bytes(32).toString("base64")}`;
}

/** "all", or a comma-separated list of event types: the events, or the first unknown name. */
export function parseEventList(
  text: string,
): { ok: true; events: readonly (WebhookEventType | "*")[] } | { ok: false; unknown: string } {
  const names = text
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  if (names.length === 0) return { ok: false, unknown: "(none)" };
  if (names.length === 1 && (names[0] === "all" || names[0] === "*")) return { ok: true, events: ["*"] };
  const events: WebhookEventType[] = [];
  for (const name of names) {
    if (!isWebhookEventType(name)) return { ok: false, unknown: name };
    if (!events.includes(name)) events.push(name);
  }
  return { ok: true, events };
}

export type EndpointListing = {
  id: string;
  url: string;
  events: string[];
  personalData: boolean;
  createdAt: string;
  /** Until when the secret before the last rotation still signs; null when there is none. */
  previousSecretUntil: string | null;
};

export type AddEndpointResult = { ok: true; id: string; secret: string } | { ok: false; problem: string };

export async function addWebhookEndpoint(
  deps: EndpointDeps,
  input: { url: string; events: readonly (WebhookEventType | "*")[]; personalData: boolean },
): Promise<AddEndpointResult> {
  const problem = await checkEndpointUrl(input.url, {
    environment: deps.config.environment,
    allowPrivateNetworks: deps.config.webhooks.allowPrivateNetworks,
  });
  if (problem !== undefined) return { ok: false, problem };
  const id = newId(deps.random, "whe");
  const secret = newWebhookSecret(deps);
  await deps.db.transaction().execute(async (trx) => {
    await trx
      .insertInto("webhook_endpoint")
      .values({
        id,
        url: new URL(input.url).href,
        events: JSON.stringify(input.events),
        personal_data: input.personalData ? 1 : 0,
        secret_encrypted: encryptSecret(deps.config.secretKeys, Buffer.from(secret), secretPurpose(id)),
        previous_secret_encrypted: null,
        previous_secret_until: null,
        created_at: deps.clock.now().toISOString(),
      })
      .execute();
    await recordAuditEvent(trx, deps, {
      type: "webhook.endpoint_added",
      accountId: null,
      actor: "operator",
      detail: { endpointId: id, url: new URL(input.url).origin, personalData: input.personalData },
    });
  });
  return { ok: true, id, secret };
}

export async function listWebhookEndpoints(deps: Pick<Deps, "db">): Promise<EndpointListing[]> {
  const rows = await deps.db.selectFrom("webhook_endpoint").selectAll().orderBy("created_at").execute();
  return rows.map((row) => ({
    id: row.id,
    url: row.url,
    events: JSON.parse(row.events) as string[],
    personalData: row.personal_data === 1,
    createdAt: row.created_at,
    previousSecretUntil: row.previous_secret_until,
  }));
}

/** Removes an endpoint; its deliveries not yet sent are cancelled (the log keeps them). */
export async function removeWebhookEndpoint(deps: EndpointDeps, id: string): Promise<boolean> {
  return deps.db.transaction().execute(async (trx) => {
    const removed = await trx.deleteFrom("webhook_endpoint").where("id", "=", id).executeTakeFirst();
    if (removed.numDeletedRows === 0n) return false;
    await trx
      .updateTable("webhook_delivery")
      .set({ state: "cancelled", lease_expires_at: null, leased_by: null })
      .where("endpoint_id", "=", id)
      .where("state", "in", ["pending", "sending"])
      .execute();
    await recordAuditEvent(trx, deps, {
      type: "webhook.endpoint_removed",
      accountId: null,
      actor: "operator",
      detail: { endpointId: id },
    });
    return true;
  });
}

/** A new secret; the current one keeps signing beside it for `secretGraceSeconds`. */
export async function rotateWebhookSecret(
  deps: EndpointDeps,
  id: string,
): Promise<
  { ok: true; secret: string; previousUntil: string } | { ok: false; reason: "not_found" | "changed" }
> {
  const row = await deps.db
    .selectFrom("webhook_endpoint")
    .select("secret_encrypted")
    .where("id", "=", id)
    .executeTakeFirst();
  if (!row) return { ok: false, reason: "not_found" };
  const secret = newWebhookSecret(deps);
  const previousUntil = new Date(deps.clock.now().getTime() + secretGraceSeconds * 1000).toISOString();
  return deps.db.transaction().execute(async (trx) => {
    // Guarded by the secret read above: two rotations at once keep one previous secret, not a lost one.
    const rotated = await trx
      .updateTable("webhook_endpoint")
      .set({
        secret_encrypted: encryptSecret(deps.config.secretKeys, Buffer.from(secret), secretPurpose(id)),
        previous_secret_encrypted: row.secret_encrypted,
        previous_secret_until: previousUntil,
      })
      .where("id", "=", id)
      .where("secret_encrypted", "=", row.secret_encrypted)
      .executeTakeFirst();
    if (rotated.numUpdatedRows === 0n) return { ok: false as const, reason: "changed" as const };
    await recordAuditEvent(trx, deps, {
      type: "webhook.secret_rotated",
      accountId: null,
      actor: "operator",
      detail: { endpointId: id, previousUntil },
    });
    return { ok: true as const, secret, previousUntil };
  });
}

/** The secrets that sign a message to an endpoint now: the current one, and the previous within its grace. */
export function signingSecrets(
  deps: Pick<Deps, "config">,
  endpoint: {
    id: string;
    secret_encrypted: string;
    previous_secret_encrypted: string | null;
    previous_secret_until: string | null;
  },
  now: Date,
): string[] {
  const stored = [endpoint.secret_encrypted];
  if (
    endpoint.previous_secret_encrypted !== null &&
    endpoint.previous_secret_until !== null &&
    endpoint.previous_secret_until > now.toISOString()
  )
    stored.push(endpoint.previous_secret_encrypted);
  return stored.flatMap((value) => {
    const secret = decryptSecret(deps.config.secretKeys, value, secretPurpose(endpoint.id));
    return secret ? [secret.toString("utf8")] : [];
  });
}
