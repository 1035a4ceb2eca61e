import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import {
  checkPage,
  desktop,
  launchBrowser,
  mainButton,
  newContext,
  phone,
  saveScreenshot,
  visibleText,
  watchPage,
} from "../support/browser.ts";
import { type MamoriServer, startMamori } from "../support/server.ts";

// /tools/password-generator in Debian's chromium. With JavaScript the passwords are drawn in the
// browser (Web Crypto) and no request carries them; rows copy on click, the list downloads, and
// "Use this password" fills the sign-up form it was opened from. The words are written out here.

const words = {
  ja: {
    title: "パスワード生成ツール",
    generate: "生成する",
    copied: "コピーしました",
    use: "このパスワードを使う",
    used: "フォームに入力しました。このタブは閉じてかまいません。",
    fits: "このサイトのパスワードの条件を満たしています。",
    noClass: "使う文字の種類を1つ以上選んでください。",
    passphrase: "単語をつなげる（パスフレーズ）",
    link: "パスワード生成ツールで作る",
  },
  en: { title: "Password generator", generate: "Generate", fits: "Meets this site's password rules." },
} as const;

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

/** Requests that could carry a password: anything but GETs of the page, its assets and the word list. */
function watchRequests(page: Page): { carrying(): string[] } {
  const carrying: string[] = [];
  page.on("request", (request) => {
    const path = new URL(request.url()).pathname;
    if (request.method() !== "GET" || path.startsWith("/api/")) carrying.push(`${request.method()} ${path}`);
  });
  return { carrying: () => carrying };
}

async function shownPasswords(page: Page): Promise<string[]> {
  return page.locator("#generator-results code.password").allTextContents();
}

