import assert from "node:assert/strict";
import { test } from "node:test";
import { mayChangeTables } from "./sqlite-changes.ts";

const watched = new Set(["session", "account"]);

test("statements that may change a cached session or account are told apart from those that cannot", () => {
  const cannot = [
    'select * from "session" where "id" = ?',
    "  SELECT 1",
    "begin",
    "commit",
    "rollback",
    'insert into "session" ("id") values (?)',
    'insert into "audit_event" ("id") values (?) on conflict do nothing',
    'update "sign_in_flow" set "state" = ? where "id" = ?',
    'delete from "outbox_message" where "id" = ?',
  ];
  const may = [
    'update "session" set "revoked_at" = ? where "id" = ?',
    'delete from "session" where "account_id" = ?',
    'update "account" set "status" = ? where "id" = ?',
    // Deleting an account deletes its sessions (ON DELETE CASCADE).
    'delete from "account" where "id" = ?',
    'insert into "account" ("id") values (?) on conflict ("id") do update set "name" = ?',
    'insert or replace into "session" ("id") values (?)',
    'with x as (select 1) update "session" set "ip" = ?',
    "PRAGMA foreign_keys = OFF",
    'drop table "session"',
  ];
  for (const sql of cannot) assert.equal(mayChangeTables(sql, watched), false, sql);
  for (const sql of may) assert.equal(mayChangeTables(sql, watched), true, sql);
});
