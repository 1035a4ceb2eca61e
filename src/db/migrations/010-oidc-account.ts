import type { Kysely } from "kysely";

/**
 * "Apps and websites" (docs/decisions/0010-connected-apps.md): the provider's rows learn whose they
 * are, so an account's grants are one indexed read, and a grant keeps when a shop last received a
 * code or token under it (`used_at`, Mamori's clock), which outlives the short-lived token rows.
 */
type Row = { model: string; id: string; payload: string; grant_id: string | null };

const modelsWithAccount = ["Grant", "AuthorizationCode", "AccessToken", "RefreshToken", "Session"];
const tokenModels = new Set(["AuthorizationCode", "AccessToken", "RefreshToken"]);

function fieldsOf(payload: string): { accountId: string | null; iat: number | null } {
  try {
    const parsed: unknown = JSON.parse(payload);
    if (typeof parsed !== "object" || parsed === null) return { accountId: null, iat: null };
    const record = parsed as Record<string, unknown>;
    return {
      accountId: typeof record.accountId === "string" ? record.accountId : null,
      iat: typeof record.iat === "number" ? record.iat : null,
    };
  } catch {
    return { accountId: null, iat: null };
  }
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("oidc_model").addColumn("account_id", "text").execute();
  await db.schema.alterTable("oidc_model").addColumn("used_at", "text").execute();
  await db.schema
    .createIndex("oidc_model_account_id")
    .on("oidc_model")
    .columns(["account_id", "model"])
    .execute();

  // The rows stored before this migration: their account from the payload, and a grant's last use
  // from the newest code or token still stored under it.
  const typed = db as unknown as Kysely<{
    oidc_model: Row & { account_id: string | null; used_at: string | null };
  }>;
  const rows = await typed
    .selectFrom("oidc_model")
    .select(["model", "id", "payload", "grant_id"])
    .where("model", "in", modelsWithAccount)
    .execute();
  const lastIssuedByGrant = new Map<string, number>();
  for (const row of rows) {
    const { iat } = fieldsOf(row.payload);
    if (!tokenModels.has(row.model) || row.grant_id === null || iat === null) continue;
    lastIssuedByGrant.set(row.grant_id, Math.max(iat, lastIssuedByGrant.get(row.grant_id) ?? 0));
  }
  for (const row of rows) {
    const { accountId } = fieldsOf(row.payload);
    const lastIssued = row.model === "Grant" ? lastIssuedByGrant.get(row.id) : undefined;
    if (accountId === null && lastIssued === undefined) continue;
    await typed
      .updateTable("oidc_model")
      .set({
        account_id: accountId,
        ...(lastIssued !== undefined ? { used_at: new Date(lastIssued * 1000).toISOString() } : {}),
      })
      .where("model", "=", row.model)
      .where("id", "=", row.id)
      .execute();
  }
}
