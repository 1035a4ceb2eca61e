import assert from "node:assert/strict";
import { after, test } from "node:test";
import type { LightMyRequestResponse } from "fastify";
import { buildTestApp, type TestApp } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import {
  assertTokensLive,
  authorizationRequest,
  Browser,
  codeFrom,
  exchangeCode,
  formAction,
  formToken,
  introspect,
  refreshWith,
  registerShop,
  type ShopClient,
  shopPost,
  signInAtShop,
  type Tokens,
  userinfoWith,
} from "../support/oidc-inject.ts";

// How the provider keeps a shop's codes and tokens: rotated on use, single-use under parallel
// requests, stored as hashes, visible only to the shop they were issued to, and published under
// the configured issuer whatever the request's Host says. Run on SQLite, and on PostgreSQL with
// MAMORI_TEST_DATABASE=postgres.

after(stopSharedPostgres);

// Enough requests at once that interleavings happen on both databases.
const parallel = 16;

async function signedInShop(t: Parameters<typeof buildTestApp>[0]): Promise<{
  s: TestApp;
  shop: ShopClient;
  browser: Browser;
}> {
  const s = await buildTestApp(t);
  const shop = await registerShop(s);
  const account = await s.registerAccount();
  const browser = new Browser(s);
  browser.setCookieHeader(account.cookie);
  return { s, shop, browser };
}

/** signedInShop, then a sign-in at the shop: its first tokens. */
async function shopTokens(t: Parameters<typeof buildTestApp>[0]): Promise<{
  s: TestApp;
  shop: ShopClient;
  tokens: Tokens & { refresh_token: string };
}> {
  const { s, shop, browser } = await signedInShop(t);
  return { s, shop, tokens: await signInAtShop(s, shop, browser) };
}

function errorOf(response: LightMyRequestResponse): string {
  return response.json<{ error: string }>().error;
}

test("refresh tokens rotate: every refresh returns a new refresh token and the used one is spent", async (t) => {
  const { s, shop, browser } = await signedInShop(t);
  const first = await signInAtShop(s, shop, browser);
  const refreshed = await refreshWith(s, shop, first.refresh_token);
  assert.equal(refreshed.statusCode, 200, refreshed.body);
  const second = refreshed.json<Tokens>();
  assert.ok(second.refresh_token, "a new refresh token");
  assert.notEqual(second.refresh_token, first.refresh_token);
  assert.equal((await introspect(s, shop, first.refresh_token)).active, false, "the used one is spent");
  const third = await refreshWith(s, shop, second.refresh_token);
  assert.equal(third.statusCode, 200, third.body);
});

test("reusing a spent refresh token ends the whole grant: the reused token and its successor are refused", async (t) => {
  // The attack: a refresh token copied from the shop's storage. Whoever uses it second (thief or
  // shop) shows it was copied; then neither copy may go on working.
  const { s, shop, tokens: rt1 } = await shopTokens(t);
  const rotated = await refreshWith(s, shop, rt1.refresh_token);
  assert.equal(rotated.statusCode, 200, rotated.body);
  const rt2 = rotated.json<Tokens>();
  assert.ok(rt2.refresh_token);

  const reused = await refreshWith(s, shop, rt1.refresh_token);
  assert.equal(reused.statusCode, 400, reused.body);
  assert.equal(errorOf(reused), "invalid_grant");
  const successor = await refreshWith(s, shop, rt2.refresh_token);
  assert.equal(successor.statusCode, 400, successor.body);
  assert.equal(errorOf(successor), "invalid_grant");
  assert.equal((await userinfoWith(s, rt2.access_token)).statusCode, 401, "its access token too");
});

test("parallel refreshes with one refresh token give at most one new refresh token", async (t) => {
  // The attack: the thief races the shop with the same refresh token, hoping both get a new one.
  const { s, shop, tokens } = await shopTokens(t);
  const answers = await Promise.all(
    Array.from({ length: parallel }, () => refreshWith(s, shop, tokens.refresh_token)),
  );
  const succeeded = answers.filter((answer) => answer.statusCode === 200);
  assert.ok(succeeded.length <= 1, `${succeeded.length} of ${parallel} refreshes succeeded`);
  for (const answer of answers) {
    if (answer.statusCode === 200) continue;
    assert.equal(answer.statusCode, 400, answer.body);
    assert.equal(errorOf(answer), "invalid_grant");
  }
  const live = await s.db
    .selectFrom("oidc_model")
    .select("id")
    .where("model", "=", "RefreshToken")
    .where("consumed_at", "is", null)
    .execute();
  assert.ok(live.length <= 1, `${live.length} unspent refresh tokens`);
});

test("parallel exchanges of one authorization code give tokens at most once", async (t) => {
  // The attack: a code intercepted on its way to the shop, raced against the shop's own exchange.
  const { s, shop, browser } = await signedInShop(t);
  const request = authorizationRequest(shop);
  const consent = await browser.follow(await browser.request("GET", request.url));
  const allowed = await browser.follow(
    await browser.request("POST", formAction(consent, "consent"), { _csrf: formToken(consent) }),
  );
  const code = codeFrom(allowed, shop, request);
  const answers = await Promise.all(
    Array.from({ length: parallel }, () => exchangeCode(s, shop, code, request.verifier)),
  );
  const succeeded = answers.filter((answer) => answer.statusCode === 200);
  assert.ok(succeeded.length <= 1, `${succeeded.length} of ${parallel} exchanges succeeded`);
  for (const answer of answers) {
    if (answer.statusCode === 200) continue;
    assert.equal(answer.statusCode, 400, answer.body);
    assert.equal(errorOf(answer), "invalid_grant");
  }
});

