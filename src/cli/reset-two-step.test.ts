import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { cliOnTestDatabase } from "../../test/support/cli.ts";

// `mamori accounts reset-two-step`, as support runs it: configuration from the environment, a
// SQLite file of its own.
const cli = cliOnTestDatabase("reset-two-step", {
  MAMORI_ARGON2_MEMORY_KIB: "1024",
  MAMORI_ARGON2_ITERATIONS: "1",
});
const { mamori } = cli;

/** An account made by the CLI with two-step on (an SMS method) and a verified mobile number. */
let numbers = 0;

async function accountWithTwoStep(email: string): Promise<string> {
  numbers++;
  const own = `+8190111122${String(numbers).padStart(2, "0")}`;
  const run = await mamori("accounts", "create", "--email", email, "--name", "山田 花子");
  assert.equal(run.status, 0, run.err);
  const id = (JSON.parse(run.out.slice(0, run.out.indexOf("\n\nPassword"))) as { id: string }).id;
  const now = new Date().toISOString();
  await cli
    .db()
    .updateTable("account")
    .set({ two_step_enabled_at: now, phone: own, phone_verified_at: now })
    .where("id", "=", id)
    .execute();
  await cli
    .db()
    .insertInto("two_step_method")
    .values({
      id: `mth_${id.slice(4)}`,
      account_id: id,
      role: "primary",
      method: "sms",
      state: "active",
      phone: `+8190333344${String(numbers).padStart(2, "0")}`,
      totp_secret: null,
      totp_last_step: null,
      created_at: now,
      verified_at: now,
      last_used_at: null,
    })
    .execute();
  return id;
}

async function twoStepOn(id: string): Promise<boolean> {
  const row = await cli
    .db()
    .selectFrom("account")
    .select("two_step_enabled_at")
    .where("id", "=", id)
    .executeTakeFirstOrThrow();
  return row.two_step_enabled_at !== null;
}

async function templatesTo(to: string): Promise<string[]> {
  const rows = await cli
    .db()
    .selectFrom("outbox_message")
    .select("template")
    .where("recipient", "=", to)
    .execute();
  return rows.map((r) => r.template);
}

async function auditTypes(id: string): Promise<{ type: string; actor: string; detail: string }[]> {
  return cli
    .db()
    .selectFrom("audit_event")
    .select(["type", "actor", "detail"])
    .where("account_id", "=", id)
    .execute();
}

describe("mamori accounts reset-two-step", () => {
  test("support's reset honours the waiting period: two-step stays on, the owner is told on every channel", async () => {
    // Attack: a caller who talks support into it. The owner, told by mail and SMS, cancels.
    const id = await accountWithTwoStep("wait@example.jp");
    const run = await mamori(
      "accounts",
      "reset-two-step",
      "wait@example.jp",
      "--reason",
      "電話で本人確認済み",
    );
    assert.equal(run.status, 0, run.err);
    assert.match(run.out, /will be turned off at .* unless the owner cancels/);
    assert.equal(await twoStepOn(id), true);
    const recovery = await cli
      .db()
      .selectFrom("two_step_recovery")
      .selectAll()
      .where("account_id", "=", id)
      .executeTakeFirstOrThrow();
    assert.equal(recovery.state, "waiting");
    assert.equal(recovery.started_by, "operator");
    assert.ok(recovery.cancel_token_hash, "the owner gets a cancel link");
    assert.ok((await templatesTo("wait@example.jp")).includes("two_step_recovery_started"));
    assert.deepEqual(await templatesTo(`+8190111122${String(numbers).padStart(2, "0")}`), [
      "two_step_recovery_notice_sms",
    ]);
    assert.deepEqual(await templatesTo(`+8190333344${String(numbers).padStart(2, "0")}`), [
      "two_step_recovery_notice_sms",
    ]);
    const started = (await auditTypes(id)).find((e) => e.type === "two_step_recovery.started");
    assert.equal(started?.actor, "operator");
    assert.match(started?.detail ?? "", /電話で本人確認済み/);
    // One waiting recovery per account.
    const again = await mamori("accounts", "reset-two-step", "wait@example.jp", "--reason", "二回目");
    assert.equal(again.status, 1);
    assert.match(again.err, /already waiting/);
  });

  test("--now with a reason turns two-step off at once, ends sessions, audits and mails the owner", async () => {
    const id = await accountWithTwoStep("now@example.jp");
    const run = await mamori(
      "accounts",
      "reset-two-step",
      "now@example.jp",
      "--reason",
      "本人来店で確認",
      "--now",
    );
    assert.equal(run.status, 0, run.err);
    assert.equal(await twoStepOn(id), false);
    const methods = await cli
      .db()
      .selectFrom("two_step_method")
      .select("id")
      .where("account_id", "=", id)
      .execute();
    assert.equal(methods.length, 0);
    assert.ok((await templatesTo("now@example.jp")).includes("two_step_recovery_completed"));
    const completed = (await auditTypes(id)).find((e) => e.type === "two_step_recovery.completed");
    assert.equal(completed?.actor, "operator");
    assert.match(completed?.detail ?? "", /本人来店で確認/);
  });

  test("--now also ends a recovery that was waiting", async () => {
    const id = await accountWithTwoStep("both@example.jp");
    assert.equal(
      (await mamori("accounts", "reset-two-step", "both@example.jp", "--reason", "待機")).status,
      0,
    );
    assert.equal(
      (await mamori("accounts", "reset-two-step", "both@example.jp", "--reason", "急ぎ", "--now")).status,
      0,
    );
    const states = await cli
      .db()
      .selectFrom("two_step_recovery")
      .select("state")
      .where("account_id", "=", id)
      .execute();
    assert.deepEqual(
      states.map((s) => s.state),
      ["completed", "completed"],
    );
    assert.equal(await twoStepOn(id), false);
  });

  test("a reset needs a reason, an account, and two-step on", async () => {
    await accountWithTwoStep("refused@example.jp");
    const noReason = await mamori("accounts", "reset-two-step", "refused@example.jp", "--now");
    assert.equal(noReason.status, 1);
    assert.match(noReason.err, /--reason is required/);
    const blank = await mamori("accounts", "reset-two-step", "refused@example.jp", "--reason", "  ");
    assert.equal(blank.status, 1);
    const unknown = await mamori("accounts", "reset-two-step", "nobody@example.jp", "--reason", "x");
    assert.equal(unknown.status, 1);
    assert.match(unknown.err, /no account/);
    await mamori("accounts", "reset-two-step", "refused@example.jp", "--reason", "x", "--now");
    const off = await mamori("accounts", "reset-two-step", "refused@example.jp", "--reason", "x");
    assert.equal(off.status, 1);
    assert.match(off.err, /already off/);
    const misplaced = await mamori("accounts", "suspend", "refused@example.jp", "--reason", "x", "--now");
    assert.equal(misplaced.status, 2);
  });
});
