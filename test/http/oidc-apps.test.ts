import assert from "node:assert/strict";
import { test } from "node:test";
import type { LightMyRequestResponse } from "fastify";
import { listAuditEvents } from "../../src/audit/audit.ts";
import {
  assertApiError,
  buildTestApp,
  type RegisteredAccount,
  sameOrigin,
  type TestApp,
} from "../support/app.ts";
import {
  authorizationRequest,
  Browser,
  codeFrom,
  exchangeCode,
  formAction,
  formToken,
  registerShop,
  type ShopClient,
  type Tokens,
  tokenRequest,
} from "../support/oidc-inject.ts";

// Login & security -> "Apps and websites" (docs/decisions/0010-connected-apps.md): the shops an
// account allowed to sign it in with Mamori, and taking that permission back. Run on SQLite, and
// on PostgreSQL with MAMORI_TEST_DATABASE=postgres.

type ConnectedAppBody = {
  clientId: string;
  name: string;
  firstAllowedAt: string;
  lastUsedAt: string | null;
  scopes: string[];
};

const appsPath = "/account/security/apps";

/** A full code flow in `browser` (consent when asked); returns the shop's tokens. */
async function signInToShop(
  s: TestApp,
  shop: ShopClient,
  browser: Browser,
  extra: Record<string, string> = {},
): Promise<{ tokens: Tokens; consentAsked: boolean }> {
  const request = authorizationRequest(shop, extra);
  let page = await browser.follow(await browser.request("GET", request.url));
  const consentAsked = page.statusCode === 200;
  if (consentAsked) {
    page = await browser.follow(
      await browser.request("POST", formAction(page, "consent"), { _csrf: formToken(page) }),
    );
  }
  const exchanged = await exchangeCode(s, shop, codeFrom(page, shop, request), request.verifier);
  assert.equal(exchanged.statusCode, 200, exchanged.body);
  return { tokens: exchanged.json<Tokens>(), consentAsked };
}

async function signedInBrowser(s: TestApp, account: RegisteredAccount): Promise<Browser> {
  const browser = new Browser(s);
  browser.setCookieHeader(account.cookie);
  return browser;
}

function listApps(s: TestApp, headers: Record<string, string>): Promise<LightMyRequestResponse> {
  return s.inject({ method: "GET", url: "/api/v1/security/apps", headers });
}

function refresh(s: TestApp, shop: ShopClient, tokens: Tokens): Promise<LightMyRequestResponse> {
  assert.ok(tokens.refresh_token, "the shop got a refresh token");
  return tokenRequest(s, shop, { grant_type: "refresh_token", refresh_token: tokens.refresh_token });
}

function userinfo(s: TestApp, tokens: Tokens): Promise<LightMyRequestResponse> {
  return s.inject({
    method: "GET",
    url: "/oidc/me",
    headers: { host: s.config.publicUrl.host, authorization: `Bearer ${tokens.access_token}` },
  });
}

