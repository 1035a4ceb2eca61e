import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, loadConfig } from "./config.ts";

const key = Buffer.alloc(32, 7).toString("base64");
const safeProduction = {
  NODE_ENV: "production",
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

test("secret keys are kept newest first for rotation", () => {
  const older = Buffer.alloc(32, 1).toString("base64");
  const config = loadConfig({ MAMORI_SECRET_KEYS: `${key}, ${older}` });
  assert.deepEqual(
    config.secretKeys.map((k) => k.toString("base64")),
    [key, older],
  );
});
