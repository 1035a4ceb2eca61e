import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Browser } from "playwright-core";
import {
  mainButton as button,
  checkPage,
  launchBrowser,
  newContext,
  saveScreenshot,
  visibleText,
  watchPage,
} from "../support/browser.ts";
import { type FakeProvider, federationEnv, startFakeProvider } from "../support/fake-oidc-provider.ts";
import { latestCode, type MamoriServer, startMamori } from "../support/server.ts";

// 「LINEでログイン」 and 「Googleでログイン」 in Debian's chromium, in Japanese, against fake LINE and
// Google providers on loopback: a first sign-in without an email (the code step), ログイン方法 with
// Google linked, and an existing account's email refused.

let line: FakeProvider;
let google: FakeProvider;
let server: MamoriServer;
let browser: Browser;

before(async () => {
  line = await startFakeProvider("line");
  google = await startFakeProvider("google");
  server = await startMamori(
    federationEnv([
      { kind: "line", fake: line },
      { kind: "google", fake: google },
    ]),
  );
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await line?.close();
  await google?.close();
});

test("LINE without email: the email step and its code make the account; Google is linked in ログイン方法", async () => {
  const context = await newContext(browser);
  const page = await context.newPage();
  const problems = watchPage(page);
  await page.goto(`${server.url}/sign-in`);
  await checkPage(page, "ja", "ログイン");
  assert.ok(await button(page, "LINEでログイン").isVisible());
  assert.ok(await button(page, "Googleでログイン").isVisible());
  await saveScreenshot(page, "social-sign-in-ja");

  line.person = { sub: "U-browser-1", name: "山田 花子" };
  await button(page, "LINEでログイン").click();
  await page.waitForURL((url) => url.pathname.startsWith("/sign-in/federation/email/"));
  await checkPage(page, "ja", "Eメールアドレスを確認");
  await saveScreenshot(page, "social-sign-in-email-ja");
  await page.getByLabel("Eメールアドレス", { exact: true }).fill("line-hanako@example.jp");
  await button(page, "セキュリティコードを送信").click();
  await checkPage(page, "ja", "セキュリティコードを入力");
  await page
    .getByLabel("セキュリティコード", { exact: true })
    .fill(await latestCode(server, "line-hanako@example.jp"));
  await button(page, "確認してアカウントを作成").click();
  await page.waitForURL((url) => url.pathname === "/account");

  await page.goto(`${server.url}/account/security/sign-in-methods`);
  await checkPage(page, "ja", "ログイン方法");
  google.person = { sub: "g-browser-1", email: "hanako.gmail@example.jp", emailVerified: true };
  await button(page, "Googleと連携").click();
  await page.waitForURL((url) => url.pathname === "/account/security/sign-in-methods");
  assert.match(await visibleText(page.locator("main")), /連携しました/);
  assert.match(await visibleText(page.locator("main")), /LINE\s*連携済み/);
  assert.match(await visibleText(page.locator("main")), /Google\s*連携済み/);
  await saveScreenshot(page, "social-sign-in-methods-ja");
  assert.deepEqual(problems.list(), []);
  await context.close();
});

test("Google with the email of an existing account is refused: sign in to that account and link it there", async () => {
  const context = await newContext(browser);
  const page = await context.newPage();
  // The account made by LINE above owns line-hanako@example.jp; someone's Google claims it.
  google.person = { sub: "g-browser-2", email: "line-hanako@example.jp", emailVerified: true };
  await page.goto(`${server.url}/sign-in`);
  await button(page, "Googleでログイン").click();
  await page.waitForURL((url) => url.pathname === "/sign-in/federation/google/callback");
  await checkPage(page, "ja", "ログインできませんでした");
  assert.match(await visibleText(page.locator("main")), /このEメールアドレスのアカウントは既にあります/);
  await saveScreenshot(page, "social-sign-in-email-in-use-ja");
  await context.close();
});
