import type { Kysely } from "kysely";
import type { Schema } from "../db/schema.ts";

/**
 * A shop's home page (RFC 7591 `client_uri`): where 「{shop}に戻る」 on Mamori's pages leads
 * (./shop-return.ts). Registered by the operator (`mamori clients create --client-uri`, or
 * `clients set-client-uri`), never taken from a request, so a link back can only ever point at a
 * registered shop's own page.
 *
 * Kept in `oidc_model` (model `MamoriClientUri`, id and client_id the client's id, no expiry), as
 * routes.ts keeps its `MamoriSignInAsked` notes: no new column, so no migration. The provider never
 * reads the model; deleting the client deletes the row with the client's other rows (by client_id,
 * clients.ts `deleteClient`), and the adapter's sweep leaves it (it never expires).
 */
export const clientUriModel = "MamoriClientUri";

const maxLength = 2000;

function isLoopback(hostname: string): boolean {
  return hostname === "127.0.0.1" || hostname === "[::1]" || hostname === "localhost";
}

/**
 * A client URI is an absolute https URL without a user or password; plain http only on a loopback
 * host, and only outside production (`allowHttp`). Everything else (javascript:, data:, a relative
 * path, http to another host) is refused: the answer is the problem, or undefined when it is fine.
 */
export function checkClientUri(value: string, allowHttp: boolean): string | undefined {
  if (value.length > maxLength) return `a client URI is at most ${maxLength} characters`;
  const url = URL.parse(value);
  if (url === null) return `not an absolute URL: ${value}`;
  if (url.username || url.password) return `a client URI must not carry a user or password: ${value}`;
  if (url.protocol === "https:" && url.hostname !== "") return undefined;
  if (url.protocol === "http:" && allowHttp && isLoopback(url.hostname)) return undefined;
  return `a client URI must be https:// (http:// only on localhost outside production): ${value}`;
}

/** The client's URI as stored, or undefined when it has none. */
export async function findClientUri(db: Kysely<Schema>, clientId: string): Promise<string | undefined> {
  const row = await db
    .selectFrom("oidc_model")
    .select("payload")
    .where("model", "=", clientUriModel)
    .where("id", "=", clientId)
    .executeTakeFirst();
  return row ? uriOf(row.payload) : undefined;
}

/** Every client's URI, by client id. */
export async function clientUris(db: Kysely<Schema>): Promise<Map<string, string>> {
  const rows = await db
    .selectFrom("oidc_model")
    .select(["id", "payload"])
    .where("model", "=", clientUriModel)
    .execute();
  const uris = new Map<string, string>();
  for (const row of rows) {
    const uri = uriOf(row.payload);
    if (uri !== undefined) uris.set(row.id, uri);
  }
  return uris;
}

/** Sets (or, with null, removes) a client's URI; the caller has checked it with `checkClientUri`. */
export async function setClientUri(db: Kysely<Schema>, clientId: string, uri: string | null): Promise<void> {
  if (uri === null) {
    await db
      .deleteFrom("oidc_model")
      .where("model", "=", clientUriModel)
      .where("id", "=", clientId)
      .execute();
    return;
  }
  const values = {
    payload: JSON.stringify({ clientUri: uri }),
    grant_id: null,
    client_id: clientId,
    user_code: null,
    uid: null,
    account_id: null,
    expires_at: null,
    consumed_at: null,
  };
  await db
    .insertInto("oidc_model")
    .values({ model: clientUriModel, id: clientId, ...values })
    .onConflict((oc) => oc.columns(["model", "id"]).doUpdateSet(values))
    .execute();
}

function uriOf(payload: string): string | undefined {
  const parsed: unknown = JSON.parse(payload);
  return typeof parsed === "object" &&
    parsed !== null &&
    "clientUri" in parsed &&
    typeof parsed.clientUri === "string"
    ? parsed.clientUri
    : undefined;
}
