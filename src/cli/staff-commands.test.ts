import assert from "node:assert/strict";
import { test } from "node:test";
import { cliOnTestDatabase } from "../../test/support/cli.ts";

// `mamori staff …`: console staff are made on the server only, with a set-up link printed once.
const cli = cliOnTestDatabase("cli-staff");
const { mamori } = cli;

test("staff create prints a set-up link once and stores only its hash", async () => {
  const run = await mamori(
    "staff",
    "create",
    "help@shop.example.jp",
    "--name",
    "窓口 花子",
    "--role",
    "support",
  );
  assert.equal(run.status, 0, run.err);
  const link = /set-up link \(valid 24 hours, once\): (\S+)/.exec(run.out)?.[1];
  assert.ok(link);
  const token = new URL(link).searchParams.get("token") ?? "";
  assert.ok(token.length >= 40);
  const row = await cli
    .db()
    .selectFrom("staff_account")
    .selectAll()
    .where("email", "=", "help@shop.example.jp")
    .executeTakeFirstOrThrow();
  assert.equal(row.status, "invited");
  assert.equal(row.role, "support");
  assert.ok(row.enrol_token_hash && !row.enrol_token_hash.includes(token), "only a hash is kept");

  const again = await mamori("staff", "create", "HELP@shop.example.jp", "--name", "別人", "--role", "admin");
  assert.equal(again.status, 1, "the same address twice");
  const badRole = await mamori("staff", "create", "x@shop.example.jp", "--name", "X", "--role", "owner");
  assert.equal(badRole.status, 1);
  assert.match(badRole.err, /role_invalid/);

  const listed = await mamori("staff", "list");
  assert.equal(listed.status, 0);
  assert.doesNotMatch(listed.out, /hash|totp|secret/i, "no secret in the list");
  assert.match(listed.out, /help@shop\.example\.jp/);

  const reinvited = await mamori("staff", "reinvite", "help@shop.example.jp");
  assert.equal(reinvited.status, 0, reinvited.err);
  assert.notEqual(/set-up link[^:]*: (\S+)/.exec(reinvited.out)?.[1], link, "a new link");
  const disabled = await mamori("staff", "disable", "help@shop.example.jp");
  assert.equal(disabled.status, 0, disabled.err);
  const after = await cli
    .db()
    .selectFrom("staff_account")
    .select(["status", "enrol_token_hash"])
    .where("email", "=", "help@shop.example.jp")
    .executeTakeFirstOrThrow();
  assert.deepEqual(after, { status: "disabled", enrol_token_hash: null });
  assert.equal((await mamori("staff", "disable", "nobody@shop.example.jp")).status, 1);
});
