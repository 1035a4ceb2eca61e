import type { Kysely, Selectable } from "kysely";
import { decryptSecret, encryptSecret } from "../crypto/encryption.ts";
import { newId, newSecret } from "../crypto/secrets.ts";
import type { OidcClientTable, Schema } from "../db/schema.ts";
import type { Clock, Random } from "../deps.ts";
import { clientUris, setClientUri } from "./client-uri.ts";

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
  /** A single-page or phone app: no secret (it could not keep one), PKCE alone (RFC 8252). */
  public?: boolean;
  /** Where the shop receives Back-Channel Logout tokens. */
  backchannelLogoutUri?: string | undefined;
  /** The shop's home page, where 「{shop}に戻る」 leads (./client-uri.ts; checked by the caller). */
  clientUri?: string | undefined;
};

export type ClientSummary = {
  clientId: string;
  name: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  requireTwoStep: boolean;
  deviceFlow: boolean;
  public: boolean;
  backchannelLogoutUri: string | null;
  /** The shop's home page (RFC 7591 client_uri), or null when none is registered. */
  clientUri: string | null;
  createdAt: string;
};

type ClientDeps = { clock: Clock; random: Random; secretKeys: readonly Buffer[] };

const secretPurpose = (clientId: string): string => `oidc client secret ${clientId}`;

export type ClientInputProblem = { ok: false; problem: string };

/**
 * Checks a redirect URI the way the provider will use it: absolute, no fragment, https — or
 * http on a loopback address for development (RFC 8252 section 7.3); `allowHttp` for non-production.
 * A public client (a phone app) may also use a private-use URI scheme (RFC 8252 section 7.1): a
 * reverse domain name such as `jp.example.shop:/callback`, so no two apps claim the same scheme.
 */
export function checkRedirectUri(
  value: string,
  allowHttp: boolean,
  publicClient = false,
): string | undefined {
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
  if (publicClient && isPrivateUseScheme(url)) return undefined;
  return publicClient
    ? `a redirect URI must be https://, http:// on loopback, or a reverse-domain scheme (jp.example.app:/path): ${value}`
    : `a redirect URI must be https:// (http:// only on loopback or outside production): ${value}`;
}

/** RFC 8252 section 7.1: a scheme with a period in it (a reverse domain name), not a web scheme. */
function isPrivateUseScheme(url: URL): boolean {
  const scheme = url.protocol.slice(0, -1);
  return /^[a-z][a-z0-9+-]*(\.[a-z0-9+-]+)+$/.test(scheme) && url.hostname === "";
}

/**
 * RFC 8252: an app that receives its code on a loopback address (any port, section 7.3) or a
 * private-use scheme (section 7.1) is a "native" client to the provider; one with https redirects
 * only (a single-page app, or claimed https links) is a "web" client.
 */
function applicationTypeOf(redirectUris: readonly string[]): "native" | "web" {
  return redirectUris.some((uri) => {
    const url = URL.parse(uri);
    return url !== null && (url.protocol !== "https:" || isLoopback(url.hostname));
  })
    ? "native"
    : "web";
}

function isLoopback(hostname: string): boolean {
  return hostname === "127.0.0.1" || hostname === "[::1]" || hostname === "localhost";
}

export async function createClient(
  db: Kysely<Schema>,
  deps: ClientDeps,
  input: NewClient,
): Promise<{ clientId: string; clientSecret: string | undefined }> {
  const clientId = newId(deps.random, "cli");
  const deviceFlow = input.deviceFlow === true;
  // A device or a public client has no secret: a device's or an app's copy would be everyone's.
  const clientSecret = deviceFlow || input.public ? undefined : newSecret(deps.random);
  await db.transaction().execute(async (trx) => {
    await trx
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
        public_client: input.public ? 1 : 0,
        backchannel_logout_uri: input.backchannelLogoutUri ?? null,
      })
      .execute();
    if (input.clientUri !== undefined) await setClientUri(trx, clientId, input.clientUri);
  });
  return { clientId, clientSecret: input.public ? undefined : clientSecret };
}

function parseUris(text: string): string[] {
  const parsed: unknown = JSON.parse(text);
  return Array.isArray(parsed) ? parsed.filter((u): u is string => typeof u === "string") : [];
}

export function toClientSummary(row: ClientRow, clientUri: string | null = null): ClientSummary {
  return {
    clientId: row.id,
    name: row.name,
    redirectUris: parseUris(row.redirect_uris),
    postLogoutRedirectUris: parseUris(row.post_logout_redirect_uris),
    requireTwoStep: row.require_two_step === 1,
    deviceFlow: row.device_flow === 1,
    public: row.public_client === 1,
    backchannelLogoutUri: row.backchannel_logout_uri,
    clientUri,
    createdAt: row.created_at,
  };
}

export async function listClients(db: Kysely<Schema>): Promise<ClientSummary[]> {
  const rows = await db.selectFrom("oidc_client").selectAll().orderBy("created_at").orderBy("id").execute();
  const uris = await clientUris(db);
  return rows.map((row) => toClientSummary(row, uris.get(row.id) ?? null));
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
  const redirectUris = parseUris(row.redirect_uris);
  const common = {
    client_id: row.id,
    client_name: row.name,
    redirect_uris: redirectUris,
    post_logout_redirect_uris: parseUris(row.post_logout_redirect_uris),
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    // The code in the query only: see `advertiseOnlyWhatWorks` in provider.ts.
    response_modes: ["query"],
    mamori_require_two_step: row.require_two_step === 1,
    // Every logout token names the sign-in (sid), and every ID token carries the sid it will name.
    ...(row.backchannel_logout_uri
      ? { backchannel_logout_uri: row.backchannel_logout_uri, backchannel_logout_session_required: true }
      : {}),
  };
  if (row.public_client === 1) {
    // No secret; PKCE S256 is required of every client (provider.ts). Refresh tokens rotate.
    return {
      ...common,
      token_endpoint_auth_method: "none",
      application_type: applicationTypeOf(redirectUris),
    };
  }
  const secret = decryptSecret(secretKeys, row.secret_encrypted, secretPurpose(row.id));
  // A secret no configured key can read (MAMORI_SECRET_KEYS lost a key): the client cannot sign in.
  if (!secret) return undefined;
  return {
    ...common,
    client_secret: secret.toString("utf8"),
    token_endpoint_auth_method: "client_secret_basic",
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
