import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import {
  checkPage,
  launchBrowser,
  newContext,
  pagePath as path,
  phone,
  saveScreenshot,
  visibleText,
  watchPage,
} from "../support/browser.ts";
import { english, japanese, type Words } from "../support/page-words.ts";
import { latestCode, type MamoriServer, startMamori } from "../support/server.ts";
import { registerOnServer } from "../support/server-accounts.ts";

// "Sign-in activity" and "this wasn't me" in Debian's chromium on a phone: the owner finds their
// own sign-in in the list, reports it, confirms, and lands on the reset's code page signed out.

const password = "hoshizora no shita de 7 tsubame ga tobu";

type ActivityWords = {
  viewActivity: string;
  title: string;
  signIn: string;
  notMe: string;
  confirmTitle: string;
  confirm: string;
  codeTitle: string;
  signedOutEverywhere: string;
};

// Written out here rather than imported from src/i18n: a page that says the wrong thing must fail.
const japaneseActivity: ActivityWords = {
  viewActivity: "ログイン履歴を確認",
  title: "ログイン履歴",
  signIn: "ログイン",
  notMe: "これは私ではありません",
  confirmTitle: "心当たりのないログイン",
  confirm: "すべての端末からログアウトしてパスワードを再設定",
  codeTitle: "セキュリティコードの入力",
  signedOutEverywhere: "すべての端末からログアウトしました。",
};

const englishActivity: ActivityWords = {
  viewActivity: "View sign-in activity",
  title: "Sign-in activity",
  signIn: "Sign-in",
  notMe: "This wasn't me",
  confirmTitle: "A sign-in that wasn't you",
  confirm: "Sign out everywhere and reset my password",
  codeTitle: "Enter the security code",
  signedOutEverywhere: "You were signed out on every device.",
};

let server: MamoriServer;
let browser: Browser;

before(async () => {
  server = await startMamori();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Registers through the API, signs in on the sign-in page and opens the activity page from Login & security. */
async function openActivity(page: Page, words: Words, a: ActivityWords, email: string): Promise<void> {
  await registerOnServer(server, { name: "山田 花子", email, password, locale: words.lang });
  await page.goto(`${server.url}/sign-in`);
  await page.getByLabel(words.signIn.identifier, { exact: true }).fill(email);
  await page.getByLabel(words.signIn.password, { exact: true }).fill(password);
  await page.locator("main").getByRole("button", { name: words.signIn.submit, exact: true }).click();
  await page.waitForURL((url) => url.pathname === "/account");
  await page.getByRole("link", { name: words.account.security }).click();
  await page.waitForURL((url) => url.pathname === "/account/security");
  await page.getByRole("link", { name: a.viewActivity, exact: true }).click();
  await page.waitForURL((url) => url.pathname === "/account/security/activity");
  await checkPage(page, words.lang, a.title);
}

describe("sign-in activity in a real browser", () => {
  test("on a phone in Japanese: my sign-in is listed; 'this wasn't me', confirmed, signs me out into a password reset", {
    timeout: 90_000,
  }, async () => {
    const a = japaneseActivity;
    const context = await newContext(browser, { viewport: phone, isMobile: true, hasTouch: true });
    try {
      const page = await context.newPage();
      const problems = watchPage(page);
      const email = `activity-${randomUUID().slice(0, 8)}@example.jp`;
      await openActivity(page, japanese, a, email);

      // Newest first: this sign-in, from this browser and address, with its own button.
      const row = page.locator("ul.activity > li").first();
      const rowText = await visibleText(row);
      assert.match(
        rowText,
        new RegExp(
          `^${a.signIn} \\d{4}/\\d{2}/\\d{2} \\d{1,2}:\\d{2} Chrome \\(Linux\\) · IPアドレス: 127\\.0\\.0\\.1`,
        ),
      );
      const button = row.getByRole("button", { name: a.notMe, exact: true });
      // The button is described by its row, so a screen reader says which sign-in it reports.
      assert.match((await button.getAttribute("aria-describedby")) ?? "", /^event-aud_/);
      await saveScreenshot(page, "activity-ja");

      await button.click();
      await page.waitForURL((url) => url.pathname === "/account/security/not-me");
      await checkPage(page, "ja", a.confirmTitle);
      assert.match(await visibleText(page.locator(".reported")), /Chrome \(Linux\)/);
      assert.match(await visibleText(page.locator("main")), new RegExp(email.replace(/\./g, "\\.")));
      await saveScreenshot(page, "not-me-confirm-ja");

      const registrationCode = await latestCode(server, email);
      await page.getByRole("button", { name: a.confirm, exact: true }).click();
      await page.waitForURL((url) => /^\/password-reset\/pwr_[0-9a-z]+$/.test(url.pathname));
      await checkPage(page, "ja", a.codeTitle);
      assert.match(await visibleText(page.getByRole("status")), new RegExp(`^${a.signedOutEverywhere}`));
      assert.ok(await latestCode(server, email, { after: registrationCode }), "a reset code was mailed");
      await saveScreenshot(page, "not-me-code-ja");

      // This browser's session is gone too.
      await page.goto(`${server.url}/account`);
      assert.equal(path(page), "/sign-in?return_to=%2Faccount");
      await checkPage(page, "ja", japanese.signIn.title);
      assert.deepEqual(problems.list(), []);
    } finally {
      await context.close();
    }
  });

  test("on a phone in English: the list and the question, in English", { timeout: 60_000 }, async () => {
    const a = englishActivity;
    const context = await newContext(browser, { locale: "en-US", viewport: phone, isMobile: true });
    try {
      const page = await context.newPage();
      const problems = watchPage(page);
      await openActivity(page, english, a, `activity-${randomUUID().slice(0, 8)}@example.jp`);
      const row = page.locator("ul.activity > li").first();
      assert.match(
        await visibleText(row),
        /^Sign-in \d{1,2} \w{3} \d{4}, \d{1,2}:\d{2} Chrome \(Linux\) · IP address 127\.0\.0\.1 This wasn't me$/,
      );
      await saveScreenshot(page, "activity-en");
      // The page-level button, for a sign-in that is not in the list.
      await page.locator("main > .card").last().getByRole("button", { name: a.notMe, exact: true }).click();
      await page.waitForURL((url) => url.pathname === "/account/security/not-me");
      await checkPage(page, "en", a.confirmTitle);
      assert.equal(await page.locator(".reported").count(), 0);
      await saveScreenshot(page, "not-me-confirm-en");
      assert.deepEqual(problems.list(), []);
    } finally {
      await context.close();
    }
  });
});
