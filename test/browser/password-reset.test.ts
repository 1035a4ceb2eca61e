import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import {
  actionTimeoutMs,
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
import {
  english,
  englishPassword,
  japanese,
  japanesePassword,
  type PasswordWords,
  type Words,
} from "../support/page-words.ts";
import { type MamoriServer, startMamori } from "../support/server.ts";
import { codeInMail, type SmtpInbox, startSmtpInbox } from "../support/smtp-inbox.ts";

// "Forgot password" and "change password" in Debian's chromium, with mail delivered over SMTP to a
// real SMTP server in this process: the codes are read from the mails, as a shopper would read them.

const password = "hoshizora no shita de 7 tsubame ga tobu";
const newPassword = "yuugure no minato ni 3 kamome ga mau";

type Person = { name: string; email: string };

function newPerson(name: string): Person {
  return { name, email: `reset-${randomUUID().slice(0, 8)}@example.jp` };
}

let inbox: SmtpInbox;
let server: MamoriServer;
let browser: Browser;

before(async () => {
  inbox = await startSmtpInbox();
  server = await startMamori({
    SMTP_URL: inbox.url,
    MAMORI_DEV_OUTBOX: "false",
    MAIL_FROM: "Mamori <no-reply@shop.example.jp>",
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await inbox?.close();
});

function mistype(code: string): string {
  return `${(Number(code[0]) + 1) % 10}${code.slice(1)}`;
}

/** Sign-up with the code from the mail that reached the SMTP server; ends signed in on /account. */
async function signUp(page: Page, words: Words, person: Person): Promise<void> {
  await page.goto(`${server.url}/sign-up`);
  await page.getByLabel(words.signUp.name, { exact: true }).fill(person.name);
  await page.getByLabel(words.signUp.email, { exact: true }).fill(person.email);
  await page.getByLabel(words.signUp.password, { exact: true }).fill(password);
  await button(page, words.signUp.submit).click();
  await page.waitForURL((url) => url.pathname === "/sign-up/verify");
  const mail = await inbox.waitForMail(person.email, words.verify.mailSubject, 0);
  await page.getByLabel(words.verify.code, { exact: true }).fill(codeInMail(mail));
  await button(page, words.verify.submit).click();
  await page.waitForURL((url) => url.pathname === "/account/welcome");
  // After registration, the welcome page suggests the next safe step; then Your account.
  await page.goto(new URL("/account", page.url()).href);
}

async function signIn(page: Page, words: Words, person: Person, secret: string): Promise<void> {
  await page.getByLabel(words.signIn.identifier, { exact: true }).fill(person.email);
  await page.getByLabel(words.signIn.password, { exact: true }).fill(secret);
  await button(page, words.signIn.submit).click();
}

/** Clicks a form's button and returns the status of the page it answers with. */
async function submitForStatus(page: Page, name: string): Promise<number> {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === "POST" && r.request().isNavigationRequest()),
    button(page, name).click(),
  ]);
  await page.waitForLoadState("load");
  return response.status();
}

