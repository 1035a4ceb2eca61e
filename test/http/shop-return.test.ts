import assert from "node:assert/strict";
import { after, test } from "node:test";
import type { LightMyRequestResponse } from "fastify";
import { checkClientUri, clientUriModel } from "../../src/oidc/client-uri.ts";
import { createClient, deleteClient } from "../../src/oidc/clients.ts";
import { buildTestApp, type TestApp } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import { authorizationRequest, Browser, formToken, type ShopClient } from "../support/oidc-inject.ts";

// A person who comes from a shop ("Sign in with Mamori", OpenID Connect) sees that shop's name on
// the sign-in page and a way back to it, on the sign-in page and on Login & security opened from the
// shop (a short-lived cookie holding only the shop's client id). The link only ever leads to a
// registered client's registered client URI. Run on SQLite, and on PostgreSQL with
// MAMORI_TEST_DATABASE=postgres.

after(stopSharedPostgres);

const shopUri = "https://yamada.example.jp/";
const redirectUri = "http://127.0.0.1:8088/callback";

async function registerShopWithUri(s: TestApp, clientUri: string | null = shopUri): Promise<ShopClient> {
  const created = await createClient(
    s.db,
    { clock: s.clock, random: s.deps.random, secretKeys: s.config.secretKeys },
    {
      name: "やまだ商店",
      redirectUris: [redirectUri],
      postLogoutRedirectUris: [],
      requireTwoStep: false,
      clientUri: clientUri ?? undefined,
    },
  );
  assert.ok(created.clientSecret);
  return { clientId: created.clientId, clientSecret: created.clientSecret, redirectUri, logoutUri: "" };
}

/** The `<nav class="shop-return">` of a page, or undefined when it has none. */
function shopReturnOf(page: LightMyRequestResponse): string | undefined {
  return /<nav class="shop-return"[^>]*>[\s\S]*?<\/nav>/.exec(page.body)?.[0];
}

function setCookies(response: LightMyRequestResponse): string[] {
  const raw = response.headers["set-cookie"];
  return raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
}

/** A browser arriving through the shop; returns the first page Mamori shows and the shop cookie's header. */
async function arriveThroughShop(
  browser: Browser,
  shop: ShopClient,
): Promise<{ page: LightMyRequestResponse; shopCookie: string | undefined }> {
  const arrival = await browser.request("GET", authorizationRequest(shop).url);
  const shopCookie = setCookies(arrival).find((header) => header.startsWith("mamori_shop="));
  return { page: await browser.follow(arrival), shopCookie };
}

test("a shop's sign-in page says whose account it is and leads back to the shop's registered client URI", async (t) => {
  const s = await buildTestApp(t);
  const shop = await registerShopWithUri(s);
  const browser = new Browser(s);
  const { page, shopCookie } = await arriveThroughShop(browser, shop);
  assert.equal(page.statusCode, 200, page.body);
  assert.match(String(page.body), /<form method="post" action="\/sign-in"/);
  assert.match(page.body, /<h1>やまだ商店のアカウントでログイン<\/h1>/);
  assert.match(page.body, /<title>やまだ商店のアカウントでログイン \|/);
  assert.equal(
    shopReturnOf(page),
    `<nav class="shop-return" aria-label="お店に戻る"><a href="${shopUri}">やまだ商店に戻る</a></nav>`,
  );
  // The cookie holds the client id and nothing else, out of scripts' reach, for an hour.
  assert.equal(shopCookie, `mamori_shop=${shop.clientId}; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax`);

  // A wrong password keeps the shop's heading and its way back.
  const wrong = await browser.request("POST", "/sign-in", {
    _csrf: formToken(page),
    identifier: "nobody@example.jp",
    password: "Wrong-Password-1234-xyz",
    return_to: /name="return_to" value="([^"]+)"/.exec(page.body)?.[1] ?? "",
  });
  assert.equal(wrong.statusCode, 401);
  assert.match(wrong.body, /<h1>やまだ商店のアカウントでログイン<\/h1>/);
  assert.match(shopReturnOf(wrong) ?? "", /やまだ商店に戻る/);

  // In English too.
  browser.setCookieHeader("locale=en");
  const english = (await arriveThroughShop(browser, shop)).page;
  assert.match(english.body, /<h1>Sign in with your やまだ商店 account<\/h1>/);
  assert.match(shopReturnOf(english) ?? "", new RegExp(`<a href="${shopUri}">Back to やまだ商店</a>`));

  // The plain sign-in page, not for a shop's request, keeps its own heading.
  const plain = await s.inject({ method: "GET", url: "/sign-in" });
  assert.doesNotMatch(plain.body, /のアカウントでログイン/);
  assert.equal(shopReturnOf(plain), undefined);
});

test("a shop without a client URI is named on its sign-in page, with no link back", async (t) => {
  const s = await buildTestApp(t);
  const shop = await registerShopWithUri(s, null);
  const { page } = await arriveThroughShop(new Browser(s), shop);
  assert.match(page.body, /<h1>やまだ商店のアカウントでログイン<\/h1>/);
  assert.equal(shopReturnOf(page), undefined);
});

