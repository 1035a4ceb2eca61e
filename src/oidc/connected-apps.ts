import type { Kysely } from "kysely";
import { recordAuditEvent } from "../audit/audit.ts";
import { queueMessage } from "../courier/outbox.ts";
import type { Schema } from "../db/schema.ts";
import type { Deps } from "../deps.ts";
import type { RequestMeta } from "../flows/flow-result.ts";
import type { AccountRow } from "../identity/accounts.ts";

/**
 * "Apps and websites": the shops (OpenID Connect clients) an account has allowed to sign it in,
 * read from the provider's grants in `oidc_model`, and taking that permission back. A shop is
 * listed while the account has a live grant for it (one per browser the person consented in, so
 * several grants of one shop read as one entry).
 *
 * Removing a shop deletes its grants and every code, access token and refresh token issued under
 * them: the shop's refresh token is refused at the token endpoint (`invalid_grant`), its access
 * tokens at userinfo, and the next sign-in through it asks for consent again because the provider
 * finds no grant. ID tokens already handed over are signed statements and cannot be recalled; they
 * expire within the hour.
 */
export const connectedAppsPath = "/account/security/apps";

/** Scopes as the page explains them, in this order; others (none today) are not shown. */
export const knownScopes = ["openid", "email", "profile", "phone", "offline_access"] as const;
export type KnownScope = (typeof knownScopes)[number];

export type ConnectedApp = {
  clientId: string;
  name: string;
  /** When the account first allowed the shop (its oldest live grant was made). */
  firstAllowedAt: string;
  /** When the shop last received a code or token for the account; null when it never did. */
  lastUsedAt: string | null;
  scopes: KnownScope[];
};

export type RemoveConnectedAppResult = { ok: true; app: ConnectedApp } | { ok: false; code: "app_not_found" };

type GrantFields = { iat: number | undefined; scopes: string[] };

/** The grant's issue time and granted OpenID scopes (oidc-provider's `openid.scope`, minus `rejected`). */
function grantFieldsOf(payload: string): GrantFields {
  const parsed: unknown = JSON.parse(payload);
  if (typeof parsed !== "object" || parsed === null) return { iat: undefined, scopes: [] };
  const grant = parsed as {
    iat?: unknown;
    openid?: { scope?: unknown };
    rejected?: { openid?: { scope?: unknown } };
  };
  const words = (value: unknown): string[] => (typeof value === "string" ? value.split(" ") : []);
  const rejected = new Set(words(grant.rejected?.openid?.scope));
  return {
    iat: typeof grant.iat === "number" ? grant.iat : undefined,
    scopes: words(grant.openid?.scope).filter((scope) => !rejected.has(scope)),
  };
}

type GrantRow = {
  id: string;
  client_id: string | null;
  client_name: string;
  payload: string;
  used_at: string | null;
};

function liveGrants(db: Kysely<Schema>, accountId: string, now: Date) {
  return db
    .selectFrom("oidc_model")
    .innerJoin("oidc_client", "oidc_client.id", "oidc_model.client_id")
    .select([
      "oidc_model.id",
      "oidc_model.client_id",
      "oidc_client.name as client_name",
      "oidc_model.payload",
      "oidc_model.used_at",
    ])
    .where("oidc_model.model", "=", "Grant")
    .where("oidc_model.account_id", "=", accountId)
    .where((eb) =>
      eb.or([eb("oidc_model.expires_at", "is", null), eb("oidc_model.expires_at", ">", now.toISOString())]),
    );
}

