import type { Kysely, Selectable } from "kysely";
import { decryptSecret, encryptSecret } from "../crypto/encryption.ts";
import { newId, newSecret } from "../crypto/secrets.ts";
import type { OidcClientTable, Schema } from "../db/schema.ts";
import type { Clock, Random } from "../deps.ts";

/**
 * The shops' sites and apps that may ask Mamori "who is this?" over OpenID Connect, registered by
 * the operator (`mamori clients create`). A client is confidential: it has a secret, shown once.
 * oidc-provider compares the secret it receives with the stored one in plain, so the secret is
 * kept encrypted (AES-256-GCM under MAMORI_SECRET_KEYS), not hashed.
 */
export type ClientRow = Selectable<OidcClientTable>;

export type NewClient = {
  name: string;
  redirectUris: readonly string[];
  postLogoutRedirectUris: readonly string[];
  requireTwoStep: boolean;
  /** A device without a keyboard (RFC 8628): public, no secret, no redirect URIs. */
  deviceFlow?: boolean;
};

export type ClientSummary = {
  clientId: string;
  name: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  requireTwoStep: boolean;
  deviceFlow: boolean;
  createdAt: string;
};

type ClientDeps = { clock: Clock; random: Random; secretKeys: readonly Buffer[] };

const secretPurpose = (clientId: string): string => `oidc client secret ${clientId}`;

export type ClientInputProblem = { ok: false; problem: string };

/**
 * Checks a redirect URI the way the provider will use it: absolute, no fragment, https — or
 * http on a loopback address for development (RFC 8252 section 7.3); `allowHttp` for non-production.
 */
export function checkRedirectUri(value: string, allowHttp: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `not an absolute URL: ${value}`;
  }
  if (url.hash) return `a redirect URI must not have a fragment: ${value}`;
  if (url.username || url.password) return `a redirect URI must not carry a user or password: ${value}`;
  const loopback = url.hostname === "127.0.0.1" || url.hostname === "[::1]" || url.hostname === "localhost";
  if (url.protocol === "https:") return undefined;
  if (url.protocol === "http:" && (allowHttp || loopback)) return undefined;
  return `a redirect URI must be https:// (http:// only on loopback or outside production): ${value}`;
}

export async function createClient(
  db: Kysely<Schema>,
  deps: ClientDeps,
  input: NewClient,
): Promise<{ clientId: string; clientSecret: string | undefined }> {
  const clientId = newId(deps.random, "cli");
  const deviceFlow = input.deviceFlow === true;
  const clientSecret = deviceFlow ? undefined : newSecret(deps.random);
  await db
    .insertInto("oidc_client")
    .values({
      id: clientId,
      name: input.name,
      // A device client is public: no secret to keep (migration 017).
      secret_encrypted:
        clientSecret === undefined
          ? ""
          : encryptSecret(deps.secretKeys, Buffer.from(clientSecret, "utf8"), secretPurpose(clientId)),
      redirect_uris: JSON.stringify(input.redirectUris),
      post_logout_redirect_uris: JSON.stringify(input.postLogoutRedirectUris),
      require_two_step: input.requireTwoStep ? 1 : 0,
      created_at: deps.clock.now().toISOString(),
      device_flow: deviceFlow ? 1 : 0,
    })
    .execute();
  return { clientId, clientSecret };
}

function parseUris(text: string): string[] {
  const parsed: unknown = JSON.parse(text);
  return Array.isArray(parsed) ? parsed.filter((u): u is string => typeof u === "string") : [];
}

export function toClientSummary(row: ClientRow): ClientSummary {
  return {
    clientId: row.id,
    name: row.name,
    redirectUris: parseUris(row.redirect_uris),
    postLogoutRedirectUris: parseUris(row.post_logout_redirect_uris),
    requireTwoStep: row.require_two_step === 1,
    deviceFlow: row.device_flow === 1,
    createdAt: row.created_at,
  };
}

export async function listClients(db: Kysely<Schema>): Promise<ClientSummary[]> {
  const rows = await db.selectFrom("oidc_client").selectAll().orderBy("created_at").orderBy("id").execute();
  return rows.map(toClientSummary);
}

export async function findClient(db: Kysely<Schema>, clientId: string): Promise<ClientRow | undefined> {
  if (clientId.length > 64) return undefined;
  return db.selectFrom("oidc_client").selectAll().where("id", "=", clientId).executeTakeFirst();
}

/** Deletes a client and everything the provider issued to it (codes, tokens, grants). */
export async function deleteClient(db: Kysely<Schema>, clientId: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const deleted = await trx.deleteFrom("oidc_client").where("id", "=", clientId).executeTakeFirst();
    if (deleted.numDeletedRows === 0n) return false;
    await trx.deleteFrom("oidc_model").where("client_id", "=", clientId).execute();
    return true;
  });
}

/** The client as oidc-provider's metadata (RFC 7591 names), its secret decrypted. */
export function toProviderMetadata(
  row: ClientRow,
  secretKeys: readonly Buffer[],
): Record<string, unknown> | undefined {
  if (row.device_flow === 1) return deviceClientMetadata(row);
  const secret = decryptSecret(secretKeys, row.secret_encrypted, secretPurpose(row.id));
  // A secret no configured key can read (MAMORI_SECRET_KEYS lost a key): the client cannot sign in.
  if (!secret) return undefined;
  return {
    client_id: row.id,
    client_secret: secret.toString("utf8"),
    client_name: row.name,
    redirect_uris: parseUris(row.redirect_uris),
    post_logout_redirect_uris: parseUris(row.post_logout_redirect_uris),
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "client_secret_basic",
    mamori_require_two_step: row.require_two_step === 1,
  };
}

/** The grant a device client uses (RFC 8628, section 3.4). */
export const deviceCodeGrantType = "urn:ietf:params:oauth:grant-type:device_code";

/**
 * A device client as oidc-provider's metadata: public (`none`: it proves nothing at the token
 * endpoint, the device code is its only secret), the device code grant and refresh tokens, no
 * redirects (nothing is ever sent back to a browser).
 */
function deviceClientMetadata(row: ClientRow): Record<string, unknown> {
  return {
    client_id: row.id,
    client_name: row.name,
    redirect_uris: [],
    post_logout_redirect_uris: [],
    grant_types: [deviceCodeGrantType, "refresh_token"],
    response_types: [],
    token_endpoint_auth_method: "none",
    mamori_require_two_step: row.require_two_step === 1,
  };
}
