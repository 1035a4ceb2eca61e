import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type FaultablePostgres, startFaultablePostgres } from "../support/postgres.ts";
import { latestCode, type MamoriServer, startMamori } from "../support/server.ts";

// PostgreSQL crashing (`pg_ctl stop -m immediate`) or freezing (SIGSTOP) under a running Mamori:
// the process lives, every answer meanwhile is a prompt 503 `database_unavailable` (never a 500,
// never a hang), /readyz says 503, and service resumes by itself once the database is back, with
// everything answered as committed still there. The attack-like fault this guards against: one
// database restart taking the sign-in service down for good (it died of an unhandled pg 'error').

const connectTimeoutMs = 4000;
const queryTimeoutMs = 6000;
// Well under the connect timeout, so a /readyz that waited for the driver's timeouts would fail.
const readyTimeoutMs = 500;
// Timers on a machine whose cores are busy with other work fire late; this much is allowed on top.
const slackMs = 3000;
const requestBoundMs = connectTimeoutMs + queryTimeoutMs + slackMs;
// A fetch that takes longer than this is a hang, not a slow answer.
const hangMs = 20_000;
const recoveryLimitMs = 60_000;
const password = "Kanata-Hoshi-5521-Umi";

let postgres: FaultablePostgres;
let server: MamoriServer;

before(async () => {
  postgres = await startFaultablePostgres();
  server = await startMamori({
    DATABASE_URL: postgres.url,
    MAMORI_DATABASE_CONNECT_TIMEOUT_MS: String(connectTimeoutMs),
    MAMORI_DATABASE_QUERY_TIMEOUT_MS: String(queryTimeoutMs),
    MAMORI_READY_TIMEOUT_MS: String(readyTimeoutMs),
    MAMORI_REGISTRATIONS_PER_IP_PER_HOUR: "100000",
    MAMORI_SIGN_IN_FAILURES_PER_IP: "100000",
  });
});

after(async () => {
  await server?.stop();
  await postgres?.stop();
});

type Answer = { status: number; code?: string; retryAfter: string | null; ms: number };

/** One request, timed; a fetch that fails (the process is gone) or hangs rejects. */
async function call(
  path: string,
  init: { method?: string; body?: object; headers?: Record<string, string> } = {},
): Promise<Answer & { body: unknown; text: string }> {
  const started = performance.now();
  const response = await fetch(`${server.url}${path}`, {
    method: init.method ?? (init.body ? "POST" : "GET"),
    headers: {
      ...(init.body ? { "content-type": "application/json" } : {}),
      origin: server.url,
      ...init.headers,
    },
    ...(init.body ? { body: JSON.stringify(init.body) } : {}),
    signal: AbortSignal.timeout(hangMs),
  });
  const text = await response.text();
  const ms = performance.now() - started;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const code = (body as { error?: { code?: string } } | undefined)?.error?.code;
  return {
    status: response.status,
    retryAfter: response.headers.get("retry-after"),
    ms,
    body,
    text,
    ...(code ? { code } : {}),
  };
}

async function register(email: string): Promise<void> {
  const started = await call("/api/v1/registrations", { body: { name: "耐久 試験", email, password } });
  assert.equal(started.status, 201, started.text);
  const { registration } = started.body as { registration: { id: string; flowToken: string } };
  const verified = await call(`/api/v1/registrations/${registration.id}/verify`, {
    body: { code: await latestCode(server, email) },
    headers: { "x-mamori-flow-token": registration.flowToken },
  });
  assert.equal(verified.status, 201, verified.text);
}

function signIn(email: string): ReturnType<typeof call> {
  return call("/api/v1/sign-in", { body: { identifier: email, password, sessionType: "token" } });
}

