import assert from "node:assert/strict";
import { type AddressInfo, createServer } from "node:net";
import { type TestContext, test } from "node:test";
import { type ParsedMail, simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";
import { buildTestApp, strongPassword, type TestApp } from "../support/app.ts";

// Mail through a real SMTP conversation: Mamori's nodemailer transport talks to an `smtp-server` on
// a loopback port, and the test reads the code out of the mail as a person would.

type MailServer = {
  url: string;
  received: ParsedMail[];
  /** How many RCPT TO commands to refuse with a temporary error (451) before accepting. */
  refuseNext: number;
};

async function startMailServer(t: TestContext): Promise<MailServer> {
  const mail: MailServer = { url: "", received: [], refuseNext: 0 };
  const server = new SMTPServer({
    authOptional: true,
    // Plain SMTP on loopback: no STARTTLS offered, so the client does not try to upgrade.
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onRcptTo(_address, _session, callback) {
      if (mail.refuseNext > 0) {
        mail.refuseNext -= 1;
        const error = Object.assign(new Error("mailbox busy, try again later"), { responseCode: 451 });
        callback(error);
        return;
      }
      callback();
    },
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          mail.received.push(parsed);
          callback();
        })
        .catch((error: Error) => callback(error));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.server.address() as AddressInfo;
  mail.url = `smtp://127.0.0.1:${port}`;
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return mail;
}

async function buildSmtpApp(t: TestContext): Promise<{ s: TestApp; mail: MailServer }> {
  const mail = await startMailServer(t);
  const s = await buildTestApp(t, {
    courier: "configured",
    env: { SMTP_URL: mail.url, MAIL_FROM: "Mamori <no-reply@shop.example.jp>" },
  });
  assert.equal(s.config.devOutbox, false, "with SMTP configured the development outbox is off");
  return { s, mail };
}

function register(s: TestApp, email: string) {
  return s.inject({
    method: "POST",
    url: "/api/v1/registrations",
    payload: { name: "山田 花子", email, password: strongPassword },
  });
}

/** A loopback port nothing listens on: taken from the system, then let go. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function addressesOf(parsed: ParsedMail): string[] {
  const to = Array.isArray(parsed.to) ? parsed.to : parsed.to ? [parsed.to] : [];
  return to.flatMap((group) => group.value.map((a) => a.address ?? ""));
}

test("a registration code travels by SMTP, and the code read from the mail verifies the account", async (t) => {
  const { s, mail } = await buildSmtpApp(t);
  const started = await register(s, "hanako@example.jp");
  assert.equal(started.statusCode, 201, started.body);
  const { id } = started.json<{ registration: { id: string } }>().registration;
  assert.equal(mail.received.length, 0, "nothing is sent before the dispatcher runs");

  assert.equal(await s.dispatch(), 1);
  assert.equal(mail.received.length, 1);
  const [received] = mail.received;
  assert.ok(received);
  assert.equal(received.subject, "【サンプルショップ】Eメールアドレスのセキュリティコード");
  assert.deepEqual(addressesOf(received), ["hanako@example.jp"]);
  assert.equal(received.from?.value[0]?.address, "no-reply@shop.example.jp");
  assert.match(received.messageId ?? "", /^<msg_[0-9a-z]+@localhost>$/);
  const code = /セキュリティコード: (\d{6})/.exec(received.text ?? "")?.[1];
  assert.ok(code, received.text);
  assert.ok(
    typeof received.html === "string" && received.html.includes(code),
    "the HTML part shows the code",
  );
  assert.match(String(received.html), /<html lang="ja">/);
  assert.doesNotMatch(received.subject ?? "", /\d{6}/, "no code in the subject");

  // Outside the development outbox the sent body (and its code) is not kept.
  const row = await s.db.selectFrom("outbox_message").selectAll().executeTakeFirstOrThrow();
  assert.deepEqual([row.state, row.text_body, row.html_body, row.dev_code], ["sent", "", null, null]);
  const outbox = await s.inject({ method: "GET", url: "/api/v1/dev/outbox" });
  assert.equal(outbox.statusCode, 404);

  const verified = await s.inject({
    method: "POST",
    url: `/api/v1/registrations/${id}/verify`,
    payload: { code },
  });
  assert.equal(verified.statusCode, 201, verified.body);
  assert.equal(verified.json<{ account: { email: string } }>().account.email, "hanako@example.jp");

  assert.equal(await s.dispatch(), 1, "the welcome mail follows");
  assert.equal(mail.received[1]?.subject, "【サンプルショップ】アカウントを作成しました");
});

test("a failed delivery stays pending and is retried later, so every message arrives at least once", async (t) => {
  const { s, mail } = await buildSmtpApp(t);
  assert.equal((await register(s, "hanako@example.jp")).statusCode, 201);
  mail.refuseNext = 1;

  assert.equal(await s.dispatch(), 1);
  assert.equal(mail.received.length, 0);
  const failed = await s.db.selectFrom("outbox_message").selectAll().executeTakeFirstOrThrow();
  assert.equal(failed.state, "pending");
  assert.equal(failed.attempts, 1);
  assert.match(failed.last_error ?? "", /451/);
  assert.equal(
    failed.next_attempt_at,
    new Date(s.clock.now().getTime() + 5_000).toISOString(),
    "the first retry waits 5 seconds",
  );
  assert.match(failed.text_body, /\d{6}/, "the body is kept until it is delivered");

  // Not due yet: running the dispatcher again sends nothing.
  assert.equal(await s.dispatch(), 0);
  s.clock.advance(5);
  assert.equal(await s.dispatch(), 1);
  assert.equal(mail.received.length, 1);
  const sent = await s.db.selectFrom("outbox_message").selectAll().executeTakeFirstOrThrow();
  assert.deepEqual([sent.state, sent.attempts, sent.last_error], ["sent", 2, null]);
  assert.equal(mail.received[0]?.messageId, `<${sent.id}@localhost>`, "the outbox id is the Message-ID");
  const code = /セキュリティコード: (\d{6})/.exec(mail.received[0]?.text ?? "")?.[1];
  assert.ok(code);
  const registration = await s.db.selectFrom("registration").select("id").executeTakeFirstOrThrow();
  const verified = await s.inject({
    method: "POST",
    url: `/api/v1/registrations/${registration.id}/verify`,
    payload: { code },
  });
  assert.equal(verified.statusCode, 201, verified.body);
});

test("a mail server that is down leaves the message pending too", async (t) => {
  const { s, mail } = await buildSmtpApp(t);
  const down = await buildTestApp(t, {
    courier: "configured",
    env: { SMTP_URL: `smtp://127.0.0.1:${await closedPort()}` },
  });
  assert.equal((await register(down, "taro@example.jp")).statusCode, 201);
  assert.equal(await down.dispatch(), 1);
  const row = await down.db.selectFrom("outbox_message").selectAll().executeTakeFirstOrThrow();
  assert.equal(row.state, "pending");
  assert.ok(row.last_error, "the error is recorded for the operator");
  assert.equal(mail.received.length, 0);
  // The app with a working server is unaffected.
  assert.equal((await register(s, "hanako@example.jp")).statusCode, 201);
  assert.equal(await s.dispatch(), 1);
  assert.equal(mail.received.length, 1);
});
