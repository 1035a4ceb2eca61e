import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { actionTimeoutMs, desktop, launchBrowser, newContext, phone, watchPage } from "../support/browser.ts";
import { latestCode, type MamoriServer, startMamori } from "../support/server.ts";

// The live strength meter under every new-password field, in Debian's chromium: mamori.js asks
// POST /api/v1/passwords/strength after a pause in typing and shows the answer in the page's
// language. The words are written out here (not imported from src/i18n), so a page that says the
// wrong thing fails.

const weak = "password";
const strong = "hoshizora no shita de 7 tsubame ga tobu";

const words = {
  ja: {
    veryWeak: "とても弱い",
    refused: "このパスワードは使えません",
    veryStrong: "とても強い",
    instant: "破られるまでの目安: 1秒未満",
    centuries: "破られるまでの目安: 数世紀",
    common: "このパスワードはよく使われているか、流出したことがあるため使えません。",
    aboutYou: "パスワードに氏名やEメールアドレスを含めないでください。",
  },
  en: {
    veryWeak: "Very weak",
    refused: "This password can't be used",
    veryStrong: "Very strong",
    instant: "Time to crack, roughly: less than a second",
    centuries: "Time to crack, roughly: centuries",
    common: "This password is too common or has appeared in a data breach. Choose another.",
    aboutYou: "Don't include your name or email address in your password.",
  },
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

type MeterReading = { label: string; lines: string[]; barClass: string | null; barHidden: boolean };

async function readMeter(page: Page, field: string): Promise<MeterReading> {
  return page.$eval(`#${field}-strength`, (meter) => {
    const bar = meter.querySelector(".strength-bar");
    return {
      label: meter.querySelector(".strength-label")?.textContent ?? "",
      lines: Array.from(meter.querySelectorAll(".strength-text p")).map((p) => p.textContent ?? ""),
      barClass: bar?.getAttribute("class") ?? null,
      barHidden: bar instanceof HTMLElement ? bar.hidden : true,
    };
  });
}

/** Types like a person (one key at a time) and waits, bounded, for the meter to show `label`. */
async function typeAndRead(
  page: Page,
  field: string,
  password: string,
  label: string,
): Promise<MeterReading> {
  // Emptied first, the meter clears at once: the label waited for below is the new answer's.
  await page.locator(`#${field}`).fill("");
  assert.deepEqual((await readMeter(page, field)).lines, []);
  await page.locator(`#${field}`).pressSequentially(password, { delay: 15 });
  await page.waitForFunction(
    ([id, expected]) => document.querySelector(`#${id}-strength .strength-label`)?.textContent === expected,
    [field, label] as const,
    { timeout: actionTimeoutMs },
  );
  return readMeter(page, field);
}

/** Strength requests the page sends, counted as they leave. */
function countStrengthRequests(page: Page): { count(): number } {
  let count = 0;
  page.on("request", (request) => {
    if (new URL(request.url()).pathname === "/api/v1/passwords/strength") count++;
  });
  return { count: () => count };
}

async function noInlineStyles(page: Page): Promise<string[]> {
  return page.$$eval("[style]", (elements) => elements.map((e) => e.tagName.toLowerCase()));
}

describe("the password strength meter in a real browser", () => {
  test("in Japanese on sign-up: weak, then strong, then a password with the typed email in it", {
    timeout: 60_000,
  }, async () => {
    const context = await newContext(browser, { viewport: phone, isMobile: true, hasTouch: true });
    try {
      const page = await context.newPage();
      const problems = watchPage(page);
      const requests = countStrengthRequests(page);
      await page.goto(`${server.url}/sign-up`);
      assert.equal(await page.locator("html").getAttribute("lang"), "ja");
      const live = page.locator("#password-strength .strength-text");
      assert.equal(await live.getAttribute("aria-live"), "polite");
      assert.deepEqual((await readMeter(page, "password")).lines, [], "empty before typing");

      // "password" is refused (too common): refused, not merely weak.
      const weakReading = await typeAndRead(page, "password", weak, words.ja.refused);
      assert.equal(weakReading.barClass, "strength-bar strength-0");
      assert.equal(weakReading.barHidden, false);
      assert.equal(weakReading.lines[1], words.ja.instant);
      assert.equal(weakReading.lines[2], words.ja.common, "what the server would refuse comes first");
      // Typing eight keys 15 ms apart is one pause: one question, not one per key.
      assert.equal(requests.count(), 1, "the meter waits for a pause in typing");

      const strongReading = await typeAndRead(page, "password", strong, words.ja.veryStrong);
      assert.equal(strongReading.barClass, "strength-bar strength-4");
      assert.deepEqual(strongReading.lines, [words.ja.veryStrong, words.ja.centuries]);

      // The name and email typed above the password count as the person's words.
      await page.locator("#name").fill("山田 花子");
      await page.locator("#email").fill("hanako.yamada@example.jp");
      // zxcvbn scores it 4, but the policy refuses it: never shown as strong.
      const aboutYou = await typeAndRead(page, "password", "hanako.yamada-Kumo-7381", words.ja.refused);
      assert.equal(aboutYou.barClass, "strength-bar strength-0");
      await page.waitForFunction(
        (expected) =>
          document.querySelector("#password-strength .strength-text")?.textContent?.includes(expected),
        words.ja.aboutYou,
        { timeout: actionTimeoutMs },
      );
      assert.ok(aboutYou.label.length > 0);

      // Emptied, the meter says nothing again.
      await page.locator("#password").fill("");
      await page.waitForFunction(
        () => !document.querySelector("#password-strength .strength-label"),
        undefined,
        {
          timeout: actionTimeoutMs,
        },
      );
      assert.equal((await readMeter(page, "password")).barHidden, true);
      assert.deepEqual(await noInlineStyles(page), []);
      assert.deepEqual(problems.list(), []);
    } finally {
      await context.close();
    }
  });

  test("in English: the labels, crack time and advice are English", { timeout: 60_000 }, async () => {
    const context = await newContext(browser, { locale: "en-US", viewport: desktop });
    try {
      const page = await context.newPage();
      const problems = watchPage(page);
      await page.goto(`${server.url}/sign-up`);
      assert.equal(await page.locator("html").getAttribute("lang"), "en");
      const weakReading = await typeAndRead(page, "password", weak, words.en.refused);
      assert.deepEqual(weakReading.lines.slice(1, 3), [words.en.instant, words.en.common]);
      for (const line of weakReading.lines)
        assert.doesNotMatch(line, /[ぁ-んァ-ヶ一-龯]/, `Japanese: ${line}`);
      const strongReading = await typeAndRead(page, "password", strong, words.en.veryStrong);
      assert.deepEqual(strongReading.lines, [words.en.veryStrong, words.en.centuries]);
      assert.deepEqual(problems.list(), []);
    } finally {
      await context.close();
    }
  });

  test("change password has the meter too, with the signed-in person's name and email as their words", {
    timeout: 90_000,
  }, async () => {
    const context = await newContext(browser, { viewport: desktop });
    try {
      const page = await context.newPage();
      const problems = watchPage(page);
      const email = `meter-${randomUUID().slice(0, 8)}@example.jp`;
      await page.goto(`${server.url}/sign-up`);
      await page.locator("#name").fill("鈴木 一郎");
      await page.locator("#email").fill(email);
      await page.locator("#password").fill(strong);
      await page.locator("form[action='/sign-up'] button[type=submit]").click();
      await page.waitForURL((url) => url.pathname === "/sign-up/verify");
      await page.locator("#code").fill(await latestCode(server, email));
      await page.locator("form[action='/sign-up/verify'] button").click();
      // A new account lands on the welcome page, which suggests the next safe step.
      await page.waitForURL((url) => url.pathname === "/account/welcome");

      await page.goto(`${server.url}/account/security/password`);
      assert.equal(await page.locator("#currentPassword").getAttribute("data-strength"), null);
      await typeAndRead(page, "newPassword", `${email.split("@")[0]}-Kumo-7381`, words.ja.refused);
      await page.waitForFunction(
        (expected) => document.querySelector("#newPassword-strength")?.textContent?.includes(expected),
        words.ja.aboutYou,
        { timeout: actionTimeoutMs },
      );
      assert.deepEqual(problems.list(), []);
    } finally {
      await context.close();
    }
  });

  test("without JavaScript the sign-up page is unchanged and still works", { timeout: 60_000 }, async () => {
    const context = await newContext(browser, { viewport: phone, javaScriptEnabled: false });
    try {
      const page = await context.newPage();
      const requests = countStrengthRequests(page);
      await page.goto(`${server.url}/sign-up`);
      await page.locator("#name").fill("高橋 さくら");
      await page.locator("#email").fill(`nojs-${randomUUID().slice(0, 8)}@example.jp`);
      await page.locator("#password").fill(weak);
      const meter = await readMeter(page, "password");
      assert.deepEqual(meter.lines, []);
      assert.equal(meter.barHidden, true);
      const box = await page.locator("#password-strength").boundingBox();
      assert.equal(box?.height ?? 0, 0, "the empty meter takes no room");

      // The server still enforces the policy on submit, then takes a good password.
      await page.locator("form[action='/sign-up'] button[type=submit]").click();
      await page.locator("#error-summary").waitFor();
      assert.match((await page.locator("#error-summary").textContent()) ?? "", new RegExp(words.ja.common));
      await page.locator("#password").fill(strong);
      await page.locator("form[action='/sign-up'] button[type=submit]").click();
      await page.waitForURL((url) => url.pathname === "/sign-up/verify");
      assert.equal(requests.count(), 0);
    } finally {
      await context.close();
    }
  });
});