/** The grants of each shop merged: the earliest allowed, the latest used, every scope granted. */
function toConnectedApps(rows: readonly GrantRow[]): ConnectedApp[] {
  const byClient = new Map<string, { app: ConnectedApp; scopes: Set<string> }>();
  for (const row of rows) {
    if (row.client_id === null) continue;
    const fields = grantFieldsOf(row.payload);
    const allowedAt = fields.iat === undefined ? undefined : new Date(fields.iat * 1000).toISOString();
    const entry = byClient.get(row.client_id) ?? {
      app: {
        clientId: row.client_id,
        name: row.client_name,
        firstAllowedAt: allowedAt ?? row.used_at ?? new Date(0).toISOString(),
        lastUsedAt: null,
        scopes: [],
      },
      scopes: new Set<string>(),
    };
    if (allowedAt !== undefined && allowedAt < entry.app.firstAllowedAt) entry.app.firstAllowedAt = allowedAt;
    if (row.used_at !== null && (entry.app.lastUsedAt === null || row.used_at > entry.app.lastUsedAt))
      entry.app.lastUsedAt = row.used_at;
    for (const scope of fields.scopes) entry.scopes.add(scope);
    byClient.set(row.client_id, entry);
  }
  return [...byClient.values()]
    .map(({ app, scopes }) => ({ ...app, scopes: knownScopes.filter((scope) => scopes.has(scope)) }))
    .sort((a, b) => (b.lastUsedAt ?? b.firstAllowedAt).localeCompare(a.lastUsedAt ?? a.firstAllowedAt));
}

/** The shops this account has allowed, the most recently used first. */
export async function listConnectedApps(
  db: Kysely<Schema>,
  accountId: string,
  now: Date,
): Promise<ConnectedApp[]> {
  return toConnectedApps(await liveGrants(db, accountId, now).execute());
}

/**
 * Takes a shop's permission away: its grants for this account and everything issued under them,
 * the audit event and the owner's mail, in one transaction. Another account's shop, an unknown
 * client, or a shop with no live grant are the same `app_not_found`: nothing tells them apart.
 */
export async function removeConnectedApp(
  deps: Deps,
  account: Pick<AccountRow, "id" | "email" | "name" | "locale">,
  clientId: string,
  meta: RequestMeta,
): Promise<RemoveConnectedAppResult> {
  if (clientId.length === 0 || clientId.length > 64) return { ok: false, code: "app_not_found" };
  const now = deps.clock.now();
  return deps.db.transaction().execute(async (trx) => {
    const live = await liveGrants(trx, account.id, now)
      .where("oidc_model.client_id", "=", clientId)
      .execute();
    const app = toConnectedApps(live)[0];
    if (!app) return { ok: false, code: "app_not_found" } as const;
    // Every grant of this account for the shop, expired ones too, and what was issued under them.
    const grantIds = (
      await trx
        .selectFrom("oidc_model")
        .select("id")
        .where("model", "=", "Grant")
        .where("account_id", "=", account.id)
        .where("client_id", "=", clientId)
        .execute()
    ).map((row) => row.id);
    const deleted = await trx
      .deleteFrom("oidc_model")
      .where("model", "=", "Grant")
      .where("id", "in", grantIds)
      .executeTakeFirst();
    // A removal from another tab that committed first: one audit event and one mail, not two.
    if (deleted.numDeletedRows === 0n) return { ok: false, code: "app_not_found" } as const;
    await trx
      .deleteFrom("oidc_model")
      .where((eb) =>
        eb.or([
          eb("grant_id", "in", grantIds),
          // Codes and tokens of this account for the shop whose grant is already gone.
          eb.and([eb("account_id", "=", account.id), eb("client_id", "=", clientId)]),
        ]),
      )
      .execute();
    await recordAuditEvent(trx, deps, {
      type: "oidc.grant.revoked",
      accountId: account.id,
      actor: "account",
      ip: meta.ip,
      userAgent: meta.userAgent,
      detail: { clientId, name: app.name, grants: grantIds.length },
    });
    await queueMessage(trx, deps, "email", account.email, account.locale, {
      kind: "connected_app_removed",
      name: account.name,
      app: app.name,
      securityUrl: new URL(connectedAppsPath, deps.config.publicUrl).href,
    });
    return { ok: true, app } as const;
  });
}