describe("forgot password and change password in a real browser, mail over SMTP", () => {
  test("in Japanese on a phone: forgot password -> code from the mail -> new password -> sign in", {
    timeout: 120_000,
  }, async () => {
    const w = japanesePassword;
    const context = await newContext(browser, { viewport: phone, isMobile: true, hasTouch: true });
    try {
      const page = await context.newPage();
      const problems = watchPage(page);
      const person = newPerson("山田 花子");
      await signUp(page, japanese, person);
      await page.locator("header").getByRole("button", { name: japanese.signOut, exact: true }).click();
      await page.waitForURL((url) => url.pathname === "/sign-in");

      // "Forgot password?" from the sign-in page.
      await page.getByRole("link", { name: w.forgotLink, exact: true }).click();
      await page.waitForURL((url) => url.pathname === "/password-reset");
      await checkPage(page, "ja", w.request.title);
      await page.getByLabel(w.request.identifier, { exact: true }).fill(person.email);
      await button(page, w.request.submit).click();
      await page.waitForURL((url) => /^\/password-reset\/pwr_[0-9a-z]+$/.test(url.pathname));
      const codePath = new URL(page.url()).pathname;

      // The code page: the same words whether or not the account exists; a code field for phones.
      await checkPage(page, "ja", w.code.title);
      assert.match(await visibleText(page.locator("main")), new RegExp(w.code.sentIfExists));
      const codeField = page.getByLabel(w.code.code, { exact: true });
      // When the code expires is part of the field's description, so a screen reader reads it too.
      assert.equal(await codeField.getAttribute("aria-describedby"), "code-hint");
      assert.match(
        await visibleText(page.locator("#code-hint")),
        /^6桁の数字（有効期限: \d{4}\/\d{1,2}\/\d{1,2} \d{1,2}:\d{2}）$/,
      );
      assert.equal(await codeField.getAttribute("inputmode"), "numeric");
      assert.equal(await codeField.getAttribute("autocomplete"), "one-time-code");
      const mail = await inbox.waitForMail(person.email, w.code.mailSubject, 0);
      const code = codeInMail(mail);
      await saveScreenshot(page, "password-reset-code-ja");

      // Resend at once: the cooldown says how long to wait; the code in the mail still works.
      assert.equal(await submitForStatus(page, w.code.resend), 429);
      assert.match(await visibleText(page.locator("#error-summary")), /1分ほど待ってから/);
      assert.equal(inbox.mailsTo(person.email, w.code.mailSubject).length, 1, "no second code was sent");

      // A wrong code first: the error names the tries left and links to the field.
      await codeField.fill(mistype(code));
      assert.equal(await submitForStatus(page, w.code.submit), 400);
      assert.equal(path(page), codePath);
      assert.equal(await visibleText(page.locator("#error-summary li")), w.code.wrong(4));
      assert.deepEqual(await errorSummaryLinks(page), { targets: ["#code"], missing: [] });
      assert.equal(await codeField.getAttribute("aria-invalid"), "true");
      await page.waitForFunction(() => document.activeElement?.id === "error-summary", undefined, {
        timeout: actionTimeoutMs,
      });
      await codeField.fill(code);
      await button(page, w.code.submit).click();
      await page.waitForURL((url) => url.pathname === `${codePath}/new`);

      // The new password: a too-short one first.
      await checkPage(page, "ja", w.newPassword.title);
      const field = page.getByLabel(w.newPassword.field, { exact: true });
      assert.equal(await field.getAttribute("autocomplete"), "new-password");
      assert.equal(await field.getAttribute("type"), "password");
      await field.fill("tsubame");
      assert.equal(await submitForStatus(page, w.newPassword.submit), 400);
      assert.equal(await visibleText(page.locator("#newPassword-error")), w.newPassword.tooShort);
      assert.deepEqual(await errorSummaryLinks(page), { targets: ["#newPassword"], missing: [] });
      await checkPage(page, "ja", w.newPassword.title);
      await saveScreenshot(page, "password-reset-new-ja");
      await field.fill(newPassword);
      await button(page, w.newPassword.submit).click();

      // The sign-in page says what happened; the owner is mailed.
      await page.waitForURL((url) => url.pathname === "/sign-in" && url.searchParams.get("reset") === "1");
      assert.equal(await visibleText(page.getByRole("status")), w.resetDone);
      await checkPage(page, "ja", japanese.signIn.title);
      await inbox.waitForMail(person.email, w.changedMailSubject, 0);

      // The old password no longer works; the new one does.
      await signIn(page, japanese, person, password);
      await page.locator("#error-summary").waitFor();
      assert.equal(
        await visibleText(page.locator("#error-summary li")),
        japanese.errorSummary.invalidCredentials,
      );
      await signIn(page, japanese, person, newPassword);
      await page.waitForURL((url) => url.pathname === "/account");
      await checkPage(page, "ja", japanese.account.title);
      assert.deepEqual(problems.list(), []);
    } finally {
      await context.close();
    }
  });

  test("in English without JavaScript: the first page and the code page, for an address with no account", {
    timeout: 60_000,
  }, async () => {
    const w: PasswordWords = englishPassword;
    const context = await newContext(browser, {
      locale: "en-US",
      viewport: desktop,
      javaScriptEnabled: false,
    });
    try {
      const page = await context.newPage();
      const stranger = `nobody-${randomUUID().slice(0, 8)}@example.jp`;
      await page.goto(`${server.url}/sign-in`);
      await page.getByRole("link", { name: w.forgotLink, exact: true }).click();
      await page.waitForURL((url) => url.pathname === "/password-reset");
      await checkPage(page, "en", w.request.title);
      await page.getByLabel(w.request.identifier, { exact: true }).fill(stranger);
      await button(page, w.request.submit).click();
      await page.waitForURL((url) => /^\/password-reset\/pwr_[0-9a-z]+$/.test(url.pathname));
      await checkPage(page, "en", w.code.title);
      assert.match(await visibleText(page.locator("main")), new RegExp(w.code.sentIfExists));

      // A stranger's code page behaves like an account's: a wrong code costs one of five tries.
      await page.getByLabel(w.code.code, { exact: true }).fill("123456");
      await button(page, w.code.submit).click();
      await page.locator("#error-summary").waitFor();
      assert.equal(await visibleText(page.locator("#error-summary li")), w.code.wrong(4));
      assert.deepEqual(inbox.mailsTo(stranger), [], "no mail goes to an address without an account");

      // The language link keeps the person on the same step.
      const codePath = new URL(page.url()).pathname;
      await page.getByRole("link", { name: "日本語", exact: true }).click();
      await page.waitForURL((url) => url.pathname === codePath);
      await checkPage(page, "ja", japanesePassword.code.title);
    } finally {
      await context.close();
    }
  });

  test("change password from Login & security: a wrong current password, then the other browser is signed out", {
    timeout: 120_000,
  }, async () => {
    const w = japanesePassword;
    const mine = await newContext(browser, { viewport: desktop });
    const other = await newContext(browser, { viewport: phone, isMobile: true, hasTouch: true });
    try {
      const page = await mine.newPage();
      const problems = watchPage(page);
      const person = newPerson("佐藤 健太");
      await signUp(page, japanese, person);
      const otherPage = await other.newPage();
      await otherPage.goto(`${server.url}/sign-in`);
      await signIn(otherPage, japanese, person, password);
      await otherPage.waitForURL((url) => url.pathname === "/account");

      await page.goto(`${server.url}/account/security`);
      await page.getByRole("link", { name: w.change.edit, exact: true }).click();
      await page.waitForURL((url) => url.pathname === "/account/security/password");
      await checkPage(page, "ja", w.change.title);
      assert.equal(
        await page.getByLabel(w.change.current, { exact: true }).getAttribute("autocomplete"),
        "current-password",
      );
      assert.equal(
        await page.getByLabel(w.change.field, { exact: true }).getAttribute("autocomplete"),
        "new-password",
      );

      await page.getByLabel(w.change.current, { exact: true }).fill(`${password} oops`);
      await page.getByLabel(w.change.field, { exact: true }).fill(newPassword);
      assert.equal(await submitForStatus(page, w.change.submit), 401);
      assert.equal(await visibleText(page.locator("#error-summary li")), w.change.wrongCurrent);
      assert.deepEqual(await errorSummaryLinks(page), { targets: ["#currentPassword"], missing: [] });
      assert.equal(await page.getByLabel(w.change.current, { exact: true }).inputValue(), "");

      await page.getByLabel(w.change.current, { exact: true }).fill(password);
      await page.getByLabel(w.change.field, { exact: true }).fill(newPassword);
      await button(page, w.change.submit).click();
      await page.waitForURL((url) => url.pathname === "/account/security" && url.search === "?done=password");
      assert.equal(await visibleText(page.getByRole("status")), w.change.done);
      await checkPage(page, "ja", japanese.security.title);
      await inbox.waitForMail(person.email, w.changedMailSubject, 0);

      // The other browser's session ended; this one goes on.
      await otherPage.goto(`${server.url}/account`);
      assert.equal(path(otherPage), "/sign-in?return_to=%2Faccount");
      await signIn(otherPage, japanese, person, newPassword);
      await otherPage.waitForURL((url) => url.pathname === "/account");
      await page.goto(`${server.url}/account`);
      await checkPage(page, "ja", japanese.account.title);
      assert.deepEqual(problems.list(), []);
    } finally {
      await other.close();
      await mine.close();
    }
  });

  test("the English change-password page has its own words", { timeout: 60_000 }, async () => {
    const context = await newContext(browser, { locale: "en-US", viewport: phone });
    try {
      const page = await context.newPage();
      await signUp(page, english, newPerson("Alice Smith"));
      await page.goto(`${server.url}/account/security`);
      await page.getByRole("link", { name: englishPassword.change.edit, exact: true }).click();
      await page.waitForURL((url) => url.pathname === "/account/security/password");
      await checkPage(page, "en", englishPassword.change.title);
    } finally {
      await context.close();
    }
  });
});
