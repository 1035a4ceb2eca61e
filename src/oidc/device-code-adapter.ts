import { type Kysely, sql } from "kysely";
import type { Adapter, AdapterPayload } from "oidc-provider";
import { decryptSecret, encryptSecret } from "../crypto/encryption.ts";
import { sha256Hex } from "../crypto/secrets.ts";
import type { Schema } from "../db/schema.ts";
import { type AdapterDeps, expiresAt, parsePayload, tokenIsLive } from "./adapter.ts";
import { currentProviderRequest } from "./provider-request.ts";

/**
 * The device codes of the Device Authorization Grant (RFC 8628) in `oidc_model`, kept like the
 * other codes (adapter.ts): a copy of the database gives no usable device code or user code.
 *
 * - The row's id is the SHA-256 of the device code (the device's secret, which it polls with).
 *   oidc-provider must get the device code back when the person's user code finds the row, so it
 *   is also kept sealed (AES-256-GCM under MAMORI_SECRET_KEYS) in the payload.
 * - The user code is kept only as its SHA-256 (`user_code`): a look-up hashes what the person typed.
 * - Approved, the code is bound to the Mamori session that approved it (the browser's, on the
 *   device page): the device's tokens end as every shop's do when that session ends (revoked,
 *   signed out everywhere, a new password, the account suspended or closed). Before approval (or
 *   after a refusal) it belongs to no one, and the device's polls read it so they hear
 *   `authorization_pending` (or `access_denied`).
 * - Spent once: the second `consume`, also from parallel polls, fails with `spent()`.
 */
const model = "DeviceCode";
const sealPurpose = "oidc device code";

export function deviceCodeAdapter(deps: AdapterDeps): Adapter {
  const { db } = deps;
  const keyOf = (id: string): string => sha256Hex(id);

  /**
   * The stored payload as oidc-provider gave it: the device code unsealed, the user code as typed.
   * Expired codes are returned too, marked expired by Mamori's clock (`exp` in the past): the
   * device then hears `expired_token` and the page says "this code has expired", not "no such code".
   */
  function unseal(
    row: { payload: string; consumed_at: string | null; expires_at: string | null },
    nowText: string,
    userCode?: string,
  ): AdapterPayload | undefined {
    const payload = parsePayload(row.payload, row.consumed_at);
    if (!payload || typeof payload.sealedId !== "string") return undefined;
    const id = decryptSecret(deps.secretKeys, payload.sealedId, sealPurpose);
    if (!id) return undefined;
    const { sealedId: _sealed, ...rest } = payload;
    const expired = row.expires_at !== null && row.expires_at <= nowText;
    return {
      ...rest,
      jti: id.toString("utf8"),
      ...(userCode === undefined ? {} : { userCode }),
      ...(expired ? { exp: 1 } : {}),
    };
  }

  const rowQuery = () =>
    db
      .selectFrom("oidc_model")
      .leftJoin("session", "session.id", "oidc_model.mamori_session_id")
      .leftJoin("account", "account.id", "oidc_model.account_id")
      .select([
        "oidc_model.payload",
        "oidc_model.consumed_at",
        "oidc_model.issued_at",
        "oidc_model.expires_at",
        "oidc_model.mamori_session_id",
        "session.id as session_id",
        "session.revoked_at",
        "session.idle_expires_at",
        "session.absolute_expires_at",
        "account.status",
        "account.password_changed_at",
      ])
      .where("oidc_model.model", "=", model);

  return {
    async upsert(id, payload, expiresIn) {
      const now = deps.clock.now();
      const { jti: _value, userCode, ...rest } = payload;
      const stored = {
        ...rest,
        sealedId: encryptSecret(deps.secretKeys, Buffer.from(id, "utf8"), sealPurpose),
      };
      const accountId = typeof payload.accountId === "string" ? payload.accountId : null;
      // Approval happens on Mamori's device page, signed in: that browser's session owns the code.
      const browser = accountId ? await currentProviderRequest()?.browserSession() : undefined;
      const values = {
        payload: JSON.stringify(stored),
        grant_id: typeof payload.grantId === "string" ? payload.grantId : null,
        client_id: typeof payload.clientId === "string" ? payload.clientId : null,
        user_code: typeof userCode === "string" ? sha256Hex(userCode) : null,
        account_id: accountId,
        expires_at: expiresAt(now, expiresIn),
        mamori_session_id: browser && browser.account.id === accountId ? browser.session.id : null,
        issued_at: now.toISOString(),
      };
      await db
        .insertInto("oidc_model")
        // `uid` is the claim of the person who answered (claimDeviceCode): never reset by a save.
        .values({ model, id: keyOf(id), consumed_at: null, uid: null, ...values })
        // A later save that knows no user code or approving browser (the provider saving what a
        // device's request found) keeps the stored ones: the code stays findable and bound.
        .onConflict((oc) =>
          oc.columns(["model", "id"]).doUpdateSet({
            ...values,
            user_code: sql<string | null>`coalesce(excluded.user_code, oidc_model.user_code)`,
            mamori_session_id: sql<
              string | null
            >`coalesce(excluded.mamori_session_id, oidc_model.mamori_session_id)`,
          }),
        )
        .execute();
    },
    async find(id) {
      const nowText = deps.clock.now().toISOString();
      const row = await rowQuery().where("oidc_model.id", "=", keyOf(id)).executeTakeFirst();
      if (!row) return undefined;
      const payload = unseal(row, nowText);
      if (!payload) return undefined;
      // Approved: only while the approving session and the account are as they were.
      if (payload.accountId !== undefined && !tokenIsLive(row, payload, nowText)) return undefined;
      const request = currentProviderRequest();
      if (request) request.presentedSession = row.mamori_session_id ?? undefined;
      return payload;
    },
    findByUid: async () => undefined,
    async findByUserCode(userCode) {
      const row = await rowQuery().where("oidc_model.user_code", "=", sha256Hex(userCode)).executeTakeFirst();
      return row ? unseal(row, deps.clock.now().toISOString(), userCode) : undefined;
    },
    async consume(id) {
      const result = await db
        .updateTable("oidc_model")
        .set({ consumed_at: deps.clock.now().toISOString() })
        .where("model", "=", model)
        .where("id", "=", keyOf(id))
        .where("consumed_at", "is", null)
        .executeTakeFirst();
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

/**
 * Claims a pending device code for one answer (approve or deny), atomically: of two answers sent
 * together (two tabs, a double click, an attacker racing the owner) exactly one gets true, so a
 * code is answered once. `device_code` is the code's value (oidc-provider's jti).
 */
export async function claimDeviceCode(
  db: Kysely<Schema>,
  deviceCode: string,
  claimant: string,
): Promise<boolean> {
  const result = await db
    .updateTable("oidc_model")
    .set({ uid: claimant })
    .where("model", "=", model)
    .where("id", "=", sha256Hex(deviceCode))
    .where("uid", "is", null)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}
