import type { Kysely } from "kysely";
import type { Adapter, AdapterPayload } from "oidc-provider";
import { sha256Hex } from "../crypto/secrets.ts";
import type { Schema } from "../db/schema.ts";
import type { Clock } from "../deps.ts";
import { recordLogoutTarget } from "./backchannel-logout.ts";
import { findClient, toProviderMetadata } from "./clients.ts";
import { deviceCodeAdapter } from "./device-code-adapter.ts";
import { currentProviderRequest } from "./provider-request.ts";

/**
 * oidc-provider's storage in Mamori's database (SQLite or PostgreSQL through Kysely): one table,
 * `oidc_model`, keyed by (model, id), the payload as JSON, with the columns its look-ups need
 * (grant, uid, user code) and the expiry. Clients come from `oidc_client` (the CLI registers them)
 * and are never written through here. Nothing is kept in process memory, so every Mamori process
 * sees the same codes and tokens.
 *
 * Codes and tokens (the values a shop holds) are special:
 * - stored under the SHA-256 of the value, which is not in the payload either: a copy of the
 *   database gives no usable code or token;
 * - bound to the Mamori session they were issued in (provider-request.ts) and read back only while
 *   it is not revoked, the account is active, its password has not changed since they were issued,
 *   and, unless `offline_access` was granted, the session has not expired. Every way a Mamori
 *   session ends (sign-out, revoking it, signing out everywhere, "this wasn't me", a password reset
 *   or change, suspension or closure) ends the shop's codes and tokens from it here, in one place,
 *   at the moment the session's row says so;
 * - spent once: the second `consume` of a code or refresh token, also from parallel requests,
 *   fails with `spent()` (invalid_grant), so one code or refresh token never yields two sets of
 *   tokens.
 */
export type AdapterDeps = {
  db: Kysely<Schema>;
  clock: Clock;
  secretKeys: readonly Buffer[];
  /** The provider's error for a code or refresh token used a second time (invalid_grant). */
  spent: () => Error;
};

// Expired artefacts are swept when new authorization codes are stored (every sign-in at a shop),
// a day after they expired.
const sweepDelayMs = 86_400_000;

const tokenModels: ReadonlySet<string> = new Set(["AuthorizationCode", "AccessToken", "RefreshToken"]);
/** The models whose rows a later access or refresh token is issued from, in the same request. */
const presentedModels: ReadonlySet<string> = new Set(["AuthorizationCode", "RefreshToken"]);

function stringOrNull(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

export function createAdapterFactory(deps: AdapterDeps): (model: string) => Adapter {
  return (model) =>
    model === "Client"
      ? clientAdapter(deps)
      : tokenModels.has(model)
        ? tokenAdapter(model, deps)
        : model === "DeviceCode"
          ? deviceCodeAdapter(deps)
          : modelAdapter(model, deps);
}

export function parsePayload(text: string, consumedAt: string | null): AdapterPayload | undefined {
  const payload: unknown = JSON.parse(text);
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) return undefined;
  const result = payload as AdapterPayload;
  if (consumedAt) result.consumed = Math.floor(Date.parse(consumedAt) / 1000);
  return result;
}

export function expiresAt(now: Date, expiresIn: number | undefined): string | null {
  return typeof expiresIn === "number" ? new Date(now.getTime() + expiresIn * 1000).toISOString() : null;
}

