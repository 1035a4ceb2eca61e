import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { listAuditEvents, recordAuditEvent } from "../../src/audit/audit.ts";
import { loadConfig } from "../../src/config/config.ts";
import { dispatchDueMessages } from "../../src/courier/dispatcher.ts";
import { secureRandom } from "../../src/deps.ts";
import { readMaintenanceMode, setMaintenanceMode } from "../../src/operations/maintenance.ts";
import { dialects, stopSharedPostgres } from "../support/databases.ts";

// The same rules, checked on SQLite and on a real PostgreSQL 15 server (test/support/postgres.ts).
// Every test gets a fresh, migrated database, so no test depends on another or on their order.

import {
  config,
  createAccount,
  fakeClock,
  freshDatabase,
  outboxDeps,
  queueEmails,
} from "../support/storage.ts";

after(stopSharedPostgres);

for (const dialect of dialects) {
  describe(dialect, () => {
    describe("outbox", () => {
      test("queued messages are delivered once each", async (t) => {
        const db = await freshDatabase(t, dialect);
        const clock = fakeClock();
        const deps = outboxDeps(db, clock);
        // More than one claim batch (10).
        const ids = await queueEmails(deps, 12);
        assert.equal(await dispatchDueMessages(deps), 12);
        assert.deepEqual(deps.email.sent.map((m) => m.id).sort(), [...ids].sort());
        assert.match(deps.email.sent[0]?.text ?? "", /123456/);
        assert.equal(await dispatchDueMessages(deps), 0);
        assert.equal(deps.email.sent.length, 12);
        const rows = await db.selectFrom("outbox_message").select(["state", "attempts", "sent_at"]).execute();
        for (const row of rows) {
          assert.deepEqual(row, { state: "sent", attempts: 1, sent_at: clock.now().toISOString() });
        }
      });

      test("two dispatchers at once deliver each message once", async (t) => {
        const db = await freshDatabase(t, dialect);
        const deps = outboxDeps(db, fakeClock());
        const ids = await queueEmails(deps, 25);
        const claimed = await Promise.all([
          dispatchDueMessages(deps, "wrk_a"),
          dispatchDueMessages(deps, "wrk_b"),
        ]);
        assert.equal(claimed[0] + claimed[1], 25);
        assert.deepEqual(deps.email.sent.map((m) => m.id).sort(), [...ids].sort());
      });

      test("a failing transport leaves the message pending for a later try", async (t) => {
        const db = await freshDatabase(t, dialect);
        const clock = fakeClock();
        const deps = outboxDeps(db, clock);
        const [id] = await queueEmails(deps, 1);
        assert.ok(id);
        deps.email.failing = true;
        assert.equal(await dispatchDueMessages(deps), 1);
        const failed = await db
          .selectFrom("outbox_message")
          .selectAll()
          .where("id", "=", id)
          .executeTakeFirstOrThrow();
        assert.equal(failed.state, "pending");
        assert.equal(failed.attempts, 1);
        assert.equal(
          failed.next_attempt_at,
          new Date(clock.now().getTime() + 5_000).toISOString(),
          "the first retry waits 5 seconds",
        );
        assert.ok(failed.next_attempt_at > clock.now().toISOString());
        assert.equal(failed.last_error, "recording-email is down");
        assert.equal(failed.leased_by, null);
        assert.equal(failed.sent_at, null);

        // Not due yet: nothing is claimed, however often the dispatcher runs.
        assert.equal(await dispatchDueMessages(deps), 0);
        deps.email.failing = false;
        clock.advanceSeconds(5);
        assert.equal(await dispatchDueMessages(deps), 1);
        assert.deepEqual(
          deps.email.sent.map((m) => m.id),
          [id],
        );
        const sent = await db
          .selectFrom("outbox_message")
          .selectAll()
          .where("id", "=", id)
          .executeTakeFirstOrThrow();
        assert.equal(sent.state, "sent");
        assert.equal(sent.attempts, 2);
        assert.equal(sent.last_error, null);
      });

      test("retries back off exponentially: 5, 10, 20 … seconds, doubling, capped at an hour", async (t) => {
        // Attack it stops: a mail server that is down (or an address that bounces) hammered with
        // a retry every few seconds, which gets the shop's sender rate-limited or blocklisted. The
        // expected waits are written out here, not computed by the code under test.
        const db = await freshDatabase(t, dialect);
        const clock = fakeClock();
        const deps = outboxDeps(
          db,
          clock,
          loadConfig({ NODE_ENV: "test", MAMORI_OUTBOX_MAX_ATTEMPTS: "14" }),
        );
        const [id] = await queueEmails(deps, 1);
        assert.ok(id);
        deps.email.failing = true;
        const waits: number[] = [];
        for (let attempt = 1; attempt <= 13; attempt++) {
          assert.equal(await dispatchDueMessages(deps), 1, `attempt ${attempt} is made when due`);
          const row = await db
            .selectFrom("outbox_message")
            .select(["state", "attempts", "next_attempt_at"])
            .where("id", "=", id)
            .executeTakeFirstOrThrow();
          assert.deepEqual([row.state, row.attempts], ["pending", attempt]);
          const wait = (Date.parse(row.next_attempt_at) - clock.now().getTime()) / 1000;
          waits.push(wait);
          // A second early is too early: nothing is claimed.
          clock.advanceSeconds(wait - 1);
          assert.equal(await dispatchDueMessages(deps), 0, `not before the wait after attempt ${attempt}`);
          clock.advanceSeconds(1);
        }
        assert.deepEqual(waits, [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600, 3600]);
      });

      test("a message that keeps failing is given up after the last attempt", async (t) => {
        const db = await freshDatabase(t, dialect);
        const clock = fakeClock();
        const deps = outboxDeps(db, clock, loadConfig({ NODE_ENV: "test", MAMORI_OUTBOX_MAX_ATTEMPTS: "2" }));
        const [id] = await queueEmails(deps, 1);
        assert.ok(id);
        deps.email.failing = true;
        assert.equal(await dispatchDueMessages(deps), 1);
        clock.advanceSeconds(5);
        assert.equal(await dispatchDueMessages(deps), 1);
        const row = await db
          .selectFrom("outbox_message")
          .selectAll()
          .where("id", "=", id)
          .executeTakeFirstOrThrow();
        assert.equal(row.state, "failed");
        assert.equal(row.attempts, 2);
        clock.advanceSeconds(3600);
        assert.equal(await dispatchDueMessages(deps), 0);
      });

      test("a message whose sender's lease expired is claimed again", async (t) => {
        const db = await freshDatabase(t, dialect);
        const clock = fakeClock();
        const deps = outboxDeps(db, clock);
        const [orphaned, leased] = await queueEmails(deps, 2);
        assert.ok(orphaned && leased);
        const past = new Date(clock.now().getTime() - 1000).toISOString();
        const future = new Date(clock.now().getTime() + 30_000).toISOString();
        // A process died mid-send (lease over); another is sending right now (lease still running).
        await db
          .updateTable("outbox_message")
          .set({ state: "sending", attempts: 1, leased_by: "wrk_dead", lease_expires_at: past })
          .where("id", "=", orphaned)
          .execute();
        await db
          .updateTable("outbox_message")
          .set({ state: "sending", attempts: 1, leased_by: "wrk_busy", lease_expires_at: future })
          .where("id", "=", leased)
          .execute();

        assert.equal(await dispatchDueMessages(deps, "wrk_new"), 1);
        assert.deepEqual(
          deps.email.sent.map((m) => m.id),
          [orphaned],
        );
        const rows = await db
          .selectFrom("outbox_message")
          .select(["id", "state", "attempts", "leased_by"])
          .orderBy("id")
          .execute();
        assert.deepEqual(
          rows,
          [
            { id: orphaned, state: "sent", attempts: 2, leased_by: "wrk_new" },
            { id: leased, state: "sending", attempts: 1, leased_by: "wrk_busy" },
          ].sort((a, b) => (a.id < b.id ? -1 : 1)),
        );
      });

      test("outside the development outbox a sent message keeps no code", async (t) => {
        const db = await freshDatabase(t, dialect);
        const production = loadConfig({ NODE_ENV: "test", MAMORI_DEV_OUTBOX: "false" });
        const deps = outboxDeps(db, fakeClock(), production);
        const [id] = await queueEmails(deps, 1);
        assert.ok(id);
        const queued = await db
          .selectFrom("outbox_message")
          .selectAll()
          .where("id", "=", id)
          .executeTakeFirstOrThrow();
        assert.equal(queued.dev_code, null);
        assert.match(queued.text_body, /123456/);
        assert.equal(await dispatchDueMessages(deps), 1);
        const sent = await db
          .selectFrom("outbox_message")
          .selectAll()
          .where("id", "=", id)
          .executeTakeFirstOrThrow();
        assert.equal(sent.state, "sent");
        assert.equal(sent.text_body, "");
        assert.equal(sent.html_body, null);
        assert.doesNotMatch(sent.subject ?? "", /123456/, "the subject shows the code too");
      });

      test("the development outbox keeps the code to show it", async (t) => {
        const db = await freshDatabase(t, dialect);
        const deps = outboxDeps(db, fakeClock());
        assert.equal(config.devOutbox, true);
        const [id] = await queueEmails(deps, 1);
        assert.ok(id);
        assert.equal(await dispatchDueMessages(deps), 1);
        const sent = await db
          .selectFrom("outbox_message")
          .selectAll()
          .where("id", "=", id)
          .executeTakeFirstOrThrow();
        assert.equal(sent.dev_code, "123456");
        assert.match(sent.text_body, /123456/);
      });
    });

    describe("maintenance and audit", () => {
      test("maintenance mode round-trips through the database", async (t) => {
        const db = await freshDatabase(t, dialect);
        const clock = fakeClock();
        assert.deepEqual(await readMaintenanceMode(db), { on: false });
        await setMaintenanceMode(
          db,
          { on: true, message: "メンテナンス中です", retryAfterSeconds: 120 },
          clock.now(),
        );
        assert.deepEqual(await readMaintenanceMode(db), {
          on: true,
          message: "メンテナンス中です",
          messageEn: "",
          retryAfterSeconds: 120,
          endsAt: new Date(clock.now().getTime() + 120_000).toISOString(),
        });
        clock.advanceSeconds(60);
        await setMaintenanceMode(
          db,
          { on: true, message: "まもなく再開します", retryAfterSeconds: 30 },
          clock.now(),
        );
        assert.deepEqual(await readMaintenanceMode(db), {
          on: true,
          message: "まもなく再開します",
          messageEn: "",
          retryAfterSeconds: 30,
          endsAt: new Date(clock.now().getTime() + 30_000).toISOString(),
        });
        const rows = await db.selectFrom("setting").selectAll().execute();
        assert.equal(rows.length, 1);
        assert.equal(rows[0]?.updated_at, clock.now().toISOString());
        await setMaintenanceMode(db, { on: false }, clock.now());
        assert.deepEqual(await readMaintenanceMode(db), { on: false });
        await setMaintenanceMode(db, { on: false }, clock.now());
        assert.deepEqual(await readMaintenanceMode(db), { on: false });
      });

      test("audit events are listed newest first, for their account only", async (t) => {
        const db = await freshDatabase(t, dialect);
        const clock = fakeClock();
        const deps = { clock, random: secureRandom };
        const accountId = await createAccount(db, clock.now());
        await recordAuditEvent(db, deps, {
          type: "account.created",
          accountId,
          actor: "account",
          ip: "203.0.113.7",
        });
        clock.advanceSeconds(1);
        await recordAuditEvent(db, deps, {
          type: "sign_in.failed",
          accountId: "acc_other",
          actor: "account",
        });
        await recordAuditEvent(db, deps, {
          type: "session.revoked_others",
          accountId,
          actor: "account",
          detail: { revoked: 2 },
        });
        const events = await listAuditEvents(db, accountId);
        assert.deepEqual(
          events.map((e) => [e.type, e.createdAt, e.detail]),
          [
            ["session.revoked_others", clock.now().toISOString(), { revoked: 2 }],
            ["account.created", "2025-04-01T09:00:00.000Z", {}],
          ],
        );
        assert.equal(events[1]?.ip, "203.0.113.7");
      });

      test("audit events recorded in the same millisecond are listed newest first, in the order they happened", async (t) => {
        const db = await freshDatabase(t, dialect);
        const clock = fakeClock();
        const deps = { clock, random: secureRandom };
        const accountId = await createAccount(db, clock.now());
        const types = [
          "sign_in.succeeded",
          "password.rehashed",
          "session.revoked",
          "session.revoked_others",
          "trusted_device.added",
          "two_step.enabled",
          "passkey.added",
          "password.changed",
        ] as const;
        for (const type of types) await recordAuditEvent(db, deps, { type, accountId, actor: "account" });
        const events = await listAuditEvents(db, accountId);
        assert.deepEqual(
          events.map((e) => e.type),
          [...types].reverse(),
        );
      });
    });
  });
}
