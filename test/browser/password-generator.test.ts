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

/**
 * How the list sits on the page: whether any password is broken across lines, whether the page is
 * wider than the window, and each row's box (to see them stacked as cards).
 */
async function layout(page: Page): Promise<{
  wrapped: string[];
  pageOverflow: number;
  rows: { top: number; bottom: number; left: number; right: number }[];
  viewport: number;
}> {
  return page.evaluate(() => {
    const wrapped: string[] = [];
    for (const code of Array.from(
      document.querySelectorAll<HTMLElement>("#generator-results code.password"),
    )) {
      // One line box: a password broken inside has two or more.
      const lineHeight = Number.parseFloat(getComputedStyle(code).lineHeight);
      if (code.getClientRects().length !== 1 || code.getBoundingClientRect().height > lineHeight * 1.5)
        wrapped.push(code.textContent ?? "");
    }
    const rows = Array.from(document.querySelectorAll("#generator-results tr.password-row")).map((row) => {
      const box = row.getBoundingClientRect();
      return { top: box.top, bottom: box.bottom, left: box.left, right: box.right };
    });
    return {
      wrapped,
      pageOverflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
      rows,
      viewport: document.documentElement.clientWidth,
    };
  });
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
        await visibleText(page.locator("#generator-results p.strength-summary")),
        /^推測されにくさ: とても強い（約10\dビット）$/,
      );
      // At 390 px: the passwords are stacked cards, none broken across lines, the page no wider than the phone.
      const shown = await layout(page);
      assert.deepEqual(shown.wrapped, [], "no password is broken across lines");
      assert.ok(shown.pageOverflow <= 0, `the page scrolls sideways by ${shown.pageOverflow} px`);
      for (const [i, row] of shown.rows.entries()) {
        assert.ok(row.left >= 0 && row.right <= shown.viewport, `row ${i} fits the phone`);
        const next = shown.rows[i + 1];
        if (next) assert.ok(next.top >= row.bottom, `row ${i + 1} is below row ${i}, not beside it`);
      }
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

      // Download as CSV: Japanese column names, and a byte order mark so Excel reads it as UTF-8.
      const [csvDownload] = await Promise.all([
        page.waitForEvent("download"),
        page.locator("a[download='passwords.csv']").click(),
      ]);
      const csv = readFileSync(await csvDownload.path(), "utf8");
      assert.ok(csv.startsWith("\uFEFFパスワード,ビット数,推測されにくさ\r\n"), csv.slice(0, 40));
      assert.match(csv, /,10\d\.\d,とても強い\r\n/);

      // The longest passwords (128 characters) are not broken either: they scroll in their card.
      await page.locator("#length").fill("128");
      await mainButton(page, words.ja.generate).click();
      await page.waitForFunction(
        () => document.querySelector("#generator-results code.password")?.textContent?.length === 128,
      );
      const long = await layout(page);
      assert.deepEqual(long.wrapped, [], "no 128-character password is broken across lines");
      assert.ok(long.pageOverflow <= 0, `the page scrolls sideways by ${long.pageOverflow} px`);

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
      // On the Japanese page: Japanese words in romaji, each one of 2,048 (11 bits), said on the page.
      const romaji = page.locator("#wordList-romaji");
      assert.equal(await romaji.isChecked(), true);
      assert.match(
        await visibleText(page.locator("label[for=wordList-romaji]")),
        /2,048語から選び、1語あたり11ビット/,
      );
      await page.locator("#words").fill("5");
      await mainButton(page, words.ja.generate).click();
      await page.locator("#generator-results tr.password-row").first().waitFor();
      const romajiList = new Set(
        readFileSync(new URL("../../public/bip39-japanese-romaji.txt", import.meta.url), "utf8")
          .trim()
          .split("\n"),
      );
      for (const phrase of await shownPasswords(page)) {
        const parts = phrase.split("-");
        assert.equal(parts.length, 5, phrase);
        for (const part of parts) assert.ok(romajiList.has(part), `${part} is not on the romaji list`);
      }
      assert.equal(
        await visibleText(page.locator("#generator-results p.strength-summary")),
        "推測されにくさ: 普通（約55ビット）",
      );
      await saveScreenshot(page, "password-generator-romaji-ja");

      // Beside it, the English list.
      await page.locator("#wordList-english").check();
      await page.locator("#separator").fill(" ");
      await mainButton(page, words.ja.generate).click();
      await page.waitForFunction(() =>
        document.querySelector("#generator-results code.password")?.textContent?.includes(" "),
      );
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
      // One primary action a row: 「このパスワードを使う」; 「コピー」 beside it is secondary.
      const buttons = await tool.locator("#generator-results tr.password-row").evaluateAll((rows) =>
        rows.map((r) =>
          Array.from(r.querySelectorAll("button")).map((b) => ({
            name: b.textContent,
            secondary: b.classList.contains("secondary"),
            background: getComputedStyle(b).backgroundColor,
          })),
        ),
      );
      for (const rowButtons of buttons) {
        const primary = rowButtons.filter((b) => !b.secondary);
        assert.deepEqual(
          primary.map((b) => b.name),
          [words.ja.use],
          "exactly one primary button",
        );
        const secondary = rowButtons.filter((b) => b.secondary);
        assert.deepEqual(
          secondary.map((b) => b.name),
          ["コピー"],
        );
        assert.notEqual(
          secondary[0]?.background,
          primary[0]?.background,
          "the secondary one looks secondary",
        );
      }
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
      // Only what is true without JavaScript: the server makes the list.
      assert.equal(await page.getByText("made in this browser").isVisible(), false);
      assert.match(
        await visibleText(page.locator("#generator-no-script")),
        /JavaScript is off, so the server makes them/,
      );
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