test("a shop the account allowed is listed with its name, when allowed, when last used and what it can see", async (t) => {
  const s = await buildTestApp(t);
  const shop = await registerShop(s);
  const account = await s.registerAccount({ email: "apps-hanako@example.jp" });
  const browser = await signedInBrowser(s, account);
  const { tokens } = await signInToShop(s, shop, browser, { scope: "openid email profile phone" });
  const signedInAt = s.clock.now().toISOString();

  const listed = await listApps(s, { cookie: account.cookie });
  assert.equal(listed.statusCode, 200, listed.body);
  assert.equal(listed.headers["cache-control"], "no-store");
  const [app, ...others] = listed.json<{ apps: ConnectedAppBody[] }>().apps;
  assert.equal(others.length, 0);
  assert.ok(app);
  assert.equal(app.clientId, shop.clientId);
  assert.equal(app.name, "テスト商店");
  assert.deepEqual(app.scopes, ["openid", "email", "profile", "phone"]);
  assert.ok(!Number.isNaN(Date.parse(app.firstAllowedAt)), app.firstAllowedAt);
  // The code and tokens of the sign-in are the last use, on Mamori's clock.
  assert.equal(app.lastUsedAt, signedInAt);

  // A refresh later is a use too.
  s.clock.advance(3600);
  assert.equal((await refresh(s, shop, tokens)).statusCode, 200);
  const later = (await listApps(s, { cookie: account.cookie })).json<{ apps: ConnectedAppBody[] }>();
  assert.equal(later.apps[0]?.lastUsedAt, s.clock.now().toISOString());
  assert.equal(later.apps[0]?.firstAllowedAt, app.firstAllowedAt);

  // The page, in Japanese and in English, linked from Login & security.
  const security = await browser.request("GET", "/account/security");
  assert.match(
    security.body,
    /お店・アプリ<\/dt><dd>1件 <a class="edit" href="\/account\/security\/apps" aria-label="お店・アプリを管理">/,
  );
  const ja = await browser.request("GET", appsPath);
  assert.equal(ja.statusCode, 200);
  assert.match(ja.body, /<strong>テスト商店<\/strong>/);
  assert.match(ja.body, /許可した日時: /);
  assert.match(ja.body, /最後の利用: /);
  assert.match(
    ja.body,
    /確認できる情報: 会員ID（ログインしていること）、Eメールアドレス、氏名、確認済みの携帯電話番号/,
  );
  assert.match(
    ja.body,
    /<form method="post" action="\/account\/security\/apps\/remove"><input type="hidden" name="_csrf"/,
  );
  assert.doesNotMatch(ja.body, /<script>|\sonclick=|\sstyle=/, "no inline script or style");
  const en = await s.inject({
    method: "GET",
    url: appsPath,
    headers: { cookie: `${account.cookie}; locale=en` },
  });
  assert.match(
    en.body,
    /Can see: Your account ID \(that you are signed in\), Your email address, Your name, Your verified mobile number/,
  );
  assert.match(en.body, /Remove access/);
});

test("another account does not see a shop someone else allowed, by cookie or by bearer token", async (t) => {
  const s = await buildTestApp(t);
  const shop = await registerShop(s);
  const owner = await s.registerAccount({ email: "apps-owner@example.jp" });
  await signInToShop(s, shop, await signedInBrowser(s, owner));
  const other = await s.registerAccount({ email: "apps-other@example.jp" });

  const byCookie = await listApps(s, { cookie: other.cookie });
  assert.equal(byCookie.statusCode, 200);
  assert.deepEqual(byCookie.json(), { apps: [] });
  const signIn = await s.signIn({ identifier: other.email, password: other.password, sessionType: "token" });
  const bearer = signIn.json<{ session: { token: string } }>().session.token;
  const byBearer = await listApps(s, { authorization: `Bearer ${bearer}` });
  assert.deepEqual(byBearer.json(), { apps: [] });
  const page = await s.inject({ method: "GET", url: appsPath, headers: { cookie: other.cookie } });
  assert.doesNotMatch(page.body, /テスト商店/);
  assert.match(page.body, /許可したお店・アプリはありません/);

  assertApiError(await listApps(s, {}), 401, "unauthenticated");
  const signedOut = await s.inject({ method: "GET", url: appsPath });
  assert.equal(signedOut.statusCode, 303);
  assert.equal(signedOut.headers.location, `/sign-in?return_to=${encodeURIComponent(appsPath)}`);
});

