import { sql } from "kysely";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { isDatabaseReady } from "../db/database.ts";
import type { Deps } from "../deps.ts";
import { parsePhoneNumberFromString } from "../identity/phone-numbers.ts";

/**
 * What an operator graphs and alerts on, in Prometheus' text format (`GET /metrics` on the metrics
 * port, src/operations/metrics-server.ts). Every name here is documented in docs/operations.md, and
 * a test scrapes them against that page. The registry is the process's: counters live as long as
 * the process, as Prometheus expects, and several worker processes are summed by the primary.
 *
 * Labels hold only bounded sets (a route's pattern, never its URL; an error code, a country code):
 * never an account, an address or anything a customer typed.
 */
export const metricsRegistry = new Registry();

const registers = [metricsRegistry];

const httpRequests = new Counter({
  name: "mamori_http_requests_total",
  help: "HTTP requests answered, by method, route pattern and status code.",
  labelNames: ["method", "route", "status"] as const,
  registers,
});

const httpDuration = new Histogram({
  name: "mamori_http_request_duration_seconds",
  help: "Time to answer an HTTP request, by method and route pattern (requests answered by Fastify).",
  labelNames: ["method", "route"] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers,
});

const signInAttempts = new Counter({
  name: "mamori_sign_in_attempts_total",
  help: "Sign-in steps, by method (password, passkey, second_factor) and outcome (signed_in, two_step_required, or the error code: invalid_credentials, too_many_attempts, account_suspended, country_not_allowed, ...).",
  labelNames: ["method", "outcome"] as const,
  registers,
});

const securityEvents = new Counter({
  name: "mamori_security_events_total",
  help: "Security events written to the audit log, by type (sign_in.failed, two_step.locked, password.changed, ...).",
  labelNames: ["type"] as const,
  registers,
});

const messagesSent = new Counter({
  name: "mamori_messages_sent_total",
  help: "Mails, texts and calls a transport accepted, by channel and, for texts and calls, the number's country.",
  labelNames: ["channel", "country"] as const,
  registers,
});

const messageAttemptsFailed = new Counter({
  name: "mamori_message_attempts_failed_total",
  help: "Delivery attempts a transport refused or that timed out (each is retried until the last attempt).",
  labelNames: ["channel"] as const,
  registers,
});

const messagesGivenUp = new Counter({
  name: "mamori_messages_given_up_total",
  help: "Messages whose last attempt failed: they stay failed until `mamori outbox retry`.",
  labelNames: ["channel"] as const,
  registers,
});

const phoneBudgetRefusals = new Counter({
  name: "mamori_phone_budget_refusals_total",
  help: "Texts and calls refused by a budget (SMS pumping), by budget: number, account, ip, country or global.",
  labelNames: ["budget"] as const,
  registers,
});

export type HttpRoute = { method: string; route: string; status: number; seconds?: number };

/** One answered request; `route` is the pattern (`/api/v1/flows/:id`), or `unmatched`. */
export function countHttpRequest(request: HttpRoute): void {
  httpRequests.inc({ method: request.method, route: request.route, status: String(request.status) });
  if (request.seconds !== undefined) {
    httpDuration.observe({ method: request.method, route: request.route }, request.seconds);
  }
}

/**
 * A counter child for one fixed route and status, for the session fast path: it answers tens of
 * thousands of requests a second, and a child's `inc()` skips the label lookup.
 */
export function httpRequestCounter(method: string, route: string, status: number): { inc(): void } {
  return httpRequests.labels({ method, route, status: String(status) });
}

export type SignInMethod = "password" | "passkey" | "second_factor";

export function countSignInAttempt(method: SignInMethod, outcome: string): void {
  signInAttempts.inc({ method, outcome });
}

export function countSecurityEvent(type: string): void {
  securityEvents.inc({ type });
}

/** The country of a text's or call's number (`JP`), `-` for mail, `unknown` when it cannot be told. */
function recipientCountry(channel: string, recipient: string): string {
  if (channel === "email") return "-";
  return parsePhoneNumberFromString(recipient)?.country ?? "unknown";
}

export function countMessageSent(channel: string, recipient: string): void {
  messagesSent.inc({ channel, country: recipientCountry(channel, recipient) });
}

