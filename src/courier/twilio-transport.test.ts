import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { type TestContext, test } from "node:test";
import { pino } from "pino";
import { loadConfig } from "../config/config.ts";
import { openDatabase } from "../db/database.ts";
import { migrateToLatest } from "../db/migrate.ts";
import { type Deps, secureRandom } from "../deps.ts";
import { createConfiguredCourier } from "../main.ts";
import { databaseThrottleStore } from "../throttle/throttle.ts";
import { createCourier, type OutboundMessage, unconfiguredTransport } from "./courier.ts";
import { dispatchDueMessages } from "./dispatcher.ts";
import { queuePhoneMessage } from "./outbox.ts";
import {
  createTwilioTransports,
  escapeXml,
  TwilioRequestError,
  type TwilioTransportOptions,
} from "./twilio-transport.ts";

// Twilio played by a node:http server on loopback: it records each request and answers as Twilio
// does (201 with the created resource, or an error status with {code, message}), or not at all.

const accountSid = `AC${"a1".repeat(16)}`;
const authToken = "auth-token-that-must-never-be-logged";

type RecordedRequest = { method: string; path: string; headers: IncomingHttpHeaders; form: URLSearchParams };
type Answer =
  | { kind: "created" }
  | { kind: "error"; status: number; code: number; message: string }
  | { kind: "hang" };

type FakeTwilio = { baseUrl: string; requests: RecordedRequest[]; answers: Answer[] };

