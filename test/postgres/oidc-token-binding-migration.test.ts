import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import type { Kysely } from "kysely";
import * as oidc from "../../src/db/migrations/008-oidc.ts";
import * as oidcAccount from "../../src/db/migrations/010-oidc-account.ts";
import * as oidcTokenBinding from "../../src/db/migrations/011-oidc-token-binding.ts";
import { dialects, stopSharedPostgres } from "../support/databases.ts";
import { freshDatabase } from "../support/storage.ts";

// Migration 011 on the provider's rows stored before it: codes and tokens were kept by their raw
// value and bound to no Mamori session, so none may stay (a copy of the database would hold usable
// tokens); the consents (grants) and the provider's sessions stay.

after(stopSharedPostgres);

for (const dialect of dialects) {
  describe(dialect, () => {
    test("migration 011 deletes the codes and tokens stored by their raw value and keeps grants and sessions", async (t) => {
      const db = await freshDatabase(t, dialect, false);
      const untyped = db as unknown as Kysely<unknown>;
      await oidc.up(untyped);
      await oidcAccount.up(untyped);
      const row = (model: string, id: string) => ({
        model,
        id,
        payload: JSON.stringify({ jti: id, accountId: "acc_1", clientId: "cli_1", grantId: "g1" }),
        grant_id: model === "Grant" ? null : "g1",
        client_id: "cli_1",
        user_code: null,
        uid: null,
        expires_at: null,
        consumed_at: null,
        account_id: "acc_1",
        used_at: null,
      });
      const before = untyped as Kysely<{ oidc_model: ReturnType<typeof row> }>;
      await before
        .insertInto("oidc_model")
        .values([
          row("Grant", "g1"),
          row("Session", "s1"),
          row("AuthorizationCode", "raw-code"),
          row("AccessToken", "raw-access-token"),
          row("RefreshToken", "raw-refresh-token"),
        ])
        .execute();

      await oidcTokenBinding.up(untyped);

      const rows = await db
        .selectFrom("oidc_model")
        .select(["model", "id", "mamori_session_id", "issued_at"])
        .orderBy("model")
        .execute();
      assert.deepEqual(rows, [
        { model: "Grant", id: "g1", mamori_session_id: null, issued_at: null },
        { model: "Session", id: "s1", mamori_session_id: null, issued_at: null },
      ]);
    });
  });
}
