import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { openDatabase } from "../../src/db/database.ts";
import {
  mainButton as button,
  checkPage,
  launchBrowser,
  newContext,
  phone,
  saveScreenshot,
  visibleText,
  watchPage,
} from "../support/browser.ts";
import { type MamoriServer, startMamori } from "../support/server.ts";
import { registerOnServer } from "../support/server-accounts.ts";
import { ageSessions } from "../support/two-step-browser.ts";

// アカウントの閉鎖、データのダウンロード、止められたお客様への案内を、日本語のお客様として
// Chromium で確かめる。各ページの見出し・言語・ラベル・横スクロールを確認し、スマートフォンの
// 幅で撮影する(docs/screenshots/、MAMORI_UPDATE_SCREENSHOTS=1 のとき)。

const password = "hoshizora no shita de 7 tsubame ga tobu";
const support = {
  MAMORI_SUPPORT_URL: "https://shop.example.jp/support",
  MAMORI_SUPPORT_PHONE: "0120-123-456",
  MAMORI_SUPPORT_HOURS: "平日 10:00〜18:00",
};

let server: MamoriServer;
let browser: Browser;

before(async () => {
  // 127.0.0.1 は店内のネットワーク扱いで許可される。X-Forwarded-For で海外からの接続を再現する。
  server = await startMamori({ ...support, MAMORI_ALLOWED_COUNTRIES: "JP", MAMORI_TRUST_PROXY: "true" });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function newShopper(): Promise<{ name: string; email: string }> {
  const shopper = { name: "山田 花子", email: `closing-${randomUUID().slice(0, 8)}@example.jp` };
  await registerOnServer(server, { ...shopper, password, locale: "ja" });
  return shopper;
}

async function signIn(page: Page, email: string): Promise<void> {
  await page.goto(`${server.url}/sign-in`);
  await page.getByLabel("Eメールアドレスまたは携帯電話番号").fill(email);
  await page.getByLabel("パスワード", { exact: true }).fill(password);
  await button(page, "ログイン").click();
}

function assertSupportOnPage(text: string): void {
  assert.ok(text.includes("ショップのサポート"), text);
  assert.ok(text.includes("0120-123-456"), text);
  assert.ok(text.includes("平日 10:00〜18:00"), text);
}

test("データをダウンロードしてから、アカウントを閉鎖する", async () => {
  const shopper = await newShopper();
  const context = await newContext(browser, { viewport: phone, acceptDownloads: true });
  const page = await context.newPage();
  const problems = watchPage(page);
  await signIn(page, shopper.email);
  await page.waitForURL(`${server.url}/account`);
  await page.getByRole("link", { name: "ログインとセキュリティ" }).first().click();
  await checkPage(page, "ja", "ログインとセキュリティ");

  await page.getByRole("link", { name: "データをダウンロード" }).click();
  await checkPage(page, "ja", "データのダウンロード");
  await saveScreenshot(page, "account-data-ja");
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("link", { name: "JSON形式でダウンロード" }).click(),
  ]);
  assert.match(download.suggestedFilename(), /^account-data-\d{4}-\d{2}-\d{2}\.json$/);
  const saved = await download.path();
  const data = JSON.parse(readFileSync(saved, "utf8")) as { account: { email: string; name: string } };
  assert.equal(data.account.email, shopper.email);
  assert.equal(data.account.name, shopper.name);
  assert.ok(!readFileSync(saved, "utf8").includes("$argon2"), "no password hash in the file");

  // 10分以上前のログイン: 閉鎖の前にパスワードをもう一度。
  await ageSessions(server, shopper.email);
  await page.goto(`${server.url}/account/security`);
  await page.getByRole("link", { name: "アカウントを閉鎖" }).click();
  await checkPage(page, "ja", "パスワードの再入力");
  await page.getByLabel("パスワード", { exact: true }).fill(password);
  await button(page, "次に進む").click();
  await checkPage(page, "ja", "アカウントの閉鎖");
  const consequences = await visibleText(page.locator("main"));
  assert.ok(consequences.includes("すぐにこのアカウントではログインできなくなります"), consequences);
  assert.ok(consequences.includes("30日後に消去"), consequences);
  await saveScreenshot(page, "account-close-ja");

  // チェックを入れずに押すと、閉鎖されずに理由が出る。
  await button(page, "アカウントを閉鎖する").click();
  await page.locator(".error-summary").waitFor();
  assert.ok((await visibleText(page.locator("main"))).includes("チェックボックスをオンにしてください"));
  await page.getByLabel("上記を理解したうえで、アカウントを閉鎖します").check();
  await button(page, "アカウントを閉鎖する").click();
  await checkPage(page, "ja", "アカウントを閉鎖しました");
  assertSupportOnPage(await visibleText(page.locator("main")));
  await saveScreenshot(page, "account-closed-ja");

  // もう一度ログインしようとすると、閉鎖されていることとサポートの連絡先が出る。
  await signIn(page, shopper.email);
  await checkPage(page, "ja", "このアカウントは閉鎖されています");
  assertSupportOnPage(await visibleText(page.locator("main")));
  await saveScreenshot(page, "account-closed-sign-in-ja");
  assert.deepEqual(
    problems.list().filter((p) => !/status of (400|403)/.test(p)),
    [],
  );
  await context.close();
});

test("ログイン中に一時停止されたお客様には、理由と連絡先が表示される", async () => {
  const shopper = await newShopper();
  const context = await newContext(browser, { viewport: phone });
  const page = await context.newPage();
  await signIn(page, shopper.email);
  await page.waitForURL(`${server.url}/account`);
  // 運営者が一時停止する(mamori accounts suspend と同じ結果をデータベースに直接)。
  const db = openDatabase(server.databaseUrl);
  try {
    const now = new Date().toISOString();
    const account = await db
      .selectFrom("account")
      .select("id")
      .where("email", "=", shopper.email)
      .executeTakeFirstOrThrow();
    await db
      .updateTable("account")
      .set({ status: "suspended", status_reason: "ご注文の確認のため", updated_at: now })
      .where("id", "=", account.id)
      .execute();
    await db.updateTable("session").set({ revoked_at: now }).where("account_id", "=", account.id).execute();
  } finally {
    await db.destroy();
  }
  await page.reload();
  await checkPage(page, "ja", "このアカウントは一時停止されています");
  const text = await visibleText(page.locator("main"));
  assertSupportOnPage(text);
  assert.equal(
    await page.getByLabel("パスワード", { exact: true }).count(),
    0,
    "ログインフォームだけの行き止まりではない",
  );
  await saveScreenshot(page, "account-suspended-ja");
  await context.close();
});

test("海外からのログインは、アクセス元の場所について説明し、連絡先を案内する", async () => {
  const shopper = await newShopper();
  const context = await newContext(browser, {
    viewport: phone,
    extraHTTPHeaders: { "x-forwarded-for": "8.8.8.8" },
  });
  const page = await context.newPage();
  await signIn(page, shopper.email);
  await checkPage(page, "ja", "現在の場所からはログインできません");
  const text = await visibleText(page.locator("main"));
  assert.ok(text.includes("いまアクセスしている国・地域"), text);
  assert.ok(text.includes("アメリカ合衆国"), text);
  assertSupportOnPage(text);
  await saveScreenshot(page, "sign-in-country-refused-ja");
  await context.close();
});