test("removing a shop's access ends its refresh and access tokens, is audited and mailed, and empties the list", async (t) => {
  const s = await buildTestApp(t);
  const shop = await registerShop(s);
  const account = await s.registerAccount({ email: "apps-remove@example.jp", name: "山田 花子" });
  const browser = await signedInBrowser(s, account);
  const { tokens } = await signInToShop(s, shop, browser);

  const page = await browser.request("GET", appsPath);
  const removed = await browser.request("POST", `${appsPath}/remove`, {
    _csrf: formToken(page),
    client: shop.clientId,
  });
  assert.equal(removed.statusCode, 303, removed.body);
  assert.equal(removed.headers.location, `${appsPath}?done=removed`);
  const notice = await browser.request("GET", String(removed.headers.location));
  assert.match(notice.body, /<p class="notice" role="status">お店・アプリのアクセスを削除しました。/);
  assert.match(notice.body, /許可したお店・アプリはありません/);

  // The attack this stops: a shop (or whoever stole its refresh token) keeps reading the account.
  const refreshed = await refresh(s, shop, tokens);
  assert.equal(refreshed.statusCode, 400, refreshed.body);
  assert.equal(refreshed.json<{ error: string }>().error, "invalid_grant");
  assert.equal((await userinfo(s, tokens)).statusCode, 401);
  const left = await s.db
    .selectFrom("oidc_model")
    .select("model")
    .where("client_id", "=", shop.clientId)
    .execute();
  assert.deepEqual(left, [], "no grant, code or token of the shop is left");

  assert.deepEqual((await listApps(s, { cookie: account.cookie })).json(), { apps: [] });
  const [event] = await listAuditEvents(s.db, account.accountId, 1);
  assert.equal(event?.type, "oidc.grant.revoked");
  assert.equal(event?.actor, "account");
  assert.equal(event?.detail.clientId, shop.clientId);
  assert.equal(event?.detail.name, "テスト商店");
  const mails = (await s.messagesTo(account.email)).filter((m) => m.template === "connected_app_removed");
  assert.equal(mails.length, 1);
  const [mail] = mails;
  assert.equal(mail?.subject, "【サンプルショップ】お店・アプリのアクセスを削除しました");
  assert.match(mail?.text_body ?? "", /山田 花子 様/);
  assert.match(mail?.text_body ?? "", /「テスト商店」/);
  assert.match(mail?.text_body ?? "", /http:\/\/localhost:3000\/account\/security\/apps/);
  const html = await s.db
    .selectFrom("outbox_message")
    .select("html_body")
    .where("template", "=", "connected_app_removed")
    .executeTakeFirstOrThrow();
  assert.match(html.html_body ?? "", /テスト商店/);
});

test("after a shop's access is removed, the next sign-in through it asks for consent again", async (t) => {
  const s = await buildTestApp(t);
  const shop = await registerShop(s);
  const account = await s.registerAccount({ locale: "en", email: "apps-again@example.jp" });
  const browser = await signedInBrowser(s, account);
  assert.equal((await signInToShop(s, shop, browser)).consentAsked, true);
  // Allowed once: the same browser signs in again without being asked.
  assert.equal((await signInToShop(s, shop, browser)).consentAsked, false);

  const removed = await s.inject({
    method: "DELETE",
    url: `/api/v1/security/apps/${shop.clientId}`,
    headers: { cookie: account.cookie, ...sameOrigin(s.config) },
  });
  assert.equal(removed.statusCode, 204, removed.body);
  const mail = (await s.messagesTo(account.email)).find((m) => m.template === "connected_app_removed");
  assert.equal(mail?.subject, "Sample Shop: A shop's access to your account was removed");

  const again = await signInToShop(s, shop, browser);
  assert.equal(again.consentAsked, true, "the provider found no grant, so it asks again");
  assert.equal((await refresh(s, shop, again.tokens)).statusCode, 200, "the new permission works");
  const listed = (await listApps(s, { cookie: account.cookie })).json<{ apps: ConnectedAppBody[] }>();
  assert.deepEqual(
    listed.apps.map((app) => app.clientId),
    [shop.clientId],
  );
});

test("removing an unknown shop or another account's shop is a 404 and changes nothing", async (t) => {
  const s = await buildTestApp(t);
  const shop = await registerShop(s);
  const owner = await s.registerAccount({ email: "apps-victim@example.jp" });
  const { tokens } = await signInToShop(s, shop, await signedInBrowser(s, owner));
  const attacker = await s.registerAccount({ email: "apps-attacker@example.jp" });

  // The attack: another signed-in account guesses the shop's client id to cut the owner off.
  for (const clientId of [shop.clientId, "cli_unknown", "x".repeat(64)]) {
    const error = assertApiError(
      await s.inject({
        method: "DELETE",
        url: `/api/v1/security/apps/${clientId}`,
        headers: { cookie: attacker.cookie, ...sameOrigin(s.config) },
      }),
      404,
      "app_not_found",
    );
    assert.match(error.message, /アクセスを許可されていません/);
  }
  assertApiError(
    await s.inject({
      method: "DELETE",
      url: `/api/v1/security/apps/${"x".repeat(65)}`,
      headers: { cookie: attacker.cookie, ...sameOrigin(s.config) },
    }),
    400,
    "invalid_request",
  );
  const browser = await signedInBrowser(s, attacker);
  const page = await browser.request("GET", appsPath);
  const byForm = await browser.request("POST", `${appsPath}/remove`, {
    _csrf: formToken(page),
    client: shop.clientId,
  });
  assert.equal(byForm.statusCode, 404);
  assert.match(byForm.body, /このお店・アプリは見つかりません/);
  const noClient = await browser.request("POST", `${appsPath}/remove`, { _csrf: formToken(page) });
  assert.equal(noClient.statusCode, 404);

  assert.equal((await refresh(s, shop, tokens)).statusCode, 200, "the owner's shop still works");
  const listed = (await listApps(s, { cookie: owner.cookie })).json<{ apps: ConnectedAppBody[] }>();
  assert.equal(listed.apps.length, 1);
  const events = await listAuditEvents(s.db, attacker.accountId);
  assert.ok(!events.some((event) => event.type === "oidc.grant.revoked"));
  assert.ok(!(await s.messagesTo(owner.email)).some((m) => m.template === "connected_app_removed"));
});

