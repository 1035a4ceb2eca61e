import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import type { Browser, Page } from "playwright-core";
import { buildShop } from "../../examples/shop/app.ts";
import {
  launchBrowser,
  newContext,
  saveScreenshot,
  unlabelledControls,
  watchPage,
} from "../support/browser.ts";
import { freePort } from "../support/nginx.ts";
import { english, japanese, type Words } from "../support/page-words.ts";
import { latestCode, type MamoriServer, startMamori } from "../support/server.ts";
import { authenticatorApp } from "../support/two-step-browser.ts";

// "Sign in with Mamori", end to end: a real Mamori process, the example shop (examples/shop, on
// openid-client, which no one here wrote) on another loopback port, and Debian's chromium going
// through the shop's button -> Mamori's sign-in with two-step (oathtool codes) -> consent -> back
// at the shop, then a token refresh and a sign-out through Mamori.

const projectRoot = fileURLToPath(new URL("../../", import.meta.url));
const password = "Yuki-no-Hi-ni-8821-Neko";

let server: MamoriServer;
let browser: Browser;
let shop: FastifyInstance;
let strictShop: FastifyInstance;
let shopUrl: string;
let strictShopUrl: string;

/** `mamori clients create …` against the server's database, as an operator would run it. */
function createClient(
  redirectUris: string[],
  postLogoutUris: string[],
): { clientId: string; clientSecret: string } {
  const args = ["src/cli/main.ts", "clients", "create", "--name", "やまだ商店"];
  for (const uri of redirectUris) args.push("--redirect-uri", uri);
  for (const uri of postLogoutUris) args.push("--post-logout-redirect-uri", uri);
  const out = execFileSync(join(projectRoot, "node_modules", ".bin", "node"), args, {
    cwd: projectRoot,
    encoding: "utf8",
    timeout: 20_000,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      NODE_ENV: "test",
      DATABASE_URL: server.databaseUrl,
      MAMORI_PUBLIC_URL: server.url,
      LOG_LEVEL: "warn",
    },
  });
  const clientId = /client_id: (\S+)/.exec(out)?.[1];
  const clientSecret = /client_secret: (\S+)/.exec(out)?.[1];
  assert.ok(clientId && clientSecret, out);
  assert.match(out, new RegExp(`issuer: ${server.url}/oidc`));
  return { clientId, clientSecret };
}

before(async () => {
  server = await startMamori();
  browser = await launchBrowser();
  const [shopPort, strictPort] = [await freePort(), await freePort()];
  shopUrl = `http://127.0.0.1:${shopPort}`;
  strictShopUrl = `http://127.0.0.1:${strictPort}`;
  const client = createClient(
    [`${shopUrl}/callback`, `${strictShopUrl}/callback`],
    [`${shopUrl}/`, `${strictShopUrl}/`],
  );
  const issuer = new URL(`${server.url}/oidc`);
  shop = await buildShop({ issuer, ...client, baseUrl: new URL(shopUrl), allowHttp: true });
  await shop.listen({ host: "127.0.0.1", port: shopPort });
  // The same shop's back office, which demands two-step verification (acr_values=urn:mamori:aal2).
  strictShop = await buildShop({
    issuer,
    ...client,
    baseUrl: new URL(strictShopUrl),
    allowHttp: true,
    requireTwoStep: true,
  });
  await strictShop.listen({ host: "127.0.0.1", port: strictPort });
});

after(async () => {
  await browser?.close();
  await shop?.close();
  await strictShop?.close();
  await server?.stop();
});

async function api(path: string, body: object, cookie?: string, flowToken?: string): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(cookie ? { cookie, origin: server.url } : {}),
      ...(flowToken ? { "x-mamori-flow-token": flowToken } : {}),
    },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
}

function cookieOf(response: Response, current: string): string {
  const set = response.headers.getSetCookie().find((c) => c.startsWith("mamori_session="));
  return set ? (set.split(";")[0] ?? current) : current;
}