describe("the password generator in a real browser", () => {
  test("generates in the browser: no request carries a password; rows copy; the list downloads", {
    timeout: 60_000,
  }, async () => {
    const context = await newContext(browser, { viewport: phone, isMobile: true, hasTouch: true });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.url });
    try {
      const page = await context.newPage();
      const problems = watchPage(page);
      const requests = watchRequests(page);
      await page.goto(`${server.url}/tools/password-generator`);
      await checkPage(page, "ja", words.ja.title);
      assert.equal(
        await page.locator("#generator-no-script").isHidden(),
        true,
        "the no-JavaScript note is hidden",
      );
      await mainButton(page, words.ja.generate).click();
      await page.locator("#generator-results tr.password-row").first().waitFor();
      const passwords = await shownPasswords(page);
      assert.equal(passwords.length, 10);
      for (const password of passwords)
        assert.match(password, /^(?=.*[A-Z])(?=.*[a-z])(?=.*\d)(?=.*[^A-Za-z\d]).{16}$/);
      assert.equal(await visibleText(page.locator("#generator-results p.notice")), words.ja.fits);
      assert.match(
        await visibleText(page.locator("#generator-results p").first()),
        /^強さの目安: 10\d\.\dビット \(とても強い\)$/,
      );
      await saveScreenshot(page, "password-generator-ja");

      // Click the third row: it is on the clipboard.
      await page.locator("#generator-results tr.password-row").nth(2).click();
      await page.locator("#generator-results tr.password-row").nth(2).getByText(words.ja.copied).waitFor();
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), passwords[2]);

      // Download as text: the same list, one a line.
      const [download] = await Promise.all([
        page.waitForEvent("download"),
        page.locator("a[download='passwords.txt']").click(),
      ]);
      assert.equal(download.suggestedFilename(), "passwords.txt");
      const file = await download.path();
      assert.deepEqual(readFileSync(file, "utf8").trimEnd().split("\r\n"), passwords);

      // Nothing left the browser but GETs of the page and its files.
      assert.deepEqual(requests.carrying(), []);
      assert.deepEqual(problems.list(), []);
    } finally {
      await context.close();
    }
  });

  test("passphrases from the word list, and impossible options refused in the page", {
    timeout: 60_000,
  }, async () => {
    const context = await newContext(browser, { viewport: desktop });
    try {
      const page = await context.newPage();
      const problems = watchPage(page);
      const requests = watchRequests(page);
      await page.goto(`${server.url}/tools/password-generator`);
      await page.getByLabel(words.ja.passphrase, { exact: true }).check();
      assert.equal(await page.locator("#characters-options").isHidden(), true);
      await page.locator("#words").fill("5");
      await page.locator("#separator").fill(" ");
      await mainButton(page, words.ja.generate).click();
      await page.locator("#generator-results tr.password-row").first().waitFor();
      const list = new Set(
        readFileSync(new URL("../../public/eff-large-wordlist.txt", import.meta.url), "utf8")
          .trim()
          .split("\n"),
      );
      const phrases = await shownPasswords(page);
      assert.equal(phrases.length, 10);
      for (const phrase of phrases) {
        const parts = phrase.split(" ");
        assert.equal(parts.length, 5, phrase);
        for (const part of parts) assert.ok(list.has(part), `${part} is not on the list`);
      }
      await saveScreenshot(page, "password-generator-passphrase-ja");

      await page.getByLabel("文字", { exact: true }).check();
      for (const name of ["uppercase", "lowercase", "digits", "symbols"])
        await page.locator(`#${name}`).uncheck();
      await mainButton(page, words.ja.generate).click();
      const alert = page.locator("#generator-results [role=alert]");
      assert.equal(await visibleText(alert), words.ja.noClass);
      assert.equal((await shownPasswords(page)).length, 0);
      assert.deepEqual(requests.carrying(), []);
      assert.deepEqual(problems.list(), []);
    } finally {
      await context.close();
    }
  });

  test("'Use this password' fills the sign-up form it was opened from, and the account is created with it", {
    timeout: 60_000,
  }, async () => {
    const context = await newContext(browser, { viewport: desktop });
    try {
      const form = await context.newPage();
      const problems = watchPage(form);
      await form.goto(`${server.url}/sign-up`);
      await form.getByLabel("氏名", { exact: true }).fill("山田 花子");
      await form
        .getByLabel("Eメールアドレス", { exact: true })
        .fill(`hanako-${randomUUID().slice(0, 8)}@example.jp`);
      const [tool] = await Promise.all([
        context.waitForEvent("page"),
        form.getByRole("link", { name: words.ja.link }).click(),
      ]);
      await tool.waitForLoadState();
      const toolProblems = watchPage(tool);
      await mainButton(tool, words.ja.generate).click();
      const row = tool.locator("#generator-results tr.password-row").first();
      await row.waitFor();
      const chosen = (await row.locator("code.password").textContent()) ?? "";
      await row.getByRole("button", { name: words.ja.use }).click();
      await row.getByText(words.ja.used).waitFor();
      assert.equal(await form.locator("#password").inputValue(), chosen);
      await form.bringToFront();
      await form.getByRole("button", { name: "次に進む" }).click();
      await form.waitForURL((url) => url.pathname === "/sign-up/verify");
      assert.deepEqual([...problems.list(), ...toolProblems.list()], []);
    } finally {
      await context.close();
    }
  });

  test("without JavaScript the server generates the list, in English too", { timeout: 60_000 }, async () => {
    const context = await newContext(browser, {
      javaScriptEnabled: false,
      locale: "en-US",
      viewport: desktop,
    });
    try {
      const page = await context.newPage();
      const problems = watchPage(page);
      await page.goto(`${server.url}/tools/password-generator`);
      await checkPage(page, "en", words.en.title);
      await page.locator("#length").fill("20");
      await page.getByRole("button", { name: words.en.generate, exact: true }).click();
      await page.waitForURL((url) => url.pathname === "/tools/password-generator");
      const passwords = await shownPasswords(page);
      assert.equal(passwords.length, 10);
      for (const password of passwords) assert.equal(password.length, 20);
      assert.equal(await visibleText(page.locator("#generator-results p.notice")), words.en.fits);
      await saveScreenshot(page, "password-generator-no-script-en");
      assert.deepEqual(problems.list(), []);
    } finally {
      await context.close();
    }
  });
});