test("removing a shop's access needs the form's CSRF token, and a cookie DELETE from another site is refused", async (t) => {
  const s = await buildTestApp(t);
  const shop = await registerShop(s);
  const account = await s.registerAccount({ email: "apps-csrf@example.jp" });
  const browser = await signedInBrowser(s, account);
  const { tokens } = await signInToShop(s, shop, browser);

  // The attack: a page elsewhere posts the remove form with the victim's cookie.
  const forms: Record<string, string>[] = [
    { client: shop.clientId },
    { client: shop.clientId, _csrf: "forged.token" },
  ];
  for (const form of forms) {
    const forged = await browser.request("POST", `${appsPath}/remove`, form);
    assert.equal(forged.statusCode, 403, forged.body);
  }
  const crossSite = await s.inject({
    method: "DELETE",
    url: `/api/v1/security/apps/${shop.clientId}`,
    headers: { cookie: account.cookie, origin: "https://evil.example" },
  });
  assertApiError(crossSite, 403, "csrf_failed");

  assert.equal((await refresh(s, shop, tokens)).statusCode, 200);
  const listed = (await listApps(s, { cookie: account.cookie })).json<{ apps: ConnectedAppBody[] }>();
  assert.equal(listed.apps.length, 1);
});

test("a bearer-token client can list and remove the account's shops", async (t) => {
  const s = await buildTestApp(t);
  const shop = await registerShop(s);
  const account = await s.registerAccount({ email: "apps-bearer@example.jp" });
  const { tokens } = await signInToShop(s, shop, await signedInBrowser(s, account));
  const signIn = await s.signIn({
    identifier: account.email,
    password: account.password,
    sessionType: "token",
  });
  const authorization = `Bearer ${signIn.json<{ session: { token: string } }>().session.token}`;

  const listed = (await listApps(s, { authorization })).json<{ apps: ConnectedAppBody[] }>();
  assert.deepEqual(
    listed.apps.map((app) => app.name),
    ["テスト商店"],
  );
  const removed = await s.inject({
    method: "DELETE",
    url: `/api/v1/security/apps/${shop.clientId}`,
    headers: { authorization },
  });
  assert.equal(removed.statusCode, 204, removed.body);
  assert.equal((await refresh(s, shop, tokens)).json<{ error: string }>().error, "invalid_grant");
  assertApiError(
    await s.inject({
      method: "DELETE",
      url: `/api/v1/security/apps/${shop.clientId}`,
      headers: { authorization },
    }),
    404,
    "app_not_found",
  );
});

test("the consent and cancel forms posted without their form token are refused and grant nothing", async (t) => {
  // Attack: a page elsewhere posts "Allow" for the person, with their cookies but without the token.
  const s = await buildTestApp(t);
  const account = await s.registerAccount();
  const shop = await registerShop(s);
  const browser = await signedInBrowser(s, account);
  const request = authorizationRequest(shop);
  const page = await browser.follow(await browser.request("GET", request.url));
  assert.equal(page.statusCode, 200, "the consent page is shown");
  for (const action of ["consent", "abort"]) {
    const forged = await browser.request("POST", formAction(page, action), {});
    assert.equal(forged.statusCode, 403, `${action} without its token`);
  }
  const grants = await s.db.selectFrom("oidc_model").select("id").where("model", "=", "Grant").execute();
  assert.deepEqual(grants, [], "no grant was saved");
  // The same page's own form still works.
  const allowed = await browser.follow(
    await browser.request("POST", formAction(page, "consent"), { _csrf: formToken(page) }),
  );
  assert.ok(codeFrom(allowed, shop, request), "the shop gets its code");
});