/** Polls (bounded) until `check` holds for a fresh answer; returns that answer. */
async function waitFor(
  what: string,
  ask: () => Promise<Answer>,
  check: (a: Answer) => boolean,
): Promise<Answer> {
  const deadline = Date.now() + recoveryLimitMs;
  for (;;) {
    const answer = await ask();
    if (check(answer)) return answer;
    if (Date.now() > deadline) throw new Error(`${what}: still ${answer.status} after ${recoveryLimitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function assertUnavailable(answer: Answer, what: string): void {
  assert.equal(answer.status, 503, `${what}: ${JSON.stringify(answer)}`);
  assert.equal(answer.code, "database_unavailable", what);
  assert.ok(Number(answer.retryAfter) > 0, `${what} has Retry-After`);
}

describe("PostgreSQL faults under a running server", () => {
  test("a database crash under load never ends the process: 503 meanwhile, then service resumes with nothing committed lost", async () => {
    const accounts = Array.from({ length: 4 }, (_, i) => `crash${i}@example.jp`);
    for (const email of accounts) await register(email);

    // Bounded load: four clients signing in and starting registrations until told to stop.
    const answers: Answer[] = [];
    const failures: string[] = [];
    const tokens: string[] = [];
    const registrationsStarted: string[] = [];
    let crashed = false;
    let running = true;
    let sent = 0;
    const client = async (n: number): Promise<void> => {
      for (let i = 0; running && sent < 5000; i++) {
        sent++;
        try {
          if (i % 2 === 0) {
            const answer = await signIn(accounts[n % accounts.length] ?? "");
            answers.push(answer);
            const token = (answer.body as { session?: { token?: string } } | undefined)?.session?.token;
            if (answer.status === 200 && token && !crashed) tokens.push(token);
          } else {
            const email = `load${n}-${i}@example.jp`;
            const answer = await call("/api/v1/registrations", {
              body: { name: "負荷 試験", email, password },
            });
            answers.push(answer);
            if (answer.status === 201 && !crashed) registrationsStarted.push(email);
          }
        } catch (error) {
          failures.push(String(error));
        }
      }
    };
    const load = [0, 1, 2, 3].map(client);

    // The crash comes once a good part of the load was answered, with requests in flight.
    await waitFor(
      "load under way",
      async () => ({ status: answers.length, retryAfter: null, ms: 0 }),
      () => answers.length >= 20,
    );
    crashed = true;
    const okBefore = answers.filter((a) => a.status === 200 || a.status === 201).length;
    await postgres.crash();
    const crashedAt = performance.now();

    const during = await waitFor(
      "503 during the outage",
      () => signIn(accounts[0] ?? ""),
      (a) => a.status === 503,
    );
    assertUnavailable(during, "sign-in during the outage");
    const firstUnavailableMs = Math.round(performance.now() - crashedAt);
    const ready = await call("/readyz");
    assert.equal(ready.status, 503, "readyz during the outage");
    // The process is alive and answers what needs no database.
    assert.equal((await call("/healthz")).status, 200, "the process lives");
    // A page asks for a moment's patience, in the visitor's language.
    const token = tokens[0] ?? "";
    const page = await call("/account", {
      headers: { authorization: `Bearer ${token}`, "accept-language": "en" },
    });
    assert.equal(page.status, 503);
    assert.match(page.text, /Temporarily unavailable/);
    assert.ok(Number(page.retryAfter) > 0, "the page has Retry-After");
    const pageJa = await call("/account", {
      headers: { authorization: `Bearer ${token}`, "accept-language": "ja" },
    });
    assert.equal(pageJa.status, 503);
    assert.match(pageJa.text, /一時的にご利用いただけません/);

    await postgres.restart();
    await waitFor(
      "readyz after the restart",
      () => call("/readyz"),
      (a) => a.status === 200,
    );
    await waitFor(
      "sign-in after the restart",
      () => signIn(accounts[0] ?? ""),
      (a) => a.status === 200,
    );
    running = false;
    await Promise.all(load);

    assert.deepEqual(failures, [], "no request failed without an answer or hung");
    const statuses = new Set(answers.map((a) => a.status));
    assert.ok(!statuses.has(500), `no 500 among ${[...statuses].join(", ")}`);
    for (const answer of answers) {
      if (answer.status === 503) assertUnavailable(answer, "an answer under load");
      else assert.ok([200, 201].includes(answer.status), JSON.stringify(answer));
    }
    assert.ok(okBefore >= 20 && answers.some((a) => a.status === 503), "the load met the outage");
    process.stdout.write(
      `# crash: ${answers.length} answers under load, ${answers.filter((a) => a.status === 503).length} of them 503; a sign-in answered 503 ${firstUnavailableMs} ms after the crash\n`,
    );

    // Nothing answered as committed before the crash is lost: every session and registration.
    assert.ok(tokens.length > 0, "sessions were made before the crash");
    for (const each of tokens) {
      const session = await call("/api/v1/session", { headers: { authorization: `Bearer ${each}` } });
      assert.equal(session.status, 200, "a session answered before the crash still exists");
    }
    for (const email of registrationsStarted.slice(0, 5)) {
      const code = await latestCode(server, email);
      assert.match(code, /^\d{6}$/, `${email}'s registration and its mail were kept`);
    }
    for (const email of accounts) assert.equal((await signIn(email)).status, 200, email);
  });

  test("a frozen database makes requests and readyz answer 503 within their timeouts, then recovers", async () => {
    const email = "frozen@example.jp";
    await register(email);
    const signedIn = await signIn(email);
    assert.equal(signedIn.status, 200);
    const token = (signedIn.body as { session: { token: string } }).session.token;

    postgres.freeze();
    try {
      const [readyz, ...requests] = await Promise.all([
        call("/readyz"),
        signIn(email),
        signIn(email),
        call("/api/v1/registrations", { body: { name: "凍結 試験", email: "frozen2@example.jp", password } }),
        call("/api/v1/session", { headers: { authorization: `Bearer ${token}` } }),
      ]);
      assert.ok(readyz, "readyz answered");
      assert.equal(readyz.status, 503, "readyz while frozen");
      assert.ok(
        readyz.ms < readyTimeoutMs + slackMs,
        `readyz took ${Math.round(readyz.ms)} ms (limit ${readyTimeoutMs} ms)`,
      );
      for (const answer of requests) {
        assertUnavailable(answer, "a request while frozen");
        assert.ok(
          answer.ms < requestBoundMs,
          `a request took ${Math.round(answer.ms)} ms (limit ${connectTimeoutMs} + ${queryTimeoutMs} ms)`,
        );
      }
      // Again, now that the pool's connections are all broken or busy: still bounded.
      const again = await signIn(email);
      assertUnavailable(again, "a later request while frozen");
      assert.ok(again.ms < requestBoundMs, `a later request took ${Math.round(again.ms)} ms`);
      process.stdout.write(
        `# frozen database: readyz 503 in ${Math.round(readyz.ms)} ms; requests 503 in ${requests
          .map((a) => Math.round(a.ms))
          .join(", ")}, ${Math.round(again.ms)} ms\n`,
      );
    } finally {
      postgres.thaw();
    }
    await waitFor(
      "readyz after the thaw",
      () => call("/readyz"),
      (a) => a.status === 200,
    );
    await waitFor(
      "sign-in after the thaw",
      () => signIn(email),
      (a) => a.status === 200,
    );
    const session = await call("/api/v1/session", { headers: { authorization: `Bearer ${token}` } });
    assert.equal(session.status, 200, "the session made before the freeze still holds");
  });
});
