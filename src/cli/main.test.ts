import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { cliOnTestDatabase } from "../../test/support/cli.ts";
import { loadConfig } from "../config/config.ts";
import { secureRandom, systemClock } from "../deps.ts";
import { readMaintenanceMode } from "../operations/maintenance.ts";
import { createSession } from "../session/sessions.ts";

// The CLI reads its configuration from the environment, as `npx mamori` does.
const cli = cliOnTestDatabase("cli", { MAMORI_ARGON2_MEMORY_KIB: "1024", MAMORI_ARGON2_ITERATIONS: "1" });
const { mamori } = cli;

async function createAccount(email: string): Promise<string> {
  const run = await mamori("accounts", "create", "--email", email, "--name", "山田 花子");
  assert.equal(run.status, 0, run.err);
  const account = JSON.parse(run.out.slice(0, run.out.indexOf("\n\nPassword"))) as { id: string };
  return account.id;
}

describe("mamori accounts", () => {
  test("accounts create makes a verified account and prints a generated password once", async () => {
    const run = await mamori("accounts", "create", "--email", "Create@Example.JP", "--name", "山田 花子");
    assert.equal(run.status, 0, run.err);
    assert.match(run.out, /"email": "create@example.jp"/);
    assert.match(run.out, /Password \(shown once[^)]*\): [0-9a-z]{5}(-[0-9a-z]{5}){3}$/);
    const row = await cli
      .db()
      .selectFrom("account")
      .selectAll()
      .where("email", "=", "create@example.jp")
      .executeTakeFirstOrThrow();
    assert.equal(row.status, "active");
    assert.ok(row.email_verified_at);
    assert.match(row.password_hash ?? "", /^\$argon2id\$/);
  });

  test("accounts show never prints the password hash", async () => {
    await createAccount("show@example.jp");
    const run = await mamori("accounts", "show", "show@example.jp");
    assert.equal(run.status, 0);
    assert.doesNotMatch(run.out, /argon2|password_hash/);
    assert.equal((JSON.parse(run.out) as { hasPassword: boolean }).hasPassword, true);
  });

  test("an operator's suspension signs the owner out everywhere and mails the reason", async () => {
    const id = await createAccount("suspend@example.jp");
    const deps = {
      clock: systemClock,
      random: secureRandom,
      limits: loadConfig({ NODE_ENV: "test" }).limits,
    };
    for (let i = 0; i < 2; i++) {
      await createSession(cli.db(), deps, {
        accountId: id,
        factors: ["password"],
        persistent: true,
        sessionType: "cookie",
        ip: null,
        userAgent: null,
      });
    }
    const run = await mamori("accounts", "suspend", id, "--reason", "支払いの不正利用の疑い");
    assert.equal(run.status, 0, run.err);
    assert.match(run.out, /2 session\(s\) signed out/);
    const live = await cli
      .db()
      .selectFrom("session")
      .select("id")
      .where("account_id", "=", id)
      .where("revoked_at", "is", null)
      .execute();
    assert.deepEqual(live, []);
    const mail = await cli
      .db()
      .selectFrom("outbox_message")
      .selectAll()
      .where("recipient", "=", "suspend@example.jp")
      .where("template", "=", "account_status_changed")
      .executeTakeFirstOrThrow();
    assert.match(mail.text_body, /支払いの不正利用の疑い/);
    const audit = await cli
      .db()
      .selectFrom("audit_event")
      .selectAll()
      .where("account_id", "=", id)
      .where("type", "=", "account.suspended")
      .executeTakeFirstOrThrow();
    assert.equal(audit.actor, "operator");
  });

  test("a suspension without a reason is refused and changes nothing", async () => {
    const id = await createAccount("noreason@example.jp");
    const run = await mamori("accounts", "suspend", id);
    assert.equal(run.status, 1);
    assert.match(run.err, /--reason is required/);
    const row = await cli
      .db()
      .selectFrom("account")
      .select("status")
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
    assert.equal(row.status, "active");
  });

  test("close and reopen move the account's status and say so", async () => {
    await createAccount("close@example.jp");
    assert.equal((await mamori("accounts", "close", "close@example.jp", "--reason", "本人の依頼")).status, 0);
    const again = await mamori("accounts", "close", "close@example.jp", "--reason", "again");
    assert.equal(again.status, 1);
    assert.match(again.err, /already has that status/);
    const reopened = await mamori("accounts", "reopen", "close@example.jp");
    assert.equal(reopened.status, 0);
    assert.match(reopened.out, /is now active/);
  });

  test("accounts close schedules the erasure; purge erases after it, and reopen is then refused", async () => {
    const id = await createAccount("erase@example.jp");
    assert.equal((await mamori("accounts", "close", id, "--reason", "本人の依頼")).status, 0);
    const shown = JSON.parse((await mamori("accounts", "show", id)).out) as Record<string, string | null>;
    assert.ok(shown.closedAt && shown.eraseAfter && shown.erasedAt === null);
    assert.equal(
      Date.parse(shown.eraseAfter) - Date.parse(shown.closedAt),
      30 * 86_400_000,
      "the default grace period is 30 days",
    );
    // The grace period has ended (as if 30 days had passed).
    await cli
      .db()
      .updateTable("account")
      .set({ erase_after: new Date(Date.now() - 1000).toISOString() })
      .where("id", "=", id)
      .execute();
    const purged = await mamori("purge");
    assert.match(purged.out, /closed accounts erased: 1/);
    const reopened = await mamori("accounts", "reopen", id);
    assert.equal(reopened.status, 1);
    assert.match(reopened.err, /erased: it cannot be reopened/);
    assert.equal((await mamori("accounts", "show", "erase@example.jp")).status, 1, "the address is gone");
  });

  test("an unknown account is reported, not invented", async () => {
    const run = await mamori("accounts", "show", "nobody@example.jp");
    assert.equal(run.status, 1);
    assert.match(run.err, /no account/);
  });
});

