import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, type TestContext, test } from "node:test";
import { loadConfig } from "../../src/config/config.ts";
import { watchServiceState } from "../../src/operations/metrics.ts";
import { processMetrics, startMetricsServer } from "../../src/operations/metrics-server.ts";
import { buildTestApp, sameOrigin, strongPassword, type TestApp, testEnv } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import { requestSignal } from "../support/patience.ts";

// The operator's figures: served on their own port only (an attacker reading the failure counts
// would watch their own attack), with a token when one is set, and exactly the names
// docs/operations.md documents, so an alert written from the page matches what is served.

after(stopSharedPostgres);

const token = "metrics-token-for-the-test-0123456789";

type Metrics = { s: TestApp; url: string };

async function appWithMetrics(t: TestContext): Promise<Metrics> {
  const s = await buildTestApp(t, { env: { MAMORI_METRICS_PORT: "0", MAMORI_METRICS_TOKEN: token } });
  assert.ok(s.config.metrics, "MAMORI_METRICS_PORT turns the metrics on");
  watchServiceState(s.deps);
  const server: Server = await startMetricsServer(s.config.metrics, processMetrics());
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  return { s, url: `http://127.0.0.1:${port}` };
}

async function scrape(m: Metrics, path = "/metrics", auth: string | null = `Bearer ${token}`) {
  const response = await fetch(`${m.url}${path}`, {
    headers: auth === null ? {} : { authorization: auth },
    signal: requestSignal(),
  });
  return { status: response.status, text: await response.text() };
}

async function scrapeText(m: Metrics): Promise<string> {
  const scraped = await scrape(m);
  assert.equal(scraped.status, 200, scraped.text);
  return scraped.text;
}

/** The value of one sample (`name{a="b",…} 3`), 0 when the line is not there (nothing counted yet). */
function sampleValue(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = line.slice(name.length).match(/^\{(.*)\}/)?.[1] ?? "";
    const has = Object.entries(labels).every(([key, value]) => labelText.includes(`${key}="${value}"`));
    if (has) return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return 0;
}

/** The metric names a scrape declares (`# TYPE name kind`). */
function servedNames(text: string): Set<string> {
  return new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((match) => match[1] ?? ""));
}

function documentedNames(): Set<string> {
  const page = readFileSync(new URL("../../docs/operations.md", import.meta.url), "utf8");
  const table = page.split("## The metrics")[1]?.split("\n## ")[0] ?? "";
  return new Set([...table.matchAll(/^\| `(mamori_[a-z_]+)` \|/gm)].map((match) => match[1] ?? ""));
}

test("metrics are off unless MAMORI_METRICS_PORT is set, and never on the public port", async (t) => {
  assert.equal(loadConfig(testEnv).metrics, undefined);
  const { s } = await appWithMetrics(t);
  const publicPort = await s.inject({ method: "GET", url: "/metrics" });
  assert.equal(publicPort.statusCode, 404);
});

test("the metrics port needs its token when one is set, and serves nothing else", async (t) => {
  const m = await appWithMetrics(t);
  assert.equal((await scrape(m, "/metrics", null)).status, 401);
  assert.equal((await scrape(m, "/metrics", "Bearer wrong-token-of-the-same-size-0123")).status, 401);
  assert.equal((await scrape(m, "/other")).status, 404);
  assert.equal((await scrape(m)).status, 200);
});

test("a metrics host other than loopback refuses to start without a token", () => {
  assert.throws(
    () => loadConfig({ ...testEnv, MAMORI_METRICS_PORT: "9464", MAMORI_METRICS_HOST: "0.0.0.0" }),
    /MAMORI_METRICS_TOKEN is required/,
  );
  assert.throws(
    () => loadConfig({ ...testEnv, MAMORI_METRICS_PORT: "3000", PORT: "3000" }),
    /must differ from PORT/,
  );
  assert.ok(
    loadConfig({
      ...testEnv,
      MAMORI_METRICS_PORT: "9464",
      MAMORI_METRICS_HOST: "0.0.0.0",
      MAMORI_METRICS_TOKEN: token,
    }).metrics,
  );
});

test("every metric served is documented in docs/operations.md, and every documented one is served", async (t) => {
  const m = await appWithMetrics(t);
  // Something in each family, so every labelled counter has a line.
  await m.s.registerAccount({ email: "metrics-names@example.jp" });
  const text = await scrapeText(m);
  const served = [...servedNames(text)].filter(
    (name) => !name.startsWith("mamori_process_") && !name.startsWith("mamori_nodejs_"),
  );
  const documented = documentedNames();
  assert.ok(documented.size >= 10, "the table was read");
  assert.deepEqual(
    served.filter((name) => !documented.has(name)),
    [],
    "served but not documented",
  );
  assert.deepEqual(
    [...documented].filter((name) => !servedNames(text).has(name)),
    [],
    "documented but not served",
  );
  assert.ok(servedNames(text).has("mamori_process_cpu_seconds_total"), "Node's own figures are there");
});