/** Answers with `answers` in turn (the last one repeats); 201 when none is given. */
async function startFakeTwilio(t: TestContext, answers: Answer[] = []): Promise<FakeTwilio> {
  const fake: FakeTwilio = { baseUrl: "", requests: [], answers };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
      fake.requests.push({
        method: request.method ?? "",
        path: request.url ?? "",
        headers: request.headers,
        form,
      });
      const answer = fake.answers.length > 1 ? fake.answers.shift() : fake.answers[0];
      if (answer?.kind === "hang") return;
      response.setHeader("content-type", "application/json");
      if (answer?.kind === "error") {
        response.statusCode = answer.status;
        response.end(JSON.stringify({ code: answer.code, message: answer.message, status: answer.status }));
        return;
      }
      const prefix = request.url?.endsWith("/Calls.json") ? "CA" : "SM";
      response.statusCode = 201;
      response.end(
        JSON.stringify({ sid: `${prefix}${"0".repeat(32)}`, status: "queued", to: form.get("To") }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  fake.baseUrl = `http://127.0.0.1:${port}`;
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return fake;
}

function options(fake: FakeTwilio, extra: Partial<TwilioTransportOptions> = {}): TwilioTransportOptions {
  return {
    accountSid,
    auth: { username: accountSid, password: authToken },
    sms: { from: "+815011112222" },
    voiceFrom: "+815033334444",
    baseUrl: fake.baseUrl,
    ...extra,
  };
}

function phoneMessage(channel: "sms" | "voice", text: string, locale?: "ja" | "en"): OutboundMessage {
  return {
    id: "msg_01HZXTWILIOTEST",
    channel,
    recipient: "+819012345678",
    subject: null,
    text,
    html: null,
    ...(locale ? { locale } : {}),
  };
}

function onlyRequest(fake: FakeTwilio): RecordedRequest {
  assert.equal(fake.requests.length, 1);
  const [request] = fake.requests;
  assert.ok(request);
  return request;
}

test("a text is a form-encoded POST to Messages.json with To, From and Body, signed with the account SID and auth token", async (t) => {
  const fake = await startFakeTwilio(t);
  const { sms } = createTwilioTransports(options(fake));
  await sms.send(phoneMessage("sms", "【やまだ商店】セキュリティコード: 123456"));

  const request = onlyRequest(fake);
  assert.equal(request.method, "POST");
  assert.equal(request.path, `/2010-04-01/Accounts/${accountSid}/Messages.json`);
  assert.equal(request.headers["content-type"], "application/x-www-form-urlencoded;charset=UTF-8");
  const expected = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString("base64")}`;
  assert.equal(request.headers.authorization, expected);
  assert.deepEqual(Object.fromEntries(request.form), {
    To: "+819012345678",
    From: "+815011112222",
    Body: "【やまだ商店】セキュリティコード: 123456",
  });
});

test("with a Messaging Service and an API key, a text names the service and signs with the key", async (t) => {
  const fake = await startFakeTwilio(t);
  const keySid = `SK${"b2".repeat(16)}`;
  const serviceSid = `MG${"c3".repeat(16)}`;
  const { sms } = createTwilioTransports(
    options(fake, {
      auth: { username: keySid, password: "key-secret" },
      sms: { messagingServiceSid: serviceSid },
    }),
  );
  await sms.send(phoneMessage("sms", "code 123456"));

  const request = onlyRequest(fake);
  // The URL names the account even when an API key signs the request.
  assert.equal(request.path, `/2010-04-01/Accounts/${accountSid}/Messages.json`);
  assert.equal(
    request.headers.authorization,
    `Basic ${Buffer.from(`${keySid}:key-secret`).toString("base64")}`,
  );
  assert.equal(request.form.get("MessagingServiceSid"), serviceSid);
  assert.equal(request.form.has("From"), false);
});

test("a voice call reads a Japanese script in ja-JP and an English one in en-US, from the voice number", async (t) => {
  const fake = await startFakeTwilio(t);
  const { voice } = createTwilioTransports(options(fake));
  await voice.send(
    phoneMessage("voice", "ヤマダショウテンです。セキュリティコードは、1、2、3、です。", "ja"),
  );
  await voice.send(phoneMessage("voice", "This is Yamada Shoten. Your code is: 1, 2, 3.", "en"));

  assert.equal(fake.requests.length, 2);
  const [japanese, english] = fake.requests;
  assert.equal(japanese?.path, `/2010-04-01/Accounts/${accountSid}/Calls.json`);
  assert.equal(japanese?.form.get("To"), "+819012345678");
  assert.equal(japanese?.form.get("From"), "+815033334444");
  assert.equal(
    japanese?.form.get("Twiml"),
    '<Response><Say language="ja-JP">ヤマダショウテンです。セキュリティコードは、1、2、3、です。</Say></Response>',
  );
  assert.equal(
    english?.form.get("Twiml"),
    '<Response><Say language="en-US">This is Yamada Shoten. Your code is: 1, 2, 3.</Say></Response>',
  );
});

test("text in a voice call is XML-escaped, so it cannot add TwiML of its own", async (t) => {
  // The attack: a script that closes <Say> and opens <Dial> would turn a code call into a call
  // forwarded to a premium number at the shop's expense.
  const fake = await startFakeTwilio(t);
  const { voice } = createTwilioTransports(options(fake));
  await voice.send(phoneMessage("voice", `A & B </Say><Dial>+19005550100</Dial><Say a="'">`, "en"));

  const twiml = onlyRequest(fake).form.get("Twiml");
  assert.equal(
    twiml,
    '<Response><Say language="en-US">A &amp; B &lt;/Say&gt;&lt;Dial&gt;+19005550100&lt;/Dial&gt;&lt;Say a=&quot;&apos;&quot;&gt;</Say></Response>',
  );
  assert.equal(escapeXml(`<>&"'`), "&lt;&gt;&amp;&quot;&apos;");
});

test("every request carries the outbox message id as Twilio's idempotency token, the same on a retry", async (t) => {
  const fake = await startFakeTwilio(t, [
    { kind: "error", status: 500, code: 20500, message: "Internal Server Error" },
    { kind: "created" },
  ]);
  const { sms } = createTwilioTransports(options(fake));
  const message = phoneMessage("sms", "code 123456");
  await assert.rejects(sms.send(message), TwilioRequestError);
  await sms.send(message);

  assert.deepEqual(
    fake.requests.map((request) => request.headers["i-twilio-idempotency-token"]),
    [message.id, message.id],
  );
});

test("a number Twilio refuses throws with Twilio's code and message, and never the auth token", async (t) => {
  const fake = await startFakeTwilio(t, [
    {
      kind: "error",
      status: 400,
      code: 21211,
      message: "The 'To' number +819012345678 is not a valid phone number.",
    },
  ]);
  const { sms } = createTwilioTransports(options(fake));

  const error = await sms.send(phoneMessage("sms", "code 123456")).then(
    () => assert.fail("a refused number must throw, so the dispatcher records the failure"),
    (thrown: unknown) => thrown,
  );
  assert.ok(error instanceof TwilioRequestError);
  assert.match(error.message, /HTTP 400/);
  assert.match(
    error.message,
    /Twilio error 21211: The 'To' number \+819012345678 is not a valid phone number\./,
  );
  assert.match(error.message, /a retry will not help/);
  assert.equal(error.twilioCode, 21211);
  assert.equal(error.retryable, false);
  const everything = `${error.stack} ${JSON.stringify(error)}`;
  assert.doesNotMatch(everything, new RegExp(authToken));
  assert.doesNotMatch(everything, new RegExp(Buffer.from(`${accountSid}:${authToken}`).toString("base64")));
});

test("an answer that echoes the auth token has it removed before it reaches the error", async (t) => {
  const fake = await startFakeTwilio(t, [
    { kind: "error", status: 401, code: 20003, message: `Authenticate: bad token ${authToken}` },
  ]);
  const { sms } = createTwilioTransports(options(fake));
  await assert.rejects(sms.send(phoneMessage("sms", "code 123456")), (error: Error) => {
    assert.match(error.message, /Twilio error 20003: Authenticate: bad token \[redacted\]/);
    assert.doesNotMatch(error.message, new RegExp(authToken));
    return true;
  });
});

test("a Twilio outage (HTTP 500) throws an error marked worth retrying", async (t) => {
  const fake = await startFakeTwilio(t, [
    { kind: "error", status: 500, code: 20500, message: "Internal Server Error" },
  ]);
  const { voice } = createTwilioTransports(options(fake));
  await assert.rejects(voice.send(phoneMessage("voice", "123", "ja")), (error: Error) => {
    assert.ok(error instanceof TwilioRequestError);
    assert.equal(error.retryable, true);
    assert.match(error.message, /voice call for msg_01HZXTWILIOTEST refused with HTTP 500/);
    return true;
  });
});

test("a Twilio that never answers is given up on after the request timeout", async (t) => {
  const fake = await startFakeTwilio(t, [{ kind: "hang" }]);
  const { sms } = createTwilioTransports(options(fake, { requestTimeoutMs: 150 }));
  const started = performance.now();
  await assert.rejects(sms.send(phoneMessage("sms", "code 123456")), /no answer within 150 ms/);
  assert.ok(performance.now() - started < 5000, "the send must not wait for the server");
  assert.equal(fake.requests.length, 1);
});

test("an unreachable Twilio throws with the network reason", async () => {
  // A loopback port that was free a moment ago: nothing listens there, so the connection is refused.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const baseUrl = `http://127.0.0.1:${port}`;
  const { sms } = createTwilioTransports(options({ baseUrl, requests: [], answers: [] }));
  await assert.rejects(
    sms.send(phoneMessage("sms", "code 123456")),
    /request failed \(fetch failed: .*ECONNREFUSED/,
  );
});

async function outboxDeps(t: TestContext, fake: FakeTwilio): Promise<Deps> {
  const db = openDatabase("sqlite::memory:");
  t.after(() => db.destroy());
  await migrateToLatest(db);
  const twilio = createTwilioTransports(options(fake));
  return {
    config: loadConfig({ NODE_ENV: "test", MAMORI_DEV_OUTBOX: "false" }),
    db,
    clock: { now: () => new Date("2031-04-01T09:00:00.000Z") },
    random: secureRandom,
    courier: createCourier({ email: unconfiguredTransport("email"), sms: twilio.sms, voice: twilio.voice }),
    throttle: databaseThrottleStore(db),
    log: pino({ level: "silent" }),
  };
}

test("queued SMS and voice codes go out through Twilio and end sent, the call in the account's language", async (t) => {
  const fake = await startFakeTwilio(t);
  const deps = await outboxDeps(t, fake);
  const template = { kind: "phone_code", code: "482913", lifetimeMinutes: 10 } as const;
  const smsId = await queuePhoneMessage(deps.db, deps, "sms", "+819012345678", "ja", template);
  const voiceId = await queuePhoneMessage(deps.db, deps, "voice", "+819012345678", "en", template);

  assert.equal(await dispatchDueMessages(deps), 2);

  const rows = await deps.db.selectFrom("outbox_message").select(["id", "state", "last_error"]).execute();
  assert.deepEqual(rows.map((row) => row.state).sort(), ["sent", "sent"]);
  const sms = fake.requests.find((request) => request.path.endsWith("/Messages.json"));
  const call = fake.requests.find((request) => request.path.endsWith("/Calls.json"));
  assert.equal(sms?.headers["i-twilio-idempotency-token"], smsId);
  assert.match(sms?.form.get("Body") ?? "", /482913/);
  assert.equal(call?.headers["i-twilio-idempotency-token"], voiceId);
  // The locale came from the outbox row through the dispatcher: English here, not the default.
  assert.match(
    call?.form.get("Twiml") ?? "",
    /^<Response><Say language="en-US">This is Sample Shop\. .*4, 8, 2, 9, 1, 3/,
  );
});

test("a text Twilio refuses stays in the outbox for retry, with Twilio's code as the last error", async (t) => {
  const fake = await startFakeTwilio(t, [
    { kind: "error", status: 400, code: 21610, message: "Attempt to send to unsubscribed recipient" },
  ]);
  const deps = await outboxDeps(t, fake);
  const template = { kind: "phone_code", code: "482913", lifetimeMinutes: 10 } as const;
  const id = await queuePhoneMessage(deps.db, deps, "sms", "+819012345678", "ja", template);

  await dispatchDueMessages(deps);

  const row = await deps.db
    .selectFrom("outbox_message")
    .select(["state", "attempts", "last_error"])
    .where("id", "=", id)
    .executeTakeFirstOrThrow();
  assert.equal(row.state, "pending");
  assert.equal(row.attempts, 1);
  assert.match(row.last_error ?? "", /Twilio error 21610: Attempt to send to unsubscribed recipient/);
  assert.doesNotMatch(row.last_error ?? "", new RegExp(authToken));
});

test("the configured courier sends texts and calls through Twilio when TWILIO_* is set, else the outbox or nowhere", () => {
  const twilioEnv = {
    NODE_ENV: "test",
    TWILIO_ACCOUNT_SID: accountSid,
    TWILIO_AUTH_TOKEN: authToken,
    TWILIO_FROM: "+815011112222",
  };
  const withTwilio = createConfiguredCourier(loadConfig(twilioEnv)).transports;
  assert.deepEqual([withTwilio.sms.name, withTwilio.voice.name], ["twilio-sms", "twilio-voice"]);
  const development = createConfiguredCourier(loadConfig({ NODE_ENV: "test" })).transports;
  assert.deepEqual([development.sms.name, development.voice.name], ["dev-outbox", "dev-outbox"]);
  const nowhere = createConfiguredCourier(
    loadConfig({ NODE_ENV: "test", MAMORI_DEV_OUTBOX: "false" }),
  ).transports;
  assert.deepEqual([nowhere.sms.name, nowhere.voice.name], ["unconfigured-sms", "unconfigured-voice"]);
});
