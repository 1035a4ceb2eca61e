import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import type { Kysely } from "kysely";
import * as m001 from "../../src/db/migrations/001-initial.ts";
import * as m002 from "../../src/db/migrations/002-password-reset.ts";
import * as m003 from "../../src/db/migrations/003-email-reminder.ts";
import * as m004 from "../../src/db/migrations/004-two-step.ts";
import * as m005 from "../../src/db/migrations/005-sign-in-lockout.ts";
import * as m006 from "../../src/db/migrations/006-sign-in-context.ts";
import * as m007 from "../../src/db/migrations/007-passkeys.ts";
import * as m008 from "../../src/db/migrations/008-oidc.ts";
import * as m009 from "../../src/db/migrations/009-passkey-reauthentication.ts";
import * as m010 from "../../src/db/migrations/010-oidc-account.ts";
import * as m011 from "../../src/db/migrations/011-oidc-token-binding.ts";
import * as m012 from "../../src/db/migrations/012-outbox-code-expiry.ts";
import * as profile from "../../src/db/migrations/013-profile.ts";
import { dialects, stopSharedPostgres } from "../support/databases.ts";
import { freshDatabase } from "../support/storage.ts";

// Migration 013 on accounts stored before it: every verified number then came from SMS two-step
// set-up, so it is marked as two-step's (it goes when its method goes); accounts without one stay so.

after(stopSharedPostgres);

for (const dialect of dialects) {
  describe(dialect, () => {
    test("migration 013 marks the numbers stored before it as two-step's", async (t) => {
      const db = await freshDatabase(t, dialect, false);
      const untyped = db as unknown as Kysely<unknown>;
      for (const m of [m001, m002, m003, m004, m005, m006, m007, m008, m009, m010, m011, m012])
        await m.up(untyped);
      const now = new Date().toISOString();
      const account = (id: string, phone: string | null) => ({
        id,
        email: `${id}@example.jp`,
        email_verified_at: now,
        name: "山田 花子",
        phone,
        phone_verified_at: phone ? now : null,
        password_hash: null,
        password_changed_at: null,
        locale: "ja",
        status: "active",
        status_reason: null,
        created_at: now,
        updated_at: now,
      });
      const before = untyped as Kysely<{ account: ReturnType<typeof account> }>;
      await before
        .insertInto("account")
        .values([account("acc_phone", "+819012345678"), account("acc_none", null)])
        .execute();

      await profile.up(untyped);

      const rows = await db
        .selectFrom("account")
        .select(["id", "phone", "phone_source"])
        .orderBy("id")
        .execute();
      assert.deepEqual(rows, [
        { id: "acc_none", phone: null, phone_source: null },
        { id: "acc_phone", phone: "+819012345678", phone_source: "two_step" },
      ]);
      assert.deepEqual(await db.selectFrom("profile_change").selectAll().execute(), []);
      assert.deepEqual(await db.selectFrom("email_change_undo").selectAll().execute(), []);
    });
  });
}