test("codes and tokens are stored as hashes: no database row holds a usable code, access token or refresh token", async (t) => {
  // The attack: a database backup or a read-only SQL injection, replayed as the shop's tokens.
  const { s, shop, browser } = await signedInShop(t);
  const request = authorizationRequest(shop);
  const consent = await browser.follow(await browser.request("GET", request.url));
  const allowed = await browser.follow(
    await browser.request("POST", formAction(consent, "consent"), { _csrf: formToken(consent) }),
  );
  const code = codeFrom(allowed, shop, request);
  const issuedCode = await s.db.selectFrom("oidc_model").selectAll().execute();
  const exchanged = await exchangeCode(s, shop, code, request.verifier);
  assert.equal(exchanged.statusCode, 200, exchanged.body);
  const first = exchanged.json<Tokens>();
  assert.ok(first.refresh_token);
  const refreshed = await refreshWith(s, shop, first.refresh_token);
  assert.equal(refreshed.statusCode, 200, refreshed.body);
  const second = refreshed.json<Tokens>();
  assert.ok(second.refresh_token);
  // Still usable: the shop's values work, only the database does not hold them.
  await assertTokensLive(s, shop, { ...second, refresh_token: second.refresh_token }, "the rotated pair");

  const rows = [...issuedCode, ...(await s.db.selectFrom("oidc_model").selectAll().execute())];
  assert.ok(
    rows.some((row) => row.model === "AuthorizationCode"),
    "the code was stored",
  );
  assert.ok(
    rows.some((row) => row.model === "RefreshToken"),
    "refresh tokens were stored",
  );
  const stored = JSON.stringify(rows);
  const secrets = {
    code,
    "first access token": first.access_token,
    "first refresh token": first.refresh_token,
    "second access token": second.access_token,
    "second refresh token": second.refresh_token,
  };
  for (const [name, value] of Object.entries(secrets)) {
    assert.ok(!stored.includes(value), `the ${name} is in the database`);
  }
});

test("a shop cannot introspect another shop's tokens: it is told they are inactive", async (t) => {
  // The attack: another shop (or whoever holds its secret) learns whose a leaked token is, its
  // scopes and expiry, by asking Mamori.
  const { s, shop, tokens } = await shopTokens(t);
  const other = await registerShop(s);
  for (const token of [tokens.access_token, tokens.refresh_token]) {
    assert.deepEqual(await introspect(s, other, token), { active: false });
    assert.equal((await introspect(s, shop, token)).active, true, "its own shop still sees it");
  }
});

test("a shop cannot revoke another shop's tokens, and its answer does not say whether they exist", async (t) => {
  const { s, shop, tokens } = await shopTokens(t);
  const other = await registerShop(s);
  const unknown = await shopPost(s, other, "/oidc/token/revocation", { token: "x".repeat(43) });
  for (const token of [tokens.access_token, tokens.refresh_token]) {
    const answer = await shopPost(s, other, "/oidc/token/revocation", { token });
    assert.equal(answer.statusCode, unknown.statusCode, answer.body);
    assert.equal(answer.body, unknown.body);
  }
  await assertTokensLive(s, shop, tokens, "after another shop's revocation");
  // Its own shop can revoke it.
  const own = await shopPost(s, shop, "/oidc/token/revocation", { token: tokens.refresh_token });
  assert.equal(own.statusCode, 200, own.body);
  assert.equal((await introspect(s, shop, tokens.refresh_token)).active, false);
});

const metadataUrls = [
  "issuer",
  "authorization_endpoint",
  "token_endpoint",
  "userinfo_endpoint",
  "jwks_uri",
  "end_session_endpoint",
  "introspection_endpoint",
  "revocation_endpoint",
] as const;

for (const trustProxy of ["false", "true"]) {
  test(`the discovery document's URLs come from the configured issuer, never the request's Host or X-Forwarded-Host (MAMORI_TRUST_PROXY=${trustProxy})`, async (t) => {
    // The attack: a request with a forged Host (or, through a trusted proxy, X-Forwarded-Host)
    // makes Mamori publish evil.example's endpoints; a cache or a shop's library keeps them, and
    // the shop sends its customers' passwords and its client secret there.
    const s = await buildTestApp(t, { env: { MAMORI_TRUST_PROXY: trustProxy } });
    const issuer = s.config.issuer.href.replace(/\/$/, "");
    const response = await s.inject({
      method: "GET",
      url: "/oidc/.well-known/openid-configuration",
      headers: {
        host: "evil.example",
        "x-forwarded-host": "evil.example",
        "x-forwarded-proto": "https",
      },
    });
    assert.equal(response.statusCode, 200, response.body);
    const metadata = response.json<Record<string, unknown>>();
    assert.equal(metadata.issuer, issuer);
    for (const name of metadataUrls) {
      const value = metadata[name];
      assert.equal(typeof value, "string", name);
      assert.ok(
        value === issuer || String(value).startsWith(`${issuer}/`),
        `${name} is ${String(value)}, not under ${issuer}`,
      );
    }
    assert.doesNotMatch(response.body, /evil\.example/);
  });
}
