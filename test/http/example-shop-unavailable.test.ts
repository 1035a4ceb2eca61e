import assert from "node:assert/strict";
import { createServer as createHttpServer } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import { after, test } from "node:test";
import type { LightMyRequestResponse } from "fastify";
import type * as oidc from "openid-client";
import { buildShop, mamoriUnavailable } from "../../examples/shop/app.ts";
import { createClient } from "../../src/oidc/clients.ts";
import { buildTestApp } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import { Browser, formToken } from "../support/oidc-inject.ts";
import { injectFetch } from "../support/openid-client-inject.ts";

// The example shop (examples/shop) when Mamori does not answer — the connection refused, no answer
// within the shop's timeout, or a 5xx: the customer gets the shop's own page, 「ただいまログインできません」
// with a way to try again (503), never the browser's error page; and the shop itself starts and
// recovers by itself when Mamori is back. Run on SQLite, and on PostgreSQL with
// MAMORI_TEST_DATABASE=postgres.

after(stopSharedPostgres);

const shopBase = "http://127.0.0.1:8090";

/** A loopback port nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.ok(address && typeof address === "object");
  return address.port;
}

async function listening(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  assert.ok(address && typeof address === "object");
  return address.port;
}

function shopAt(issuer: URL, options: { fetch?: oidc.CustomFetch; timeoutMs?: number } = {}) {
  return buildShop({
    issuer,
    clientId: "cli_example",
    clientSecret: "secret",
    baseUrl: new URL(shopBase),
    allowHttp: true,
    ...options,
  });
}

function assertUnavailablePage(response: LightMyRequestResponse, retryPath: string): void {
  assert.equal(response.statusCode, 503, response.body);
  assert.match(String(response.headers["content-type"]), /^text\/html/);
  assert.match(response.body, /<html lang="ja">/);
  assert.match(response.body, /<h1 id="unavailable">ただいまログインできません<\/h1>/);
  assert.match(response.body, new RegExp(`<a id="retry" href="${retryPath}">もう一度試す</a>`));
  assert.equal(response.headers.location, undefined, "the customer is not sent to a Mamori that is down");
}

test("with Mamori's port closed, the shop starts and its sign-in answers 「ただいまログインできません」", async (t) => {
  const port = await closedPort();
  const shop = await shopAt(new URL(`http://127.0.0.1:${port}/oidc`));
  t.after(() => shop.close());
  assertUnavailablePage(await shop.inject({ method: "GET", url: "/login" }), "/login");
  // The rest of the shop still works.
  const home = await shop.inject({ method: "GET", url: "/" });
  assert.equal(home.statusCode, 200);
});

test("a Mamori that answers 5xx, or not at all within the shop's timeout, is unavailable too", async (t) => {
  const failing = createHttpServer((_request, response) => {
    response.writeHead(502, { "content-type": "text/html" }).end("<h1>Bad Gateway</h1>");
  });
  const failingPort = await listening(failing);
  t.after(() => new Promise<void>((resolve) => failing.close(() => resolve())));
  const fiveHundred = await shopAt(new URL(`http://127.0.0.1:${failingPort}/oidc`));
  t.after(() => fiveHundred.close());
  assertUnavailablePage(await fiveHundred.inject({ method: "GET", url: "/login" }), "/login");

  // Accepts the connection and never answers.
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => {
    sockets.add(socket);
  });
  const silentPort = await listening(silent);
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        silent.close(() => resolve());
      }),
  );
  const hanging = await shopAt(new URL(`http://127.0.0.1:${silentPort}/oidc`), { timeoutMs: 300 });
  t.after(() => hanging.close());
  assertUnavailablePage(await hanging.inject({ method: "GET", url: "/login" }), "/login");
  assert.ok(sockets.size > 0, "the shop did try to reach Mamori");
});

/** The customer at Mamori (signed in already): consent when asked; returns the redirect back to the shop. */
async function throughMamori(browser: Browser, authorize: URL): Promise<URL> {
  let page = await browser.follow(await browser.request("GET", `${authorize.pathname}${authorize.search}`));
  if (page.statusCode === 200) {
    const consent = /action="([^"]+\/consent)"/.exec(page.body)?.[1];
    assert.ok(consent, page.body);
    page = await browser.follow(await browser.request("POST", consent, { _csrf: formToken(page) }));
  }
  return new URL(String(page.headers.location));
}

