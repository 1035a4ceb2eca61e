import assert from "node:assert/strict";
import { after, type TestContext, test } from "node:test";
import { runCli } from "../../src/cli/main.ts";
import { messageIdFor } from "../../src/courier/smtp-transport.ts";
import { buildTestApp, strongPassword, type TestApp } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import { codeInMail, type SmtpInbox, startSmtpInbox } from "../support/smtp-inbox.ts";

// Mail that failed its last attempt used to stay unsent for good, even after the mail server came
// back. Now an operator sees it (`mamori outbox list --failed`) and queues it again (`mamori outbox
// retry`), except a message whose security code has expired: that one is never sent.

after(stopSharedPostgres);

type CliRun = { status: number; out: string; err: string };

/** `npx mamori …` on the test app's database, as an operator on the same machine would run it. */
async function mamori(s: TestApp, ...argv: string[]): Promise<CliRun> {
  process.env.DATABASE_URL = s.databaseUrl;
  process.env.NODE_ENV = "test";
  const out: string[] = [];
  const err: string[] = [];
  const status = await runCli(argv, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { status, out: out.join("\n"), err: err.join("\n") };
}

/** A mail server that was up once (its port is known), then went down. */
async function downMailServer(
  t: TestContext,
): Promise<{ url: string; port: number; back(): Promise<SmtpInbox> }> {
  const first = await startSmtpInbox();
  await first.close();
  return {
    url: first.url,
    port: first.port,
    async back() {
      const inbox = await startSmtpInbox({ port: first.port });
      t.after(() => inbox.close());
      return inbox;
    },
  };
}

async function appWithSmtp(
  t: TestContext,
  smtpUrl: string,
  env: Record<string, string> = {},
): Promise<TestApp> {
  return buildTestApp(t, {
    courier: "configured",
    env: {
      SMTP_URL: smtpUrl,
      MAIL_FROM: "Shop <no-reply@shop.example.jp>",
      // One attempt and it has failed for good: the state the issue met after ~43 minutes.
      MAMORI_OUTBOX_MAX_ATTEMPTS: "1",
      ...env,
    },
  });
}

async function register(s: TestApp, email: string): Promise<string> {
  const response = await s.inject({
    method: "POST",
    url: "/api/v1/registrations",
    payload: { name: "山田 花子", email, password: strongPassword },
  });
  assert.equal(response.statusCode, 201, response.body);
  return (response.json() as { registration: { id: string } }).registration.id;
}

async function stateOf(s: TestApp, id: string): Promise<string> {
  const row = await s.db
    .selectFrom("outbox_message")
    .select("state")
    .where("id", "=", id)
    .executeTakeFirstOrThrow();
  return row.state;
}

test("mail that failed its last attempt is listed by mamori outbox list --failed and, retried once the mail server is back, delivered with the code that still works", async (t) => {
  const mailServer = await downMailServer(t);
  const s = await appWithSmtp(t, mailServer.url);
  const registrationId = await register(s, "hanako@example.jp");
  assert.equal(await s.dispatch(), 1);
  const failed = await s.db.selectFrom("outbox_message").selectAll().executeTakeFirstOrThrow();
  assert.equal(failed.state, "failed");
  assert.equal(await s.dispatch(), 0, "a failed message is never tried again on its own");

  const listed = await mamori(s, "outbox", "list", "--failed");
  assert.equal(listed.status, 0, listed.err);
  const lines = listed.out.split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.equal(lines.length, 1);
  assert.deepEqual(
    { ...lines[0], lastError: typeof lines[0]?.lastError },
    {
      id: failed.id,
      channel: "email",
      recipient: "hanako@example.jp",
      template: "registration_code",
      state: "failed",
      attempts: 1,
      lastError: "string",
      createdAt: failed.created_at,
    },
  );

  const inbox = await mailServer.back();
  const retried = await mamori(s, "outbox", "retry", failed.id);
  assert.equal(retried.status, 0, retried.err);
  assert.equal(retried.out, `${failed.id}: queued again`);
  assert.equal(await s.dispatch(), 1);
  const mail = await inbox.waitForMail("hanako@example.jp", failed.subject ?? "", 0);
  assert.equal(mail.messageId, messageIdFor(failed.id, "localhost"), "the outbox id is still the Message-ID");
  assert.equal(await stateOf(s, failed.id), "sent");
  const verified = await s.inject({
    method: "POST",
    url: `/api/v1/registrations/${registrationId}/verify`,
    payload: { code: codeInMail(mail) },
  });
  assert.equal(verified.statusCode, 201, verified.body);

  // Each retry is audited, naming the message (never its content).
  const events = await s.db
    .selectFrom("audit_event")
    .selectAll()
    .where("type", "=", "outbox.retried")
    .execute();
  assert.equal(events.length, 1);
  assert.equal(events[0]?.actor, "operator");
  assert.equal((JSON.parse(events[0]?.detail ?? "{}") as { messageId?: string }).messageId, failed.id);
  assert.equal((await mamori(s, "outbox", "list", "--failed")).out, "", "nothing failed any more");
});

test("a failed message whose security code has expired is not re-sent by mamori outbox retry --all-failed: it is marked expired and said so", async (t) => {
  const mailServer = await downMailServer(t);
  const s = await appWithSmtp(t, mailServer.url);
  // The CLI runs on the real clock: the app's clock is put an hour before it, so the mail queued
  // now carries a code that died 45 minutes ago (email codes live 15 minutes), and a second mail
  // queued a minute ago carries one that still lives.
  s.clock.advance((Date.now() - 3600_000 - s.clock.now().getTime()) / 1000);
  await register(s, "stale@example.jp");
  s.clock.advance(3540);
  await register(s, "fresh@example.jp");
  assert.equal(await s.dispatch(), 2);
  const rows = await s.db
    .selectFrom("outbox_message")
    .select(["id", "recipient", "state", "subject"])
    .execute();
  const stale = rows.find((r) => r.recipient === "stale@example.jp");
  const fresh = rows.find((r) => r.recipient === "fresh@example.jp");
  assert.ok(stale && fresh?.subject);
  assert.deepEqual([stale.state, fresh.state], ["failed", "failed"]);

  const inbox = await mailServer.back();
  const retried = await mamori(s, "outbox", "retry", "--all-failed");
  assert.equal(retried.status, 0, retried.err);
  assert.match(
    retried.out,
    new RegExp(
      `^${stale.id}: skipped, not sent: its security code expired at \\S+ \\(marked expired\\)$`,
      "m",
    ),
  );
  assert.match(retried.out, new RegExp(`^${fresh.id}: queued again$`, "m"));
  // The retried mail is due at the real time of the retry: the app's clock catches up with it.
  s.clock.advance((Date.now() - s.clock.now().getTime()) / 1000 + 1);
  assert.equal(await s.dispatch(), 1, "only the live code goes out");
  await inbox.waitForMail("fresh@example.jp", fresh.subject, 0);
  assert.equal(inbox.mailsTo("stale@example.jp").length, 0, "the dead code never reaches the mailbox");
  assert.equal(inbox.mailsTo("fresh@example.jp").length, 1);
  const expired = await s.db
    .selectFrom("outbox_message")
    .selectAll()
    .where("id", "=", stale.id)
    .executeTakeFirstOrThrow();
  assert.equal(expired.state, "expired");
  assert.doesNotMatch(expired.text_body, /\d{6}/, "the dead code is not kept either");
  const events = await s.db
    .selectFrom("audit_event")
    .select("type")
    .where("type", "like", "outbox.%")
    .execute();
  assert.deepEqual(events.map((e) => e.type).sort(), ["outbox.expired", "outbox.retried"]);
  // Retrying it again changes nothing and says why.
  const again = await mamori(s, "outbox", "retry", stale.id);
  assert.equal(again.status, 1);
  assert.match(again.err, /not a failed message \(expired\)/);
});

test("mamori outbox retry refuses unknown ids and a call with neither ids nor --all-failed", async (t) => {
  const s = await buildTestApp(t);
  const unknown = await mamori(s, "outbox", "retry", "msg_nosuchmessage");
  assert.equal(unknown.status, 1);
  assert.match(unknown.err, /msg_nosuchmessage: no such outbox message/);
  assert.equal((await mamori(s, "outbox", "retry")).status, 2);
  assert.equal((await mamori(s, "outbox", "retry", "msg_x", "--all-failed")).status, 2);
  assert.equal((await mamori(s, "outbox", "list", "--limit", "0")).status, 2);
  assert.equal((await mamori(s, "outbox", "retry", "--all-failed")).out, "no failed messages");
});

test("a mail the server received but acknowledged too late is sent again with the same Message-ID (at-least-once, a duplicate a receiver can recognise)", async (t) => {
  // The server keeps each mail and answers after 3 s; Mamori gives up after its 1 s SMTP timeout,
  // as it would with a slow server or a process killed mid-send, and sends the mail again.
  const inbox = await startSmtpInbox({ replyDelayMs: 3000 });
  t.after(() => inbox.close());
  const s = await appWithSmtp(t, inbox.url, {
    MAMORI_OUTBOX_MAX_ATTEMPTS: "3",
    MAMORI_SMTP_TIMEOUT_SECONDS: "1",
    MAMORI_OUTBOX_LEASE_SECONDS: "2",
  });
  await register(s, "twice@example.jp");
  assert.equal(await s.dispatch(), 1);
  const row = await s.db.selectFrom("outbox_message").selectAll().executeTakeFirstOrThrow();
  assert.equal(row.state, "pending", `a timed-out send is retried: ${row.last_error ?? ""}`);
  assert.match(row.last_error ?? "", /timeout|took over/i);
  s.clock.advance(60);
  assert.equal(await s.dispatch(), 1);
  const copies = await Promise.all([
    inbox.waitForMail("twice@example.jp", row.subject ?? "", 0),
    inbox.waitForMail("twice@example.jp", row.subject ?? "", 1),
  ]);
  // Two copies arrived: one duplicate, and both carry the message's one Message-ID.
  assert.equal(inbox.mailsTo("twice@example.jp").length, 2);
  assert.deepEqual(
    copies.map((mail) => mail.messageId),
    [messageIdFor(row.id, "localhost"), messageIdFor(row.id, "localhost")],
  );
});
