import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from "fastify";
import { pino } from "pino";
import { buildApp } from "../../src/app.ts";
import { type Config, type ConfigSource, loadConfig } from "../../src/config/config.ts";
import {
  type Courier,
  createCourier,
  type OutboundMessage,
  type Transport,
} from "../../src/courier/courier.ts";
import { dispatchDueMessages } from "../../src/courier/dispatcher.ts";
import type { Database } from "../../src/db/database.ts";
import type { Clock, Deps } from "../../src/deps.ts";
import { secureRandom } from "../../src/deps.ts";
import { type ApiFlowKind, flowTokenFor, flowTokenHeader } from "../../src/http/flow-token.ts";
import { createConfiguredCourier } from "../../src/main.ts";
import { redisThrottleStore } from "../../src/throttle/redis-store.ts";
import { databaseThrottleStore } from "../../src/throttle/throttle.ts";
import { openTestDatabase, type TestDialect } from "./databases.ts";

/**
 * The real application, built from `buildApp(deps)` for one test: a fresh database, a fake clock,
 * real randomness, a silent log and a courier that records what it sends. Everything is closed by
 * the test's `after` hook, so tests share nothing and can run in any order or in parallel.
 */

export type FakeClock = Clock & { advance(seconds: number): void };

export function fakeClock(start = "2031-04-01T09:00:00.000Z"): FakeClock {
  let now = new Date(start);
  return {
    now: () => now,
    advance: (seconds) => {
      now = new Date(now.getTime() + seconds * 1000);
    },
  };
}

/** A transport that keeps every message it accepts, and can be told to fail like a broken provider. */
export type CapturingTransport = Transport & { sent: OutboundMessage[]; failing: boolean };