test("the shop recovers by itself when Mamori answers again, and a token exchange Mamori cannot answer is the same page", async (t) => {
  const s = await buildTestApp(t);
  let down = true;
  const toMamori = injectFetch(s);
  const flaky: oidc.CustomFetch = (url, init) =>
    down ? Promise.reject(new TypeError("fetch failed")) : toMamori(url, init);
  const created = await createClient(
    s.db,
    { clock: s.clock, random: s.deps.random, secretKeys: s.config.secretKeys },
    {
      name: "やまだ商店",
      redirectUris: [`${shopBase}/callback`],
      postLogoutRedirectUris: [],
      requireTwoStep: false,
    },
  );
  assert.ok(created.clientSecret);
  const shop = await buildShop({
    issuer: s.config.issuer,
    clientId: created.clientId,
    clientSecret: created.clientSecret,
    baseUrl: new URL(shopBase),
    allowHttp: true,
    fetch: flaky,
  });
  t.after(() => shop.close());
  assertUnavailablePage(await shop.inject({ method: "GET", url: "/login" }), "/login");

  down = false;
  const login = await shop.inject({ method: "GET", url: "/login" });
  assert.equal(login.statusCode, 303, login.body);
  const authorize = new URL(String(login.headers.location));
  assert.equal(authorize.origin, s.config.publicUrl.origin);
  const shopCookie = String(login.headers["set-cookie"]).split(";")[0] ?? "";

  // The customer signs in at Mamori and comes back with a code; Mamori goes down before the shop
  // exchanges it: the same friendly page, not 「サインインできませんでした」.
  const account = await s.registerAccount({ email: "shop-outage@example.jp" });
  const browser = new Browser(s);
  browser.setCookieHeader(account.cookie);
  const callback = await throughMamori(browser, authorize);
  assert.equal(callback.origin, shopBase);
  down = true;
  const back = await shop.inject({
    method: "GET",
    url: `${callback.pathname}${callback.search}`,
    headers: { cookie: shopCookie },
  });
  assertUnavailablePage(back, "/login");

  // Signed in while Mamori answers; a refresh Mamori cannot answer keeps the customer signed in.
  down = false;
  const again = await shop.inject({ method: "GET", url: "/login", headers: { cookie: shopCookie } });
  assert.equal(again.statusCode, 303, again.body);
  const returned = await throughMamori(browser, new URL(String(again.headers.location)));
  const signedIn = await shop.inject({
    method: "GET",
    url: `${returned.pathname}${returned.search}`,
    headers: { cookie: shopCookie },
  });
  assert.equal(signedIn.statusCode, 303, signedIn.body);
  const greeting = async () =>
    /id="greeting"/.test(
      (await shop.inject({ method: "GET", url: "/", headers: { cookie: shopCookie } })).body,
    );
  assert.equal(await greeting(), true, "signed in at the shop");
  down = true;
  assertUnavailablePage(
    await shop.inject({ method: "POST", url: "/refresh", headers: { cookie: shopCookie } }),
    "/",
  );
  assert.equal(await greeting(), true, "an outage at Mamori does not sign the customer out of the shop");
});

test("only a failure to answer counts as unavailable; a refusal Mamori answered does not", () => {
  assert.equal(mamoriUnavailable(new TypeError("fetch failed")), true);
  assert.equal(mamoriUnavailable(new DOMException("timed out", "TimeoutError")), true);
  assert.equal(mamoriUnavailable(Object.assign(new Error("server_error"), { status: 503 })), true);
  assert.equal(
    mamoriUnavailable(new Error("unexpected status", { cause: new Response("", { status: 500 }) })),
    true,
  );
  assert.equal(mamoriUnavailable(Object.assign(new Error("invalid_grant"), { status: 400 })), false);
  assert.equal(mamoriUnavailable(new Error("unexpected state")), false);
});