/** Grants, the provider's sessions and interactions: stored by id, as the provider gives them. */
function modelAdapter(model: string, deps: AdapterDeps): Adapter {
  const { db } = deps;
  const live = (nowText: string) =>
    db
      .selectFrom("oidc_model")
      .select(["payload", "consumed_at"])
      .where("model", "=", model)
      .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", nowText)]));
  const first = async (query: ReturnType<typeof live>): Promise<AdapterPayload | undefined> => {
    const row = await query.executeTakeFirst();
    return row ? parsePayload(row.payload, row.consumed_at) : undefined;
  };
  return {
    async upsert(id, payload, expiresIn) {
      const values = {
        payload: JSON.stringify(payload),
        grant_id: stringOrNull(payload.grantId),
        client_id: stringOrNull(payload.clientId),
        user_code: stringOrNull(payload.userCode),
        uid: stringOrNull(payload.uid),
        account_id: stringOrNull(payload.accountId),
        expires_at: expiresAt(deps.clock.now(), expiresIn),
        consumed_at: null,
      };
      await db
        .insertInto("oidc_model")
        .values({ model, id, ...values })
        .onConflict((oc) => oc.columns(["model", "id"]).doUpdateSet(values))
        .execute();
    },
    find(id) {
      return first(live(deps.clock.now().toISOString()).where("id", "=", id));
    },
    findByUid(uid) {
      return first(live(deps.clock.now().toISOString()).where("uid", "=", uid));
    },
    findByUserCode(userCode) {
      return first(live(deps.clock.now().toISOString()).where("user_code", "=", userCode));
    },
    async consume(id) {
      await db
        .updateTable("oidc_model")
        .set({ consumed_at: deps.clock.now().toISOString() })
        .where("model", "=", model)
        .where("id", "=", id)
        .execute();
    },
    async destroy(id) {
      await db.deleteFrom("oidc_model").where("model", "=", model).where("id", "=", id).execute();
    },
    async revokeByGrantId(grantId) {
      await db.deleteFrom("oidc_model").where("model", "=", model).where("grant_id", "=", grantId).execute();
    },
  };
}

/** The Mamori session a new code or token belongs to, or null (then it is never read back). */
async function issuingSession(model: string, payload: AdapterPayload): Promise<string | null> {
  const request = currentProviderRequest();
  if (!request) return null;
  if (model === "AuthorizationCode") {
    const browser = await request.browserSession();
    return browser && browser.account.id === payload.accountId ? browser.session.id : null;
  }
  return request.presentedSession ?? null;
}

export type TokenRow = {
  payload: string;
  consumed_at: string | null;
  issued_at: string | null;
  mamori_session_id: string | null;
  session_id: string | null;
  revoked_at: string | null;
  idle_expires_at: string | null;
  absolute_expires_at: string | null;
  status: string | null;
  password_changed_at: string | null;
};

/** Whether a stored code or token may still be used, by the state of its session and account now. */
export function tokenIsLive(row: TokenRow, payload: AdapterPayload, nowText: string): boolean {
  if (row.session_id === null || row.revoked_at !== null || row.issued_at === null) return false;
  if (row.status !== "active") return false;
  if (row.password_changed_at !== null && row.password_changed_at > row.issued_at) return false;
  // Without offline_access a shop's tokens end with the sign-in (oidc-provider's expiresWithSession).
  if (payload.expiresWithSession === true) {
    if (row.idle_expires_at === null || row.idle_expires_at <= nowText) return false;
    if (row.absolute_expires_at === null || row.absolute_expires_at <= nowText) return false;
  }
  return true;
}

