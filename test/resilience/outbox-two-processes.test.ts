import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, test } from "node:test";
import { simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";
import { loadConfig } from "../../src/config/config.ts";
import { queueMessage } from "../../src/courier/outbox.ts";
import type { Database } from "../../src/db/database.ts";
import { secureRandom, systemClock } from "../../src/deps.ts";
import { openTestDatabase, stopSharedPostgres } from "../support/databases.ts";
import { eventTimeoutMs } from "../support/patience.ts";
import { startMamori } from "../support/server.ts";

// Two Mamori processes on one PostgreSQL database drain one outbox: every mail is delivered, and
// exactly once while both live (FOR UPDATE SKIP LOCKED claims). When one is killed mid-send, the
// other takes over its leased messages once the lease runs out: nothing is lost (at-least-once;
// the Message-ID is the outbox id, so a receiver can drop the rare repeat).

after(stopSharedPostgres);

type Inbox = { url: string; messageIds: string[]; close(): Promise<void> };

async function startInbox(delayMs: number): Promise<Inbox> {
  const messageIds: string[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then(async (mail) => {
          // A slow mail server keeps messages in flight, so a kill lands in the middle of sending.
          if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
          messageIds.push(mail.messageId ?? "");
          callback();
        })
        .catch((error: Error) => callback(error));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messageIds,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

async function queueMails(db: Database, count: number, tag: string): Promise<string[]> {
  const deps = {
    clock: systemClock,
    random: secureRandom,
    config: {
      devOutbox: false,
      limits: { emailCodeLifetimeSeconds: 900, phoneCodeLifetimeSeconds: 600 },
      brands: loadConfig({}).brands,
    },
  };
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    ids.push(
      await queueMessage(db, deps, "email", `${tag}${i}@example.jp`, "ja", {
        kind: "account_created",
        name: `利用者 ${i}`,
        securityUrl: "https://login.example.jp/account/security",
      }),
    );
  }
  return ids;
}

async function waitUntilSent(db: Database, ids: string[], limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const sent = await db
      .selectFrom("outbox_message")
      .select("id")
      .where("state", "=", "sent")
      .where("id", "in", ids)
      .execute();
    if (sent.length === ids.length) return;
    if (Date.now() > deadline)
      throw new Error(`only ${sent.length} of ${ids.length} mails were sent in time`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function outboxIdOf(messageId: string): string {
  return /<([^@>]+)@/.exec(messageId)?.[1] ?? messageId;
}

test("with two processes draining one outbox, 500 mails are each delivered exactly once", async (t) => {
  const database = await openTestDatabase("postgres");
  t.after(() => database.close());
  const inbox = await startInbox(0);
  t.after(() => inbox.close());
  const env = { DATABASE_URL: database.url, SMTP_URL: inbox.url, MAMORI_DEV_OUTBOX: "false" };
  // Both processes are up before the mail is queued: on a busy machine one may start many seconds
  // after the other, and would find the outbox already drained.
  const [a, b] = await Promise.all([startMamori(env), startMamori(env)]);
  t.after(() => a.stop());
  t.after(() => b.stop());
  const ids = await queueMails(database.db, 500, "once");
  await waitUntilSent(database.db, ids, eventTimeoutMs);
  const delivered = inbox.messageIds.map(outboxIdOf);
  assert.equal(delivered.length, 500, "no mail sent twice");
  assert.deepEqual([...new Set(delivered)].sort(), [...ids].sort(), "every mail, each once");
  const workers = await database.db.selectFrom("outbox_message").select("leased_by").distinct().execute();
  assert.equal(workers.length, 2, "both processes took part");
});

test("a process killed in the middle of sending loses no mail: the other takes over after the lease", async (t) => {
  const database = await openTestDatabase("postgres");
  t.after(() => database.close());
  const inbox = await startInbox(200);
  t.after(() => inbox.close());
  const ids = await queueMails(database.db, 200, "crash");
  const env = {
    DATABASE_URL: database.url,
    SMTP_URL: inbox.url,
    MAMORI_DEV_OUTBOX: "false",
    // A lease must outlast the SMTP timeout (config refuses it otherwise): a slow send ends first.
    MAMORI_OUTBOX_LEASE_SECONDS: "3",
    MAMORI_SMTP_TIMEOUT_SECONDS: "2",
  };
  const doomed = await startMamori(env);
  t.after(() => doomed.stop());
  // Let it send some, and kill it outright while it holds claimed messages it has not yet sent.
  const deadline = Date.now() + eventTimeoutMs;
  let leased: { id: string }[] = [];
  for (;;) {
    leased = await database.db
      .selectFrom("outbox_message")
      .select("id")
      .where("state", "=", "sending")
      .execute();
    if ((inbox.messageIds.length >= 10 && leased.length > 0) || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  await doomed.kill();
  assert.ok(leased.length > 0, "the kill came while messages were claimed and unsent");
  // What the dead process still held: claimed, perhaps handed to the server, never marked sent.
  const heldAtDeath = await database.db
    .selectFrom("outbox_message")
    .select("id")
    .where("state", "=", "sending")
    .execute();
  const survivor = await startMamori(env);
  t.after(() => survivor.stop());
  await waitUntilSent(database.db, ids, eventTimeoutMs);
  const delivered = new Set(inbox.messageIds.map(outboxIdOf));
  assert.deepEqual([...delivered].sort(), [...ids].sort(), "every mail arrived");
  // At-least-once: only a mail the killed process had handed over but not yet marked may repeat,
  // and each repeat carries that mail's own Message-ID (counted here by outbox id).
  const copies = new Map<string, number>();
  for (const id of inbox.messageIds.map(outboxIdOf)) copies.set(id, (copies.get(id) ?? 0) + 1);
  const duplicated = [...copies].filter(([, count]) => count > 1).map(([id]) => id);
  const leasedIds = new Set(heldAtDeath.map((row) => row.id));
  assert.ok(
    duplicated.every((id) => leasedIds.has(id)),
    `repeated but not held by the killed process: ${duplicated}`,
  );
  assert.ok(
    [...copies.values()].every((count) => count <= 2),
    "no mail arrived more than twice",
  );
  assert.ok(inbox.messageIds.length - delivered.size <= heldAtDeath.length);
});
