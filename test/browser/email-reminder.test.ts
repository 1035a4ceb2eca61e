import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import {
  mainButton as button,
  checkPage,
  desktop,
  errorSummaryLinks,
  launchBrowser,
  newContext,
  pagePath as path,
  phone,
  saveScreenshot,
  visibleText,
  watchPage,
} from "../support/browser.ts";
import { englishReminder, japanesePassword, japaneseReminder } from "../support/page-words.ts";
import { latestCode, type MamoriServer, outboxMessages, startMamori } from "../support/server.ts";
import { giveVerifiedPhone, registerOnServer } from "../support/server-accounts.ts";

// "Forgot your email?" in Debian's chromium: the number, the code from the SMS (read from the
// development outbox, where the server's SMS transport puts it), the masked email, then the
// password reset with the number filled in.

const mobileNumber = "090-1234-5678";

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

/** Clicks a form's button and returns the status of the page it answers with. */
async function submitForStatus(page: Page, name: string): Promise<number> {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === "POST" && r.request().isNavigationRequest()),
    button(page, name).click(),
  ]);
  await page.waitForLoadState("load");
  return response.status();
}

const codePagePattern = /^\/email-reminder\/emr_[0-9a-z]+$/;

describe("forgot your email in a real browser", () => {
  test("in Japanese on a phone: sign-in -> number -> SMS code (a wrong one first) -> masked email -> reset", {
    timeout: 120_000,
  }, async () => {
    const w = japaneseReminder;
    const email = `kaori-${randomUUID().slice(0, 8)}@example.jp`;
    const password = "hoshizora no shita de 7 tsubame ga tobu";
    await registerOnServer(server, { name: "鈴木 かおり", email, password, locale: "ja" });
    await giveVerifiedPhone(server, email, mobileNumber);

    const context = await newContext(browser, { viewport: phone, isMobile: true, hasTouch: true });
    try {
      const page = await context.newPage();
      const problems = watchPage(page);
      await page.goto(`${server.url}/sign-in`);
      await page.getByRole("link", { name: w.forgotLink, exact: true }).click();
      await page.waitForURL((url) => url.pathname === "/email-reminder");
      await checkPage(page, "ja", w.request.title);
      const phoneField = page.getByLabel(w.request.phone, { exact: true });
      // A phone keypad, and the browser may offer the number it knows.
      assert.equal(await phoneField.getAttribute("type"), "tel");
      assert.equal(await phoneField.getAttribute("autocomplete"), "tel");
      assert.equal(await phoneField.getAttribute("inputmode"), "tel");
      assert.equal(await phoneField.getAttribute("aria-describedby"), "phone-hint");
      await phoneField.fill(mobileNumber);
      await button(page, w.request.submit).click();
      await page.waitForURL((url) => codePagePattern.test(url.pathname));
      const codePath = new URL(page.url()).pathname;

      await checkPage(page, "ja", w.code.title);
      assert.ok((await visibleText(page.locator("main"))).includes(w.code.sentIfRegistered));
      const codeField = page.getByLabel(w.code.code, { exact: true });
      assert.equal(await codeField.getAttribute("inputmode"), "numeric");
      assert.equal(await codeField.getAttribute("autocomplete"), "one-time-code");
      const code = await latestCode(server, mobileNumber);
      const sms = await outboxMessages(server, mobileNumber);
      assert.deepEqual(
        sms.map((m) => m.channel),
        ["sms"],
        "one text message, nothing by email",
      );

      // Resend at once: the cooldown says how long to wait; no second SMS.
      assert.equal(await submitForStatus(page, w.code.resend), 429);
      assert.match(await visibleText(page.locator("#error-summary")), /1分ほど待ってから/);
      assert.equal((await outboxMessages(server, mobileNumber)).length, 1);

      // A wrong code first: the error names the tries left and links to the field.
      await codeField.fill(`${(Number(code[0]) + 1) % 10}${code.slice(1)}`);
      assert.equal(await submitForStatus(page, w.code.submit), 400);
      assert.equal(path(page), codePath);
      assert.equal(await visibleText(page.locator("#error-summary li")), w.code.wrong(4));
      assert.deepEqual(await errorSummaryLinks(page), { targets: ["#code"], missing: [] });
      assert.equal(await codeField.getAttribute("aria-invalid"), "true");

      // The right code: the email, masked, and the two ways on.
      await codeField.fill(code);
      assert.equal(await submitForStatus(page, w.code.submit), 200);
      await checkPage(page, "ja", w.result.title);
      const masked = `${email[0]}***@example.jp`;
      assert.equal(await visibleText(page.locator("main p.result")), w.result.sentence(masked));
      assert.ok(!(await visibleText(page.locator("main"))).includes(email), "never the whole address");
      const signIn = page.locator("main").getByRole("link", { name: w.result.signIn, exact: true });
      assert.equal(await signIn.getAttribute("href"), "/sign-in");
      await saveScreenshot(page, "email-reminder-ja");

      await page.locator("main").getByRole("link", { name: w.result.resetPassword, exact: true }).click();
      await page.waitForURL((url) => url.pathname === "/password-reset");
      await checkPage(page, "ja", japanesePassword.request.title);
      assert.equal(
        await page.getByLabel(japanesePassword.request.identifier, { exact: true }).inputValue(),
        mobileNumber,
      );
      assert.deepEqual(problems.list(), []);
    } finally {
      await context.close();
    }
  });

  test("in English without JavaScript: the number and the code page, for a number with no account", {
    timeout: 60_000,
  }, async () => {
    const w = englishReminder;
    const stranger = "080-9876-5432";
    const context = await newContext(browser, {
      locale: "en-US",
      viewport: desktop,
      javaScriptEnabled: false,
    });
    try {
      const page = await context.newPage();
      const problems = watchPage(page);
      await page.goto(`${server.url}/sign-in`);
      await page.getByRole("link", { name: w.forgotLink, exact: true }).click();
      await page.waitForURL((url) => url.pathname === "/email-reminder");
      await checkPage(page, "en", w.request.title);
      await page.getByLabel(w.request.phone, { exact: true }).fill(stranger);
      await button(page, w.request.submit).click();
      await page.waitForURL((url) => codePagePattern.test(url.pathname));
      await checkPage(page, "en", w.code.title);
      assert.ok((await visibleText(page.locator("main"))).includes(w.code.sentIfRegistered));

      // The same as for an account's number: a wrong code costs one of five tries; nothing was sent.
      await page.getByLabel(w.code.code, { exact: true }).fill("123456");
      assert.equal(await submitForStatus(page, w.code.submit), 400);
      assert.equal(await visibleText(page.locator("#error-summary li")), w.code.wrong(4));
      assert.deepEqual(await outboxMessages(server, stranger), [], "no SMS to a number without an account");
      assert.deepEqual(problems.list(), []);
    } finally {
      await context.close();
    }
  });
});
