import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { ConfigError, loadConfig } from "./config.ts";

// Drawn once with `openssl rand -base64 32` (production refuses a key that looks made up).
const key = "6JW4OqhdhsTBUck3DBdxt5jgHs/87O2wjdMk1ad7uRQ=";
const safeProduction = {
  NODE_ENV: "production",
  MAMORI_BRAND_NAME: "やまだ商店",
  MAMORI_PUBLIC_URL: "https://login.example.jp",
  MAMORI_TRUST_PROXY: "true",
  SMTP_URL: "smtps://user:pass@mail.example.jp:465",
  MAMORI_SECRET_KEYS: key,
};

function problemsOf(source: Record<string, string>): readonly string[] {
  try {
    loadConfig(source);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

test("the defaults serve SQLite on port 3000 with the development outbox", () => {
  const config = loadConfig({});
  assert.equal(config.port, 3000);
  assert.equal(config.databaseUrl, "sqlite:./data/mamori.db");
  assert.equal(config.devOutbox, true);
  assert.equal(config.sessionCookieName, "mamori_session");
  assert.equal(config.limits.emailCodeLifetimeSeconds, 900);
  assert.equal(config.limits.codeMaxAttempts, 5);
});

test("a safe production configuration starts, with Secure __Host- cookies", () => {
  const config = loadConfig(safeProduction);
  assert.equal(config.cookieSecure, true);
  assert.equal(config.sessionCookieName, "__Host-mamori_session");
  assert.equal(config.devOutbox, false);
});

test("production refuses to start without secret keys, over plain HTTP, without a proxy or with the dev outbox", () => {
  const { MAMORI_SECRET_KEYS: _, ...withoutKeys } = safeProduction;
  assert.match(problemsOf(withoutKeys).join("\n"), /MAMORI_SECRET_KEYS is required/);
  assert.match(
    problemsOf({ ...safeProduction, MAMORI_PUBLIC_URL: "http://login.example.jp" }).join("\n"),
    /must be https/,
  );
  assert.match(problemsOf({ ...safeProduction, MAMORI_TRUST_PROXY: "false" }).join("\n"), /TRUST_PROXY/);
  assert.match(problemsOf({ ...safeProduction, MAMORI_DEV_OUTBOX: "true" }).join("\n"), /DEV_OUTBOX/);
});

test("production refuses lifetimes and limits outside their safe bounds, while tests may shorten them", () => {
  assert.equal(loadConfig({ MAMORI_EMAIL_CODE_LIFETIME_SECONDS: "2" }).limits.emailCodeLifetimeSeconds, 2);
  const problems = problemsOf({
    ...safeProduction,
    MAMORI_EMAIL_CODE_LIFETIME_SECONDS: "2",
    MAMORI_ARGON2_MEMORY_KIB: "1024",
    MAMORI_CODE_MAX_ATTEMPTS: "50",
  });
  assert.equal(problems.length, 3);
});

test("every problem is reported at once, in words that say how to fix it", () => {
  const problems = problemsOf({ PORT: "eighty", DATABASE_URL: "mysql://x", MAMORI_SECRET_KEYS: "c2hvcnQ=" });
  assert.equal(problems.length, 3);
  assert.match(problems.join("\n"), /PORT must be a whole number/);
  assert.match(problems.join("\n"), /DATABASE_URL must start with sqlite: .* or postgres:\/\//);
  assert.match(problems.join("\n"), /32 bytes in base64 \(`openssl rand -base64 32`\)/);
});

test("production refuses a well-known or low-entropy secret key, or one of the wrong length", () => {
  // Attack it stops: a key anyone can know (the development key in the source, all zeros, "aaaa…",
  // one byte repeated) lets anyone forge signed values and read what is encrypted (TOTP secrets).
  const developmentKey = createHash("sha256")
    .update("mamori development key: never use in production")
    .digest()
    .toString("base64");
  const lowEntropy = Buffer.from(Array.from({ length: 32 }, (_, i) => i % 15)).toString("base64");
  const refused = {
    development: developmentKey,
    zeros: Buffer.alloc(32).toString("base64"),
    repeated: Buffer.alloc(32, 0xa7).toString("base64"),
    typed: Buffer.from("a".repeat(32)).toString("base64"),
    "15 values": lowEntropy,
    short: Buffer.from(key, "base64").subarray(0, 16).toString("base64"),
    long: Buffer.concat([Buffer.from(key, "base64"), Buffer.alloc(1, 1)]).toString("base64"),
  };
  for (const [kind, weak] of Object.entries(refused)) {
    const problems = problemsOf({ ...safeProduction, MAMORI_SECRET_KEYS: weak });
    assert.equal(problems.length, 1, `${kind}: ${problems.join("; ")}`);
    assert.match(problems[0] ?? "", /^MAMORI_SECRET_KEYS: key 1 .*openssl rand -base64 32/, kind);
    // An older key in the list is checked too: a rotation cannot bring a weak key back.
    const second = problemsOf({ ...safeProduction, MAMORI_SECRET_KEYS: `${key},${weak}` });
    assert.match(second.join("\n"), /MAMORI_SECRET_KEYS: key 2 /, kind);
  }
  // The process prints every problem and exits 2 (main.ts): here, each weak key is one line.
  const all = problemsOf({ ...safeProduction, MAMORI_SECRET_KEYS: Object.values(refused).join(",") });
  assert.equal(all.length, Object.keys(refused).length);
  // 16 different byte values is the least a production key may have; development takes any 32 bytes.
  const sixteen = Buffer.from(Array.from({ length: 32 }, (_, i) => i % 16)).toString("base64");
  assert.deepEqual(problemsOf({ ...safeProduction, MAMORI_SECRET_KEYS: sixteen }), []);
  assert.deepEqual(problemsOf({ MAMORI_SECRET_KEYS: refused.zeros }), []);
});

test("secret keys are kept newest first for rotation", () => {
  const older = "PGvqTiDodr/MIqQAWF3RNBMowPRi0GJsQFO2Lt2Bngg=";
  const config = loadConfig({ MAMORI_SECRET_KEYS: `${key}, ${older}` });
  assert.deepEqual(
    config.secretKeys.map((k) => k.toString("base64")),
    [key, older],
  );
});

const twilioAccount = {
  TWILIO_ACCOUNT_SID: `AC${"a1".repeat(16)}`,
  TWILIO_AUTH_TOKEN: "twilio-auth-token-secret",
  TWILIO_FROM: "+815011112222",
};

test("without TWILIO_* variables there is no phone provider", () => {
  assert.equal(loadConfig({}).twilio, undefined);
  assert.equal(loadConfig(safeProduction).twilio, undefined);
});

test("a full Twilio configuration is accepted, and calls come from TWILIO_FROM unless TWILIO_VOICE_FROM is set", () => {
  const twilio = loadConfig({ ...safeProduction, ...twilioAccount }).twilio;
  assert.deepEqual(twilio, {
    accountSid: twilioAccount.TWILIO_ACCOUNT_SID,
    auth: { username: twilioAccount.TWILIO_ACCOUNT_SID, password: "twilio-auth-token-secret" },
    sms: { from: "+815011112222" },
    voiceFrom: "+815011112222",
    baseUrl: "https://api.twilio.com",
  });

  const keySid = `SK${"b2".repeat(16)}`;
  const serviceSid = `MG${"c3".repeat(16)}`;
  const withKeyAndService = loadConfig({
    TWILIO_ACCOUNT_SID: twilioAccount.TWILIO_ACCOUNT_SID,
    TWILIO_API_KEY_SID: keySid,
    TWILIO_API_KEY_SECRET: "key-secret",
    TWILIO_MESSAGING_SERVICE_SID: serviceSid,
    TWILIO_VOICE_FROM: "+815033334444",
    TWILIO_BASE_URL: "http://127.0.0.1:4010/",
  }).twilio;
  assert.deepEqual(withKeyAndService, {
    accountSid: twilioAccount.TWILIO_ACCOUNT_SID,
    auth: { username: keySid, password: "key-secret" },
    sms: { messagingServiceSid: serviceSid },
    voiceFrom: "+815033334444",
    baseUrl: "http://127.0.0.1:4010",
  });
});

test("partial Twilio settings are refused at start, saying what is missing and never echoing the token", () => {
  const onlySid = problemsOf({ TWILIO_ACCOUNT_SID: twilioAccount.TWILIO_ACCOUNT_SID }).join("\n");
  assert.match(onlySid, /Twilio credentials are required: TWILIO_AUTH_TOKEN, or TWILIO_API_KEY_SID/);
  assert.match(onlySid, /TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID is required/);

  const onlyToken = problemsOf({ TWILIO_AUTH_TOKEN: "twilio-auth-token-secret" }).join("\n");
  assert.match(onlyToken, /TWILIO_ACCOUNT_SID is required/);
  assert.doesNotMatch(onlyToken, /twilio-auth-token-secret/);

  const { TWILIO_AUTH_TOKEN: _, ...withoutToken } = twilioAccount;
  assert.match(
    problemsOf({ ...withoutToken, TWILIO_API_KEY_SID: `SK${"b2".repeat(16)}` }).join("\n"),
    /TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET go together/,
  );
  assert.match(
    problemsOf({ ...twilioAccount, TWILIO_API_KEY_SECRET: "x" }).join("\n"),
    /TWILIO_AUTH_TOKEN or TWILIO_API_KEY_SID .* not both/,
  );
  // A Messaging Service sends texts only: voice codes still need a number to call from.
  const { TWILIO_FROM: __, ...withoutFrom } = twilioAccount;
  assert.match(
    problemsOf({ ...withoutFrom, TWILIO_MESSAGING_SERVICE_SID: `MG${"c3".repeat(16)}` }).join("\n"),
    /TWILIO_VOICE_FROM \(or TWILIO_FROM\) is required/,
  );
  assert.match(
    problemsOf({ ...twilioAccount, TWILIO_FROM: "090-1234-5678" }).join("\n"),
    /TWILIO_FROM must be an E\.164/,
  );
  const misplacedToken = problemsOf({
    ...twilioAccount,
    TWILIO_ACCOUNT_SID: "twilio-auth-token-secret",
  }).join("\n");
  assert.match(misplacedToken, /TWILIO_ACCOUNT_SID must be AC followed by 32 hexadecimal digits/);
  assert.doesNotMatch(misplacedToken, /twilio-auth-token-secret/);
});

test("production refuses a plain-HTTP TWILIO_BASE_URL, which tests may point at loopback", () => {
  assert.match(
    problemsOf({ ...safeProduction, ...twilioAccount, TWILIO_BASE_URL: "http://127.0.0.1:4010" }).join("\n"),
    /TWILIO_BASE_URL must be https:\/\/ in production/,
  );
  const twilio = loadConfig({
    ...safeProduction,
    ...twilioAccount,
    TWILIO_BASE_URL: "https://twilio-proxy.example.jp",
  }).twilio;
  assert.equal(twilio?.baseUrl, "https://twilio-proxy.example.jp");
});

test("an outbox lease not longer than the SMTP timeout is refused at start, so a slow mail server cannot get a mail claimed and sent twice", () => {
  // The attack on delivery: a server that takes longer than the lease to answer lets a second
  // process claim the message while the first is still sending it.
  const smtp = { NODE_ENV: "test", SMTP_URL: "smtp://127.0.0.1:2525" };
  for (const lease of ["20", "10"]) {
    assert.throws(
      () => loadConfig({ ...smtp, MAMORI_SMTP_TIMEOUT_SECONDS: "20", MAMORI_OUTBOX_LEASE_SECONDS: lease }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.problems.some(
          (p) => p.startsWith("MAMORI_OUTBOX_LEASE_SECONDS") && p.includes("MAMORI_SMTP_TIMEOUT_SECONDS"),
        ),
    );
  }
  const accepted = loadConfig({
    ...smtp,
    MAMORI_SMTP_TIMEOUT_SECONDS: "20",
    MAMORI_OUTBOX_LEASE_SECONDS: "21",
  });
  assert.equal(accepted.limits.outboxLeaseSeconds, 21);
  // The shipped defaults hold the rule: a 60 s lease, a 20 s SMTP timeout.
  const defaults = loadConfig(smtp).limits;
  assert.deepEqual([defaults.outboxLeaseSeconds, defaults.smtpTimeoutSeconds], [60, 20]);
});