export function capturingTransport(name: string): CapturingTransport {
  const transport: CapturingTransport = {
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

export type TestAppOptions = {
  /** Environment variables on top of the test defaults (NODE_ENV=test, cheap argon2). */
  env?: ConfigSource;
  /** "sqlite" (default) or "postgres": a file that uses PostgreSQL adds `after(stopSharedPostgres)`. */
  dialect?: TestDialect;
  /** "capture" (default): an in-memory transport; "configured": what main.ts would build (SMTP when SMTP_URL is set). */
  courier?: "capture" | "configured";
  /** Where the app's log goes (default: nowhere); a test that reads the log passes its own. */
  log?: Deps["log"];
};

export type TestApp = {
  app: FastifyInstance;
  deps: Deps;
  db: Database;
  /** The database's URL, for the operator's CLI to open it as `npx mamori` would. */
  databaseUrl: string;
  config: Config;
  clock: FakeClock;
  /** The capturing email transport (unused when the courier is "configured"). */
  email: CapturingTransport;
  /** Runs the outbox dispatcher once over every due message; returns how many it claimed. */
  dispatch(): Promise<number>;
  /**
   * The code in the newest message of `template` (default: registration codes) queued for an
   * address, read from the outbox table: the development outbox's copy, else the 6 digits in the
   * body (kept until the message is sent).
   */
  latestCode(to: string, template?: string): Promise<string | undefined>;
  /**
   * Outbox rows to an address, newest first. Messages queued at the same instant of the fake clock
   * come in no particular order: advance the clock between steps when the order matters.
   */
  messagesTo(to: string): Promise<{ template: string; subject: string | null; text_body: string }[]>;
  /** Registers and verifies an account through the API; returns its session cookie header. */
  registerAccount(input?: Partial<AccountInput>): Promise<RegisteredAccount>;
  /** Signs in through the API with the given body; returns the raw response. */
  signIn(body: Record<string, unknown>, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  inject(options: InjectOptions): Promise<LightMyRequestResponse>;
};

export type AccountInput = { name: string; email: string; password: string; locale: "ja" | "en" };
export type RegisteredAccount = AccountInput & { accountId: string; sessionId: string; cookie: string };

/** A password that passes the policy (long, not common, not about the person, zxcvbn ≥ 3). */
export const strongPassword = "Murasaki-Kumo-7381-Tanuki";

/** Low argon2id cost: tests check behaviour, not hashing strength. */
export const testEnv: ConfigSource = {
  NODE_ENV: "test",
  MAMORI_ARGON2_MEMORY_KIB: "1024",
  MAMORI_ARGON2_ITERATIONS: "1",
};

/** The public origin of a test app: cookie-authenticated changes must say they come from it. */
export function sameOrigin(config: Config): Record<string, string> {
  return { origin: config.publicUrl.origin };
}

/**
 * The database a test app uses when the test does not name one: SQLite, or PostgreSQL when the
 * suite runs as `MAMORI_TEST_DATABASE=postgres` (`npm run test:http:postgres`), so the whole
 * HTTP suite is proven on both.
 */
function defaultDialect(): TestDialect {
  return process.env.MAMORI_TEST_DATABASE === "postgres" ? "postgres" : "sqlite";
}

export async function buildTestApp(t: TestContext, options: TestAppOptions = {}): Promise<TestApp> {
  const config = loadConfig({ ...testEnv, ...options.env });
  const database = await openTestDatabase(options.dialect ?? defaultDialect());
  const clock = fakeClock();
  const email = capturingTransport("capture-email");
  const courier: Courier =
    options.courier === "configured"
      ? createConfiguredCourier(config)
      : createCourier({
          email,
          sms: capturingTransport("capture-sms"),
          voice: capturingTransport("capture-voice"),
        });
  const deps: Deps = {
    config,
    db: database.db,
    clock,
    random: secureRandom,
    courier,
    // Redis counts in real time (its own expiry), not the fake clock: tests that move the clock use the database.
    throttle: config.redisUrl ? redisThrottleStore(config.redisUrl) : databaseThrottleStore(database.db),
    log: options.log ?? pino({ level: "silent" }),
  };
  // Closed last-opened first, also when building the app fails half-way.
  const closers: (() => Promise<unknown>)[] = [() => database.close(), () => deps.throttle.close()];
  t.after(async () => {
    for (const close of closers.reverse()) await close();
  });
  const app = await buildApp(deps);
  closers.push(() => app.close());

  async function messagesTo(to: string) {
    return database.db
      .selectFrom("outbox_message")
      .select(["template", "subject", "text_body"])
      .where("recipient", "=", to.toLowerCase())
      .orderBy("created_at", "desc")
      .orderBy("id", "desc")
      .execute();
  }

  async function latestCode(to: string, template = "registration_code"): Promise<string | undefined> {
    const row = await database.db
      .selectFrom("outbox_message")
      .select(["dev_code", "text_body"])
      .where("recipient", "=", to.toLowerCase())
      .where("template", "=", template)
      .orderBy("created_at", "desc")
      .orderBy("id", "desc")
      .executeTakeFirst();
    if (!row) return undefined;
    return row.dev_code ?? /\b(\d{6})\b/.exec(row.text_body)?.[1];
  }

  // Like a browser's cookie jar: when Mamori renews a session cookie (after a privilege change),
  // later requests that carry the old value carry the new one. Only a value Mamori itself
  // replaced is swapped, so a test can still send any cookie it makes up.
  const latestById = new Map<string, string>();
  const replacedBy = new Map<string, string>();
  const cookieName = config.sessionCookieName;
  const inject = async (request: InjectOptions): Promise<LightMyRequestResponse> => {
    const headers = { ...(request.headers ?? {}) } as Record<string, string>;
    // Like a client that kept each flow's token from the flow's first answer (decision 0013): a
    // step of a flow carries it unless the test set the header itself. Tests of the binding
    // itself call `app.inject` directly, as a stranger holding only the id would.
    const step = typeof request.url === "string" ? flowStepOf(request.url) : undefined;
    if (step && headers[flowTokenHeader] === undefined)
      headers[flowTokenHeader] = flowTokenFor(config, step.kind, step.id);
    if (typeof headers.cookie === "string") {
      headers.cookie = headers.cookie
        .split(/;\s*/)
        .map((pair) => {
          if (!pair.startsWith(`${cookieName}=`)) return pair;
          let value = pair.slice(cookieName.length + 1);
          for (let next = replacedBy.get(value); next; next = replacedBy.get(value)) value = next;
          return `${cookieName}=${value}`;
        })
        .join("; ");
    }
    const response = await app.inject({ ...request, headers });
    const value = setSessionCookieHeader(response, config)
      ?.split(";")[0]
      ?.slice(cookieName.length + 1);
    if (value) {
      const id = value.split(".")[0] ?? "";
      const previous = latestById.get(id);
      if (previous && previous !== value) replacedBy.set(previous, value);
      latestById.set(id, value);
    }
    return response;
  };

  async function registerAccount(input: Partial<AccountInput> = {}): Promise<RegisteredAccount> {
    const account: AccountInput = {
      name: input.name ?? "山田 花子",
      email: input.email ?? `user-${Math.random().toString(36).slice(2, 10)}@example.jp`,
      password: input.password ?? strongPassword,
      locale: input.locale ?? "ja",
    };
    const started = await inject({ method: "POST", url: "/api/v1/registrations", payload: account });
    assert.equal(started.statusCode, 201, started.body);
    const registrationId = started.json<{ registration: { id: string } }>().registration.id;
    const code = await latestCode(account.email);
    assert.ok(code, `no code was queued for ${account.email}`);
    const verified = await inject({
      method: "POST",
      url: `/api/v1/registrations/${registrationId}/verify`,
      payload: { code },
    });
    assert.equal(verified.statusCode, 201, verified.body);
    const body = verified.json<{ account: { id: string }; session: { id: string } }>();
    return {
      ...account,
      accountId: body.account.id,
      sessionId: body.session.id,
      cookie: sessionCookieHeader(verified, config),
    };
  }

  return {
    app,
    deps,
    db: database.db,
    databaseUrl: database.url,
    config,
    clock,
    email,
    dispatch: () => dispatchDueMessages(deps),
    latestCode,
    messagesTo,
    registerAccount,
    signIn: (body, headers = {}) =>
      inject({ method: "POST", url: "/api/v1/sign-in", payload: body, headers }),
    inject,
  };
}

const flowStepPaths: readonly [RegExp, ApiFlowKind][] = [
  [/^\/api\/v1\/registrations\/([^/?]+)\//, "registration"],
  [/^\/api\/v1\/sign-in\/challenges\/([^/?]+)\//, "sign_in_challenge"],
  [/^\/api\/v1\/password-resets\/([^/?]+)\//, "password_reset"],
  [/^\/api\/v1\/email-reminders\/([^/?]+)\//, "email_reminder"],
  [/^\/api\/v1\/two-step-recoveries\/((?!cancel)[^/?]+)\//, "two_step_recovery"],
];

/** The flow a JSON API step is for (`/api/v1/password-resets/{id}/verify` -> a reset's id). */
function flowStepOf(url: string): { kind: ApiFlowKind; id: string } | undefined {
  for (const [pattern, kind] of flowStepPaths) {
    const id = pattern.exec(url)?.[1];
    if (id) {
      try {
        return { kind, id: decodeURIComponent(id) };
      } catch {
        return { kind, id }; // a malformed id (bad-input tests): the server answers it as it is
      }
    }
  }
  return undefined;
}

/** The `Set-Cookie` header for the session cookie, whole (attributes included). */
export function setSessionCookieHeader(response: LightMyRequestResponse, config: Config): string | undefined {
  const raw = response.headers["set-cookie"];
  const all = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  return all.find((c) => c.startsWith(`${config.sessionCookieName}=`));
}

/** `name=value` of the session cookie a response sets, ready for a `cookie` request header. */
export function sessionCookieHeader(response: LightMyRequestResponse, config: Config): string {
  const header = setSessionCookieHeader(response, config);
  assert.ok(header, "the response sets no session cookie");
  return header.split(";")[0] as string;
}

type ErrorShape = { error: { code: string; message: string; field?: string } & Record<string, unknown> };

/** Asserts the response is the API's error shape with this status and code; returns the error. */
export function assertApiError(
  response: LightMyRequestResponse,
  status: number,
  code: string,
): ErrorShape["error"] {
  assert.equal(response.statusCode, status, response.body);
  assert.match(String(response.headers["content-type"]), /^application\/json/);
  const body = response.json<ErrorShape>();
  assert.equal(body.error.code, code, response.body);
  assert.equal(typeof body.error.message, "string");
  assert.ok(body.error.message.length > 0, "the error message is empty");
  return body.error;
}

/** True when a parsed body is `{error:{code,message,field?}}` with a snake_case code. */
export function isErrorShape(body: unknown): boolean {
  if (typeof body !== "object" || body === null || !("error" in body)) return false;
  const error = (body as { error: unknown }).error;
  if (typeof error !== "object" || error === null) return false;
  const { code, message, field } = error as { code?: unknown; message?: unknown; field?: unknown };
  return (
    typeof code === "string" &&
    /^[a-z]+(_[a-z]+)*$/.test(code) &&
    typeof message === "string" &&
    message.length > 0 &&
    (field === undefined || typeof field === "string")
  );
}

export type RegisteredRoute = { method: string; path: string };

/**
 * Every route the app has, read from Fastify's radix tree (`printRoutes()`): a route's path is its
 * labels from the root down, joined. Nothing can hide from this list the way it can from OpenAPI.
 */
export function registeredRoutes(app: FastifyInstance): RegisteredRoute[] {
  const routes: RegisteredRoute[] = [];
  const labels: string[] = [];
  for (const line of app.printRoutes().split("\n")) {
    const match = /^((?:│ {3}| {4})*)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = (match[1] ?? "").length / 4;
    labels.length = depth;
    labels.push(match[2] ?? "");
    for (const method of match[3]?.split(", ") ?? []) routes.push({ method, path: labels.join("") });
  }
  return routes;
}