/** Authorization codes, access tokens and refresh tokens: hashed, bound to a Mamori session, spent once. */
function tokenAdapter(model: string, deps: AdapterDeps): Adapter {
  const { db } = deps;
  const keyOf = (id: string): string => sha256Hex(id);
  return {
    async upsert(id, payload, expiresIn) {
      const now = deps.clock.now();
      // The value itself never reaches the database: oidc-provider puts it in the payload as jti.
      const { jti: _value, ...stored } = payload;
      const values = {
        payload: JSON.stringify(stored),
        grant_id: stringOrNull(payload.grantId),
        client_id: stringOrNull(payload.clientId),
        user_code: null,
        uid: null,
        account_id: stringOrNull(payload.accountId),
        expires_at: expiresAt(now, expiresIn),
        consumed_at: null,
        mamori_session_id: await issuingSession(model, payload),
        issued_at: now.toISOString(),
      };
      await db
        .insertInto("oidc_model")
        .values({ model, id: keyOf(id), ...values })
        .onConflict((oc) => oc.columns(["model", "id"]).doUpdateSet(values))
        .execute();
      // A code or token issued under a grant is the shop using it: "last used" on the account's
      // "Apps and websites" page (src/oidc/connected-apps.ts), kept on the grant because token rows
      // are short-lived and swept.
      if (values.grant_id !== null) {
        await db
          .updateTable("oidc_model")
          .set({ used_at: now.toISOString() })
          .where("model", "=", "Grant")
          .where("id", "=", values.grant_id)
          .execute();
      }
      if (model === "AuthorizationCode") {
        // The shop now holds a sign-in from this Mamori session: told when it ends (backchannel-logout.ts).
        const { sid, clientId, accountId } = payload;
        if (
          typeof sid === "string" &&
          typeof clientId === "string" &&
          typeof accountId === "string" &&
          values.mamori_session_id !== null
        ) {
          await recordLogoutTarget(db, {
            clientId,
            sid,
            accountId,
            mamoriSessionId: values.mamori_session_id,
            now,
          });
        }
        await db
          .deleteFrom("oidc_model")
          .where("expires_at", "<", new Date(now.getTime() - sweepDelayMs).toISOString())
          .execute();
      }
    },
    async find(id) {
      const nowText = deps.clock.now().toISOString();
      const row = await db
        .selectFrom("oidc_model")
        .leftJoin("session", "session.id", "oidc_model.mamori_session_id")
        .leftJoin("account", "account.id", "oidc_model.account_id")
        .select([
          "oidc_model.payload",
          "oidc_model.consumed_at",
          "oidc_model.issued_at",
          "oidc_model.mamori_session_id",
          "session.id as session_id",
          "session.revoked_at",
          "session.idle_expires_at",
          "session.absolute_expires_at",
          "account.status",
          "account.password_changed_at",
        ])
        .where("oidc_model.model", "=", model)
        .where("oidc_model.id", "=", keyOf(id))
        .where((eb) =>
          eb.or([eb("oidc_model.expires_at", "is", null), eb("oidc_model.expires_at", ">", nowText)]),
        )
        .executeTakeFirst();
      if (!row) return undefined;
      const payload = parsePayload(row.payload, row.consumed_at);
      if (!payload || !tokenIsLive(row, payload, nowText)) return undefined;
      // The token about to be issued from this code or refresh token belongs to the same session.
      const request = currentProviderRequest();
      if (request && presentedModels.has(model))
        request.presentedSession = row.mamori_session_id ?? undefined;
      return { ...payload, jti: id };
    },
    findByUid: async () => undefined,
    findByUserCode: async () => undefined,
    async consume(id) {
      const result = await db
        .updateTable("oidc_model")
        .set({ consumed_at: deps.clock.now().toISOString() })
        .where("model", "=", model)
        .where("id", "=", keyOf(id))
        .where("consumed_at", "is", null)
        .executeTakeFirst();
      // Another request spent it first (both found it unspent): only one of them goes on.
      if (result.numUpdatedRows === 0n) throw deps.spent();
    },
    async destroy(id) {
      await db.deleteFrom("oidc_model").where("model", "=", model).where("id", "=", keyOf(id)).execute();
    },
    async revokeByGrantId(grantId) {
      await db.deleteFrom("oidc_model").where("model", "=", model).where("grant_id", "=", grantId).execute();
    },
  };
}

function clientAdapter(deps: AdapterDeps): Adapter {
  const readOnly = async (): Promise<void> => {
    throw new Error("clients are registered with `mamori clients create`, not through the provider");
  };
  return {
    async find(id) {
      const row = await findClient(deps.db, id);
      return row ? toProviderMetadata(row, deps.secretKeys) : undefined;
    },
    findByUid: async () => undefined,
    findByUserCode: async () => undefined,
    upsert: readOnly,
    consume: readOnly,
    destroy: readOnly,
    revokeByGrantId: async () => {},
  };
}
