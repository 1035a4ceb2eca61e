import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { pino } from "pino";
import { type Config, loadConfig } from "../../src/config/config.ts";
import { createCourier, type OutboundMessage, type Transport } from "../../src/courier/courier.ts";
import { queueMessage } from "../../src/courier/outbox.ts";
import type { MessageTemplate } from "../../src/courier/templates.ts";
import { newId } from "../../src/crypto/secrets.ts";
import type { Database } from "../../src/db/database.ts";
import { type Clock, type Deps, secureRandom } from "../../src/deps.ts";
import type { CodeDeps, CodeRules } from "../../src/factors/one-time-code/one-time-code.ts";
import { insertAccount } from "../../src/identity/accounts.ts";
import { databaseThrottleStore } from "../../src/throttle/throttle.ts";
import { openTestDatabase, type TestDialect } from "./databases.ts";

// The same rules, checked on SQLite and on a real PostgreSQL 15 server (test/support/postgres.ts).
// Every test gets a fresh, migrated database, so no test depends on another or on their order.

// Shared by the storage tests (test/postgres/*.test.ts), which run on SQLite and PostgreSQL.
export const config = loadConfig({ NODE_ENV: "test" });
export const limits = config.limits;
export const day = 86_400;

export type FakeClock = Clock & { advanceSeconds(seconds: number): void };

export function fakeClock(start = "2025-04-01T09:00:00.000Z"): FakeClock {
  let now = new Date(start);
  return {
    now: () => now,
    advanceSeconds(seconds) {
      now = new Date(now.getTime() + seconds * 1000);
    },
  };
}

export async function freshDatabase(t: TestContext, dialect: TestDialect, migrate = true): Promise<Database> {
  const database = await openTestDatabase(dialect, { migrate });
  t.after(() => database.close());
  return database.db;
}

export async function createAccount(db: Database, now: Date): Promise<string> {
  const id = newId(secureRandom, "acc");
  const inserted = await insertAccount(db, {
    id,
    email: `${id}@example.jp`,
    name: "山田 花子",
    passwordHash: "$argon2id$not-a-real-hash",
    locale: "ja",
    now,
  });
  assert.equal(inserted, true);
  return id;
}

export function codeRules(): CodeRules {
  return {
    lifetimeSeconds: limits.emailCodeLifetimeSeconds,
    maxAttempts: limits.codeMaxAttempts,
    resendCooldownSeconds: limits.codeResendCooldownSeconds,
    maxSends: limits.codeMaxSends,
  };
}

export function codeDeps(clock: Clock): CodeDeps {
  const [secretKey] = config.secretKeys;
  assert.ok(secretKey);
  return { clock, random: secureRandom, secretKey };
}

/** A six-digit code that is certainly not `code`. */
export function wrongCodeFor(code: string): string {
  return code === "000000" ? "000001" : "000000";
}

export type RecordingTransport = Transport & { sent: OutboundMessage[]; failing: boolean };

export function recordingTransport(name: string): RecordingTransport {
  const transport: RecordingTransport = {
    name,
    sent: [],
    failing: false,
    send: async (message) => {
      if (transport.failing) throw new Error(`${name} is down`);
      transport.sent.push(message);
    },
  };
  return transport;
}

export function outboxDeps(
  db: Database,
  clock: Clock,
  overrides: Config = config,
): Deps & { email: RecordingTransport } {
  const email = recordingTransport("recording-email");
  const courier = createCourier({
    email,
    sms: recordingTransport("recording-sms"),
    voice: recordingTransport("recording-voice"),
  });
  return {
    config: overrides,
    db,
    clock,
    random: secureRandom,
    courier,
    throttle: databaseThrottleStore(db),
    log: pino({ level: "silent" }),
    email,
  };
}

export function codeMessage(code = "123456"): MessageTemplate {
  return { kind: "registration_code", code, lifetimeMinutes: 15 };
}

export async function queueEmails(deps: Deps, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    ids.push(await queueMessage(deps.db, deps, "email", `person${i}@example.jp`, "ja", codeMessage()));
  }
  return ids;
}
