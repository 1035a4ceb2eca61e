import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import type { Kysely } from "kysely";
import * as oidc from "../../src/db/migrations/008-oidc.ts";
import * as oidcAccount from "../../src/db/migrations/010-oidc-account.ts";
import { dialects, stopSharedPostgres } from "../support/databases.ts";
import { freshDatabase } from "../support/storage.ts";

// Migration 010 ("Apps and websites", docs/decisions/0010-connected-apps.md) on the provider's rows
// stored before it: each learns its account, and a grant its last use from its newest token.

after(stopSharedPostgres);

const iat = 1_900_000_000;

for (const dialect of dialects) {
  describe(dialect, () => {
    test("migration 010 fills in the account of stored grants and tokens and a grant's last use", async (t) => {
      const db = await freshDatabase(t, dialect, false);
      const untyped = db as unknown as Kysely<unknown>;
      await oidc.up(untyped);
      const row = (model: string, id: string, payload: Record<string, unknown>, grantId: string | null) => ({
        model,
        id,
        payload: JSON.stringify(payload),
        grant_id: grantId,
        client_id: typeof payload.clientId === "string" ? payload.clientId : null,
        user_code: null,
        uid: null,
        expires_at: null,
        consumed_at: null,
      });
      const before = untyped as Kysely<{ oidc_model: ReturnType<typeof row> }>;
      await before
        .insertInto("oidc_model")
        .values([
          row("Grant", "g1", { accountId: "acc_1", clientId: "cli_1", iat }, null),
          row(
            "AccessToken",
            "at1",
            { accountId: "acc_1", clientId: "cli_1", grantId: "g1", iat: iat + 60 },
            "g1",
          ),
          row(
            "RefreshToken",
            "rt1",
            { accountId: "acc_1", clientId: "cli_1", grantId: "g1", iat: iat + 30 },
            "g1",
          ),
          row("Grant", "g2", { accountId: "acc_2", clientId: "cli_1", iat }, null),
          row("Interaction", "i1", { uid: "u1" }, null),
        ])
        .execute();

      await oidcAccount.up(untyped);

      const rows = await db
        .selectFrom("oidc_model")
        .select(["id", "account_id", "used_at"])
        .orderBy("id")
        .execute();
      assert.deepEqual(rows, [
        { id: "at1", account_id: "acc_1", used_at: null },
        { id: "g1", account_id: "acc_1", used_at: new Date((iat + 60) * 1000).toISOString() },
        { id: "g2", account_id: "acc_2", used_at: null },
        { id: "i1", account_id: null, used_at: null },
        { id: "rt1", account_id: "acc_1", used_at: null },
      ]);
    });
  });
}