/** Registers an account; with `twoStep`, turns on two-step with an authenticator app (oathtool). */
async function customer(
  email: string,
  twoStep: boolean,
  locale: "ja" | "en" = "ja",
): Promise<{ code(): Promise<string> } | undefined> {
  const started = await api("/api/v1/registrations", { name: "山田 花子", email, password, locale });
  assert.equal(started.status, 201);
  const { registration } = (await started.json()) as { registration: { id: string; flowToken: string } };
  const verified = await api(
    `/api/v1/registrations/${registration.id}/verify`,
    { code: await latestCode(server, email) },
    undefined,
    registration.flowToken,
  );
  assert.equal(verified.status, 201);
  if (!twoStep) return undefined;
  let cookie = cookieOf(verified, "");
  const enroll = await api("/api/v1/security/two-step/methods", { role: "primary", method: "totp" }, cookie);
  assert.equal(enroll.status, 201, await enroll.clone().text());
  cookie = cookieOf(enroll, cookie);
  const { enrollment } = (await enroll.json()) as { enrollment: { id: string; secret: string } };
  const app = authenticatorApp(enrollment.secret);
  const confirmed = await api(
    `/api/v1/security/two-step/methods/${enrollment.id}/verify`,
    { code: await app.code() },
    cookie,
  );
  assert.equal(confirmed.status, 200, await confirmed.clone().text());
  cookie = cookieOf(confirmed, cookie);
  const enabled = await api("/api/v1/security/two-step/enable", {}, cookie);
  assert.equal(enabled.status, 200, await enabled.clone().text());
  return app;
}