test("sign-ins are counted by method and outcome, and requests by route pattern, never by URL", async (t) => {
  const m = await appWithMetrics(t);
  const account = await m.s.registerAccount({ email: "metrics-sign-in@example.jp" });
  const before = await scrapeText(m);
  const wrong = { method: "password", outcome: "invalid_credentials" };
  const right = { method: "password", outcome: "signed_in" };
  for (let i = 0; i < 3; i++) {
    const refused = await m.s.signIn({ identifier: account.email, password: `${strongPassword}-wrong` });
    assert.equal(refused.statusCode, 401, refused.body);
  }
  const signedIn = await m.s.signIn({ identifier: account.email, password: account.password });
  assert.equal(signedIn.statusCode, 200, signedIn.body);
  const unknownChallenge = await m.s.inject({
    method: "POST",
    url: "/api/v1/sign-in/challenges/flw_not_a_real_flow_id/resend",
    headers: sameOrigin(m.s.config),
  });
  assert.ok(unknownChallenge.statusCode >= 400, unknownChallenge.body);
  const unknownUrl = await m.s.inject({ method: "GET", url: "/no-such-page/flw_not_a_real_flow_id" });
  assert.equal(unknownUrl.statusCode, 404);

  const after = await scrapeText(m);
  const delta = (name: string, labels: Record<string, string>) =>
    sampleValue(after, name, labels) - sampleValue(before, name, labels);
  assert.equal(delta("mamori_sign_in_attempts_total", wrong), 3);
  assert.equal(delta("mamori_sign_in_attempts_total", right), 1);
  assert.equal(delta("mamori_security_events_total", { type: "sign_in.failed" }), 3);
  assert.ok(delta("mamori_http_requests_total", { route: "/api/v1/sign-in", status: "401" }) >= 3);
  assert.ok(
    sampleValue(after, "mamori_http_request_duration_seconds_count", { route: "/api/v1/sign-in" }) >= 4,
  );
  assert.ok(delta("mamori_http_requests_total", { route: "/api/v1/sign-in/challenges/:id/resend" }) >= 1);
  assert.ok(delta("mamori_http_requests_total", { route: "unmatched", status: "404" }) >= 1);
  // No label holds what a client sent: not the made-up flow id, not the email.
  assert.doesNotMatch(after, /flw_not_a_real_flow_id/);
  assert.doesNotMatch(after, /metrics-sign-in@example\.jp/);
});

test("the outbox's depth and age show mail that has not left, and deliveries are counted", async (t) => {
  const m = await appWithMetrics(t);
  await m.s.dispatch();
  const before = await scrapeText(m);
  assert.equal(sampleValue(before, "mamori_outbox_pending_messages"), 0);
  assert.equal(sampleValue(before, "mamori_database_up"), 1);
  assert.equal(sampleValue(before, "mamori_throttle_store_up"), 1);

  // A registration queues its code; the mail server is down, so it stays.
  m.s.email.failing = true;
  const started = await m.s.inject({
    method: "POST",
    url: "/api/v1/registrations",
    payload: { name: "山田 花子", email: "metrics-outbox@example.jp", password: strongPassword },
  });
  assert.ok(started.statusCode < 300, started.body);
  m.s.clock.advance(120);
  await m.s.dispatch();
  const waiting = await scrapeText(m);
  assert.equal(sampleValue(waiting, "mamori_outbox_pending_messages"), 1);
  assert.ok(sampleValue(waiting, "mamori_outbox_oldest_pending_age_seconds") >= 120);
  assert.equal(
    sampleValue(waiting, "mamori_message_attempts_failed_total", { channel: "email" }) -
      sampleValue(before, "mamori_message_attempts_failed_total", { channel: "email" }),
    1,
  );

  // The server is back: the retry goes out, and the outbox is empty again.
  m.s.email.failing = false;
  m.s.clock.advance(60);
  await m.s.dispatch();
  const sent = await scrapeText(m);
  assert.equal(sampleValue(sent, "mamori_outbox_pending_messages"), 0);
  assert.equal(sampleValue(sent, "mamori_outbox_oldest_pending_age_seconds"), 0);
  assert.equal(
    sampleValue(sent, "mamori_messages_sent_total", { channel: "email", country: "-" }) -
      sampleValue(before, "mamori_messages_sent_total", { channel: "email", country: "-" }),
    1,
  );
});