export function countMessageAttemptFailed(channel: string, givenUp: boolean): void {
  messageAttemptsFailed.inc({ channel });
  if (givenUp) messagesGivenUp.inc({ channel });
}

export function countPhoneBudgetRefusal(budget: string): void {
  phoneBudgetRefusals.inc({ budget });
}

/**
 * Gauges read from the database and Redis when scraped, for one process's dependencies. Several
 * workers see one database: their values are the same, so the primary keeps the highest (the
 * lowest for the up gauges: one worker that cannot reach the database is down).
 */
export function watchServiceState(deps: Deps): void {
  let pending: Promise<OutboxState> | undefined;
  // The three outbox gauges share one query per scrape.
  const outbox = (): Promise<OutboxState> => {
    pending ??= readOutboxState(deps).finally(() => {
      setImmediate(() => {
        pending = undefined;
      });
    });
    return pending;
  };
  const gauges: StateGauge[] = [
    {
      name: "mamori_outbox_pending_messages",
      help: "Messages waiting to be sent or retried (pending or being sent).",
      aggregator: "max",
      read: async () => (await outbox()).pending,
    },
    {
      name: "mamori_outbox_oldest_pending_age_seconds",
      help: "Age of the oldest message still waiting; 0 when none waits. Alert when it grows.",
      aggregator: "max",
      read: async () => (await outbox()).oldestAgeSeconds,
    },
    {
      name: "mamori_outbox_failed_messages",
      help: "Messages that failed their last attempt and wait for `mamori outbox retry`.",
      aggregator: "max",
      read: async () => (await outbox()).failed,
    },
    {
      name: "mamori_database_up",
      help: "1 when the database answered within MAMORI_READY_TIMEOUT_MS, else 0.",
      aggregator: "min",
      read: async () => ((await isDatabaseReady(deps.db, deps.config.timeouts.readyCheckMs)) ? 1 : 0),
    },
    {
      name: "mamori_throttle_store_up",
      help: "1 when the throttle store (Redis when REDIS_URL is set, else the database) answers, else 0.",
      aggregator: "min",
      read: async () => ((await deps.throttle.isReady()) ? 1 : 0),
    },
    {
      name: "mamori_phone_sends_budget_per_hour",
      help: "The service's hourly budget of texts and calls (MAMORI_PHONE_SENDS_GLOBAL_PER_HOUR).",
      aggregator: "max",
      read: async () => deps.config.limits.phoneSendsGlobalPerHour,
    },
  ];
  for (const gauge of gauges) {
    // Watching another app's dependencies (a test builds several) replaces the earlier gauges.
    metricsRegistry.removeSingleMetric(gauge.name);
    new Gauge({
      name: gauge.name,
      help: gauge.help,
      aggregator: gauge.aggregator,
      registers,
      async collect() {
        this.set(await gauge.read());
      },
    });
  }
}

/** A gauge read when scraped; `aggregator` is how the primary combines the workers' values. */
type StateGauge = { name: string; help: string; aggregator: "max" | "min"; read(): Promise<number> };

type OutboxState = { pending: number; failed: number; oldestAgeSeconds: number };

/** The outbox's depth; a database that does not answer gives no figures (the scrape shows it down). */
async function readOutboxState(deps: Deps): Promise<OutboxState> {
  try {
    const row = await deps.db
      .selectFrom("outbox_message")
      .select([
        sql<number>`sum(case when state in ('pending', 'sending') then 1 else 0 end)`.as("pending"),
        sql<number>`sum(case when state = 'failed' then 1 else 0 end)`.as("failed"),
        sql<string | null>`min(case when state in ('pending', 'sending') then created_at end)`.as("oldest"),
      ])
      .executeTakeFirst();
    const oldest = row?.oldest ? Date.parse(row.oldest) : Number.NaN;
    return {
      pending: Number(row?.pending ?? 0),
      failed: Number(row?.failed ?? 0),
      oldestAgeSeconds: Number.isNaN(oldest) ? 0 : Math.max(0, (deps.clock.now().getTime() - oldest) / 1000),
    };
  } catch (error) {
    deps.log.warn({ err: error }, "metrics: the outbox could not be read");
    return { pending: Number.NaN, failed: Number.NaN, oldestAgeSeconds: Number.NaN };
  }
}
