import type { Kysely } from "kysely";
import type { Adapter, AdapterPayload } from "oidc-provider";
import type { Schema } from "../db/schema.ts";
import type { Clock } from "../deps.ts";
import { findClient, toProviderMetadata } from "./clients.ts";

/**
 * oidc-provider's storage in Mamori's database (SQLite or PostgreSQL through Kysely): one table,
 * `oidc_model`, keyed by (model, id), the payload as JSON, with the columns its look-ups need
 * (grant, uid, user code) and the expiry. Clients come from `oidc_client` (the CLI registers them)
 * and are never written through here. Nothing is kept in process memory, so every Mamori process
 * sees the same codes and tokens.
 */
type AdapterDeps = { db: Kysely<Schema>; clock: Clock; secretKeys: readonly Buffer[] };

// Expired artefacts are swept when new authorization codes are stored (every sign-in at a shop),
// a day after they expired.
const sweepDelayMs = 86_400_000;

const tokenModels = new Set(["AuthorizationCode", "AccessToken", "RefreshToken"]);

function stringOrNull(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

export function createAdapterFactory(deps: AdapterDeps): (model: string) => Adapter {
  return (model) => (model === "Client" ? clientAdapter(deps) : modelAdapter(model, deps));
}

function parsePayload(text: string, consumedAt: string | null): AdapterPayload | undefined {
  const payload: unknown = JSON.parse(text);
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) return undefined;
  const result = payload as AdapterPayload;
  if (consumedAt) result.consumed = Math.floor(Date.parse(consumedAt) / 1000);
  return result;
}

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
      const now = deps.clock.now();
      const values = {
        payload: JSON.stringify(payload),
        grant_id: stringOrNull(payload.grantId),
        client_id: stringOrNull(payload.clientId),
        user_code: stringOrNull(payload.userCode),
        uid: stringOrNull(payload.uid),
        account_id: stringOrNull(payload.accountId),
        expires_at:
          typeof expiresIn === "number" ? new Date(now.getTime() + expiresIn * 1000).toISOString() : null,
        consumed_at: null,
      };
      await db
        .insertInto("oidc_model")
        .values({ model, id, ...values })
        .onConflict((oc) => oc.columns(["model", "id"]).doUpdateSet(values))
        .execute();
      // A code or token issued under a grant is the shop using it: "last used" on the account's
      // "Apps and websites" page (src/oidc/connected-apps.ts), kept on the grant because token rows
      // are short-lived and swept.
      const grantId = stringOrNull(payload.grantId);
      if (grantId !== null && tokenModels.has(model)) {
        await db
          .updateTable("oidc_model")
          .set({ used_at: now.toISOString() })
          .where("model", "=", "Grant")
          .where("id", "=", grantId)
          .execute();
      }
      if (model === "AuthorizationCode") {
        await db
          .deleteFrom("oidc_model")
          .where("expires_at", "<", new Date(now.getTime() - sweepDelayMs).toISOString())
          .execute();
      }
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