describe("mamori maintenance", () => {
  test("maintenance on stores the operator's message for every process, and off clears it", async () => {
    const before = Date.now();
    const on = await mamori("maintenance", "on", "--message", "10時まで点検中です", "--retry-after", "900");
    assert.equal(on.status, 0, on.err);
    const { endsAt, ...stored } = (await readMaintenanceMode(cli.db())) as { endsAt?: string };
    assert.deepEqual(stored, {
      on: true,
      message: "10時まで点検中です",
      messageEn: "",
      retryAfterSeconds: 900,
    });
    const end = Date.parse(endsAt ?? "");
    assert.ok(end >= before + 900_000 && end <= Date.now() + 900_000, `expected end ${endsAt}`);
    assert.match((await mamori("maintenance", "status")).out, /on: 10時まで/);
    assert.equal((await mamori("maintenance", "off")).status, 0);
    assert.deepEqual(await readMaintenanceMode(cli.db()), { on: false });
  });

  test("maintenance on --message-en keeps an English message beside the Japanese one, and prints the expected end in Japan time", async () => {
    const run = await mamori(
      "maintenance",
      "on",
      "--message",
      "システムを点検しています。",
      "--message-en",
      "  We are upgrading our systems.  ",
      "--retry-after",
      "5400",
    );
    assert.equal(run.status, 0, run.err);
    const mode = await readMaintenanceMode(cli.db());
    assert.ok(mode.on);
    assert.equal(mode.message, "システムを点検しています。");
    assert.equal(mode.messageEn, "We are upgrading our systems.");
    assert.equal(mode.retryAfterSeconds, 5400);
    // The end as the page shows it, 「12月6日の21:30ごろ」, and the instant it came from.
    assert.match(
      run.out,
      new RegExp(
        `expected end: \\d{1,2}月\\d{1,2}日の\\d{2}:\\d[05]ごろ \\(Japan time; ${mode.endsAt.replace(/\./g, "\\.")}\\)`,
      ),
    );
    const status = await mamori("maintenance", "status");
    assert.match(status.out, /expected end: .*ごろ/);
    assert.equal((await mamori("maintenance", "off")).status, 0);
    const bad = await mamori("maintenance", "on", "--message", "点検中", "--retry-after", "0");
    assert.equal(bad.status, 2, "--retry-after out of range is a usage error");
  });

  test("maintenance on without a message is a usage error", async () => {
    const run = await mamori("maintenance", "on");
    assert.equal(run.status, 2);
    assert.match(run.err, /--message/);
  });
});

describe("mamori audit", () => {
  test("audit --account lists the account's security events, newest first, without secrets", async () => {
    const id = await createAccount("audit@example.jp");
    await mamori("accounts", "suspend", id, "--reason", "調査中");
    const run = await mamori("audit", "--account", "audit@example.jp");
    assert.equal(run.status, 0, run.err);
    const events = run.out.split("\n").map((line) => JSON.parse(line) as { type: string; actor: string });
    assert.deepEqual(
      events.map((e) => e.type),
      ["account.suspended", "account.created"],
    );
    assert.equal(events[0]?.actor, "operator");
    assert.doesNotMatch(run.out, /argon2|password_hash/);
    assert.equal((await mamori("audit", "--account", "nobody@example.jp")).status, 1);
    assert.equal((await mamori("audit")).status, 2);
  });
});

describe("mamori purge", () => {
  test("purge deletes the registrations whose code expired, with their password hashes, and keeps live ones", async () => {
    const db = cli.db();
    const now = Date.now();
    for (const [id, expiresAt] of [
      ["reg_cliexpired", new Date(now - 60_000)],
      ["reg_clilive", new Date(now + 600_000)],
    ] as const) {
      await db
        .insertInto("registration")
        .values({
          id,
          email: `${id}@example.jp`,
          name: "山田 花子",
          password_hash: `$argon2id$v=19$m=1024,t=1,p=1$${id}`,
          locale: "ja",
          state: "code_sent",
          email_taken: 0,
          account_id: null,
          expires_at: expiresAt.toISOString(),
          created_at: new Date(now - 900_000).toISOString(),
        })
        .execute();
    }
    const run = await mamori("purge");
    assert.equal(run.status, 0, run.err);
    assert.equal(
      run.out,
      "expired registrations purged: 1\nclosed accounts erased: 0\ntwo-step recoveries completed after their wait: 0",
    );
    const left = await db.selectFrom("registration").select("id").execute();
    assert.deepEqual(
      left.map((row) => row.id),
      ["reg_clilive"],
    );
  });
});

describe("mamori usage", () => {
  test("an unknown command or option prints the usage and exits 2", async () => {
    for (const argv of [["frobnicate"], ["accounts", "explode", "x@example.jp"], ["migrate", "--bogus"]]) {
      const run = await mamori(...argv);
      assert.equal(run.status, 2, argv.join(" "));
      assert.match(run.err, /Usage: mamori/);
    }
  });
});