test("Login & security opened from the shop keeps the way back; a browser that never came from it has none", async (t) => {
  const s = await buildTestApp(t);
  const shop = await registerShopWithUri(s);
  const account = await s.registerAccount({ email: "from-shop@example.jp" });
  const browser = new Browser(s);
  browser.setCookieHeader(account.cookie);
  // Signed in already: the shop's request goes straight to consent, and sets the cookie on the way.
  const { shopCookie } = await arriveThroughShop(browser, shop);
  assert.ok(shopCookie, "arriving through the shop sets the shop cookie");
  for (const path of ["/account/security", "/account", "/account/security/apps"]) {
    const page = await browser.request("GET", path);
    assert.equal(page.statusCode, 200, path);
    assert.match(
      shopReturnOf(page) ?? "",
      /<a href="https:\/\/yamada\.example\.jp\/">やまだ商店に戻る<\/a>/,
      path,
    );
  }
  const elsewhere = await s.inject({
    method: "GET",
    url: "/account/security",
    headers: { cookie: account.cookie },
  });
  assert.equal(elsewhere.statusCode, 200);
  assert.equal(shopReturnOf(elsewhere), undefined);
});

test("the shop link is never made from a forged shop cookie: unknown client, a URL, script or junk", async (t) => {
  // The attack: a link back that a request chooses is an open redirect or a javascript: link on
  // Mamori's own page. A value planted in the cookie (by a sibling subdomain outside production, or
  // typed by hand) is only ever looked up as a client id: no registered client, no link.
  const s = await buildTestApp(t);
  const shop = await registerShopWithUri(s);
  const account = await s.registerAccount({ email: "forged-shop@example.jp" });
  const forged = [
    "cli_doesnotexist",
    "javascript:alert(1)",
    encodeURIComponent("https://evil.example/"),
    `${shop.clientId}x`,
    "%00",
    "a".repeat(300),
  ];
  for (const value of forged) {
    for (const url of ["/account/security", "/sign-in"]) {
      const page = await s.inject({
        method: "GET",
        url,
        headers: { cookie: `${account.cookie}; mamori_shop=${value}` },
      });
      assert.equal(page.statusCode, 200, `${url} ${value}`);
      assert.equal(shopReturnOf(page), undefined, `${url} ${value}`);
      assert.doesNotMatch(page.body, /evil\.example|javascript:/, value);
    }
  }
});

test("a deleted client shows nothing, however fresh the shop cookie", async (t) => {
  const s = await buildTestApp(t);
  const shop = await registerShopWithUri(s);
  const account = await s.registerAccount({ email: "deleted-shop@example.jp" });
  const headers = { cookie: `${account.cookie}; mamori_shop=${shop.clientId}` };
  const before = await s.inject({ method: "GET", url: "/account/security", headers });
  assert.match(shopReturnOf(before) ?? "", /やまだ商店に戻る/);
  assert.ok(await deleteClient(s.db, shop.clientId));
  const gone = await s.inject({ method: "GET", url: "/account/security", headers });
  assert.equal(gone.statusCode, 200);
  assert.equal(shopReturnOf(gone), undefined);
  // The client's URI went with it.
  const rows = await s.db.selectFrom("oidc_model").select("id").where("model", "=", clientUriModel).execute();
  assert.deepEqual(rows, []);
});

test("a client URI other than https (javascript:, data:, http to another host) is refused, and never shown", async (t) => {
  // The attack: a client registered (or a row edited) with `javascript:…` as its home page would
  // make 「やまだ商店に戻る」 run a script on Mamori's origin when clicked.
  for (const uri of [
    "javascript:alert(document.cookie)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "http://yamada.example.jp/",
    "https://user:pass@yamada.example.jp/",
    "/relative",
    "yamada.example.jp",
  ]) {
    assert.ok(checkClientUri(uri, true), `refused in development: ${uri}`);
  }
  assert.equal(checkClientUri("https://yamada.example.jp/shop?from=mamori", false), undefined);
  assert.equal(checkClientUri("http://localhost:8080/", true), undefined, "localhost in development");
  assert.ok(checkClientUri("http://localhost:8080/", false), "but never in production");

  // A stored URI that is not (any more) a safe link is left out of the page, not rendered.
  const s = await buildTestApp(t);
  const shop = await registerShopWithUri(s);
  await s.db
    .updateTable("oidc_model")
    .set({ payload: JSON.stringify({ clientUri: "javascript:alert(1)" }) })
    .where("model", "=", clientUriModel)
    .where("id", "=", shop.clientId)
    .execute();
  const { page } = await arriveThroughShop(new Browser(s), shop);
  assert.match(page.body, /<h1>やまだ商店のアカウントでログイン<\/h1>/);
  assert.equal(shopReturnOf(page), undefined);
  assert.doesNotMatch(page.body, /javascript:/);
});