async function signInAtMamori(page: Page, email: string, words: Words = japanese): Promise<void> {
  await page.waitForURL((url) => url.origin === server.url && url.pathname === "/sign-in");
  assert.match(new URL(page.url()).searchParams.get("return_to") ?? "", /^\/oidc\/interaction\//);
  await page.getByLabel(words.signIn.identifier, { exact: true }).fill(email);
  await page.getByLabel(words.signIn.password, { exact: true }).fill(password);
  await page.locator("main").getByRole("button", { name: words.signIn.submit, exact: true }).click();
}

test("Sign in with Mamori: the shop's button, Mamori's sign-in with two-step, consent, back at the shop; refresh and sign-out work", async () => {
  const email = "shop-customer@example.jp";
  const app = await customer(email, true);
  assert.ok(app);
  const context = await newContext(browser);
  const page = await context.newPage();
  const problems = watchPage(page);

  await page.goto(shopUrl);
  await page.locator("#sign-in").click();
  await signInAtMamori(page, email);

  // Mamori's two-step challenge, with a code from the authenticator app.
  await page.waitForURL((url) => url.pathname.startsWith("/sign-in/two-step/"));
  await page.getByLabel("セキュリティコード", { exact: true }).fill(await app.code());
  await page.locator("main").getByRole("button", { name: "ログイン", exact: true }).click();

  // Consent, in Mamori's own look.
  await page.getByRole("heading", { name: "やまだ商店にログイン" }).waitFor();
  assert.deepEqual(await unlabelledControls(page), []);
  await saveScreenshot(page, "oidc-consent-ja");
  await page.getByRole("button", { name: "許可してログイン", exact: true }).click();

  // Back at the shop, signed in: the ID token says two-step was used.
  await page.waitForURL((url) => url.origin === shopUrl && url.pathname === "/");
  assert.equal(await page.locator("#greeting").textContent(), "山田 花子 さん、こんにちは");
  assert.equal(await page.locator("#email").textContent(), email);
  assert.equal(await page.locator("#acr").textContent(), "urn:mamori:aal2");
  const amr = (await page.locator("#amr").textContent())?.split(" ") ?? [];
  assert.ok(amr.includes("otp"), `amr ${amr.join(",")} includes otp`);
  assert.ok(amr.includes("pwd"));
  assert.equal(await page.locator("#security").getAttribute("href"), `${server.url}/account/security`);

  // The refresh token renews the tokens without the customer seeing Mamori.
  await page.locator("#refresh").click();
  await page.waitForFunction(() => document.querySelector("#refreshed")?.textContent !== "-");
  assert.equal(await page.locator("#greeting").textContent(), "山田 花子 さん、こんにちは");

  // Sign out through Mamori (RP-initiated logout), out of Mamori too.
  await page.locator("#sign-out").click();
  await page.getByRole("heading", { name: "ログアウト" }).waitFor();
  await saveScreenshot(page, "oidc-sign-out-ja");
  await page.getByRole("button", { name: "サンプルショップからもログアウトする", exact: true }).click();
  await page.waitForURL((url) => url.origin === shopUrl && url.pathname === "/");
  await page.locator("#sign-in").waitFor();
  await page.goto(`${server.url}/account`);
  await page.waitForURL((url) => url.pathname === "/sign-in");
  assert.deepEqual(
    problems.list().filter((p) => !p.includes(shopUrl)),
    [],
  );
  await context.close();
});

test("a shop demanding two-step verification gets no token for a customer without it", async () => {
  const email = "shop-no-two-step@example.jp";
  await customer(email, false);
  const context = await newContext(browser);
  const page = await context.newPage();
  await page.goto(strictShopUrl);
  await page.locator("#sign-in").click();
  await signInAtMamori(page, email);

  await page.getByRole("heading", { name: "2段階認証が必要です" }).waitFor();
  await saveScreenshot(page, "oidc-two-step-required-ja");
  assert.equal(
    await page.getByRole("link", { name: "2段階認証を設定する" }).getAttribute("href"),
    "/account/security/two-step",
  );
  await page.getByRole("button", { name: "やまだ商店に戻る", exact: true }).click();
  await page.waitForURL((url) => url.origin === strictShopUrl && url.pathname === "/callback");
  await page.locator("#sign-in-failed").waitFor();
  assert.equal(new URL(page.url()).searchParams.get("error"), "access_denied");
  await page.goto(strictShopUrl);
  await page.locator("#sign-in").waitFor();
  await context.close();
});

test("in English (the browser's language, then the account's): consent, two-step required and sign-out pages", async () => {
  const email = "shop-customer-en@example.jp";
  await customer(email, false, "en");
  const context = await newContext(browser, { locale: "en-US" });
  const page = await context.newPage();
  const problems = watchPage(page);

  // A shop that demands two-step verification: Mamori says what to do, in English.
  await page.goto(strictShopUrl);
  await page.locator("#sign-in").click();
  await signInAtMamori(page, email, english);
  await page.getByRole("heading", { name: "Two-step verification is required" }).waitFor();
  assert.deepEqual(await unlabelledControls(page), []);
  await saveScreenshot(page, "oidc-two-step-required-en");
  await page.getByRole("button", { name: "Back to やまだ商店", exact: true }).click();
  await page.waitForURL((url) => url.origin === strictShopUrl && url.pathname === "/callback");

  // The shop without that demand: consent, back at the shop, then sign-out, all in English.
  await page.goto(shopUrl);
  await page.locator("#sign-in").click();
  await page.getByRole("heading", { name: "Sign in to やまだ商店" }).waitFor();
  assert.deepEqual(await unlabelledControls(page), []);
  await saveScreenshot(page, "oidc-consent-en");
  await page.getByRole("button", { name: "Allow and sign in", exact: true }).click();
  await page.waitForURL((url) => url.origin === shopUrl && url.pathname === "/");
  assert.equal(await page.locator("#email").textContent(), email);
  await page.locator("#sign-out").click();
  await page.getByRole("heading", { name: "Sign out" }).waitFor();
  await saveScreenshot(page, "oidc-sign-out-en");
  await page.getByRole("button", { name: "Sign out of Sample Shop too", exact: true }).click();
  await page.waitForURL((url) => url.origin === shopUrl && url.pathname === "/");
  assert.deepEqual(
    problems.list().filter((p) => !p.includes(shopUrl) && !p.includes(strictShopUrl)),
    [],
  );
  await context.close();
});
