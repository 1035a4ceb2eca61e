import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { requestSignal } from "../../test/support/patience.ts";
import { latestCode, type MamoriServer, startMamori } from "../../test/support/server.ts";
import { createMamoriClient, readCookie } from "./mamori-client.ts";

// The shop-side client against a real Mamori process (and against servers that misbehave).

let mamori: MamoriServer;
const password = "Sora-Tobu-Kujira-3385";

before(async () => {
  mamori = await startMamori();
});
after(async () => {
  await mamori?.stop();
});

async function postJson(path: string, body: object, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${mamori.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
    signal: requestSignal(),
  });
}

/** Registers an account; returns its id and the session cookie's value. */
async function register(email: string): Promise<{ accountId: string; cookieValue: string }> {
  const started = await postJson("/api/v1/registrations", { name: "佐藤 一郎", email, password });
  assert.equal(started.status, 201);
  const { registration } = (await started.json()) as { registration: { id: string; flowToken: string } };
  const verified = await postJson(
    `/api/v1/registrations/${registration.id}/verify`,
    { code: await latestCode(mamori, email) },
    { "x-mamori-flow-token": registration.flowToken },
  );
  assert.equal(verified.status, 201);
  const cookie = verified.headers.getSetCookie().find((c) => c.startsWith("mamori_session="));
  assert.ok(cookie);
  const body = (await verified.json()) as { account: { id: string } };
  return { accountId: body.account.id, cookieValue: cookie.split(";")[0]?.split("=")[1] ?? "" };
}

/** A server on loopback that answers every request with `handler`; closed after the test. */
async function fakeServer(
  t: { after(fn: () => Promise<void>): void },
  handler: Parameters<typeof createServer>[1],
): Promise<string> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test("the client names the person of a session cookie, from a request's Cookie header too", async () => {
  const { accountId, cookieValue } = await register("client-cookie@example.jp");
  const client = createMamoriClient({ baseUrl: mamori.url });
  const result = await client.check({ sessionCookie: cookieValue });
  assert.ok(result.ok, JSON.stringify(result));
  assert.equal(result.identity.account.id, accountId);
  assert.equal(result.identity.account.name, "佐藤 一郎");
  assert.equal(result.identity.account.emailVerified, true);
  assert.equal(result.identity.session.aal, 1);
  assert.equal(result.identity.session.acr, "urn:mamori:aal1");
  assert.deepEqual(result.identity.session.amr, ["pwd", "email"]);

  const fromRequest = await client.checkRequest({ cookie: `theme=dark; mamori_session=${cookieValue}` });
  assert.ok(fromRequest.ok);
  assert.equal(fromRequest.identity.account.id, accountId);
});

test("the client checks a bearer token, and an Authorization header in a request", async () => {
  const email = "client-bearer@example.jp";
  const { accountId } = await register(email);
  const signedIn = await postJson("/api/v1/sign-in", { identifier: email, password, sessionType: "token" });
  const { session } = (await signedIn.json()) as { session: { token: string } };
  const client = createMamoriClient({ baseUrl: mamori.url });
  const result = await client.check({ bearerToken: session.token });
  assert.ok(result.ok);
  assert.equal(result.identity.account.id, accountId);
  assert.deepEqual(result.identity.session.amr, ["pwd"]);
  const fromRequest = await client.checkRequest({ authorization: `Bearer ${session.token}` });
  assert.ok(fromRequest.ok);
});

test("the client reports unauthenticated for a forged or missing session, asking Mamori only when there is one", async () => {
  const { cookieValue } = await register("client-forged@example.jp");
  let asked = 0;
  const client = createMamoriClient({
    baseUrl: mamori.url,
    fetch: (input, init) => {
      asked++;
      return fetch(input, init);
    },
  });
  const forged = `${cookieValue.split(".")[0]}.${"a".repeat(52)}`;
  assert.deepEqual(await client.check({ sessionCookie: forged }), { ok: false, reason: "unauthenticated" });
  assert.equal(asked, 1);
  assert.deepEqual(await client.checkRequest({ cookie: "theme=dark" }), {
    ok: false,
    reason: "unauthenticated",
  });
  assert.deepEqual(await client.checkRequest({}), { ok: false, reason: "unauthenticated" });
  assert.equal(asked, 1, "no request without credentials");
});

test("the client reports insufficient_assurance when two-step is required and the session has not passed it", async () => {
  const { cookieValue } = await register("client-aal@example.jp");
  const client = createMamoriClient({ baseUrl: mamori.url });
  const result = await client.check({ sessionCookie: cookieValue }, { requireTwoStep: true });
  assert.deepEqual(result, { ok: false, reason: "insufficient_assurance" });
});

test("the client reports unavailable when Mamori is slower than the timeout, never hangs", {
  // Without the client's own timeout this test would hang: the cap turns that into a failure.
  timeout: 60_000,
}, async (t) => {
  let asked = 0;
  const silent = await fakeServer(t, () => {
    asked++; // ...and never answers.
  });
  const signals: AbortSignal[] = [];
  const client = createMamoriClient({
    baseUrl: silent,
    timeoutMs: 200,
    fetch: (input, init) => {
      if (init?.signal) signals.push(init.signal);
      return fetch(input, init);
    },
  });
  const result = await client.check({ sessionCookie: "ses_x.y" });
  assert.equal(result.ok, false);
  assert.equal(!result.ok && result.reason, "unavailable");
  assert.equal(asked, 1, "the request reached the server");
  // It gave up because its own timer ran out (not a refused connection or a parse error): what
  // stopped the request is a timeout, whatever the wall clock of a busy machine says.
  assert.equal(signals.length, 1);
  assert.equal(signals[0]?.aborted, true);
  assert.equal((signals[0]?.reason as Error | undefined)?.name, "TimeoutError");
});

test("the client does not take a 200 that is not a session check (a proxy's page) for a person", async (t) => {
  const page = await fakeServer(t, (_request, response) => {
    response.writeHead(200, { "content-type": "text/html" }).end("<h1>Welcome</h1>");
  });
  const wrongJson = await fakeServer(t, (_request, response) => {
    response.writeHead(200, { "content-type": "application/json" }).end('{"account":{"id":1}}');
  });
  for (const baseUrl of [page, wrongJson]) {
    const result = await createMamoriClient({ baseUrl }).check({ sessionCookie: "ses_x.y" });
    assert.equal(!result.ok && result.reason, "unavailable", JSON.stringify(result));
  }
});

test("readCookie finds one cookie by exact name", () => {
  assert.equal(readCookie("a=1; mamori_session=ses_1.x; b=2", "mamori_session"), "ses_1.x");
  assert.equal(readCookie("xmamori_session=ses_1.x", "mamori_session"), undefined);
  assert.equal(readCookie("mamori_session=", "mamori_session"), undefined);
  assert.equal(readCookie(undefined, "mamori_session"), undefined);
});
