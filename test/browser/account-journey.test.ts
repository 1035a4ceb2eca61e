import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import {
  actionTimeoutMs,
  desktop,
  errorSummaryLinks,
  horizontalOverflow,
  launchBrowser,
  newContext,
  pagePath as path,
  phone,
  saveScreenshot,
  unlabelledControls,
  visibleText,
} from "../support/browser.ts";
import { english, japanese, type Words } from "../support/page-words.ts";
import { latestCode, type MamoriServer, outboxMessages, startMamori } from "../support/server.ts";

// A long passphrase: strong for zxcvbn, and free of the person's name and email.
const password = "hoshizora no shita de 7 tsubame ga tobu";

type Person = { name: string; email: string };

function newPerson(name: string): Person {
  return { name, email: `shopper-${randomUUID().slice(0, 8)}@example.jp` };
}

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

/** What a shopper reads in an element: it must be visible; whitespace is collapsed. */
async function heading(page: Page): Promise<string> {
  return visibleText(page.locator("h1"));
}

async function pageLanguage(page: Page): Promise<string | null> {
  return page.locator("html").getAttribute("lang");
}

/** The "Login & security" rows as label -> value. */
async function settingsRows(page: Page): Promise<Map<string, string>> {
  const rows = await page.$$eval("dl.settings > div", (divs) =>
    divs.map((div): [string, string] => [
      div.querySelector("dt")?.textContent?.trim() ?? "",
      // The value alone: the row's 編集 link is not part of it.
      ((): string => {
        const value = div.querySelector("dd")?.cloneNode(true);
        if (!(value instanceof Element)) return "";
        value.querySelectorAll("a.edit").forEach((edit) => {
          edit.remove();
        });
        return value.textContent?.trim() ?? "";
      })(),
    ]),
  );
  return new Map(rows);
}

/** Checks a page a shopper reaches: its language, its heading, labelled fields, no sideways scrolling. */
async function checkPage(page: Page, words: Words, title: string): Promise<void> {
  assert.equal(await heading(page), title, `heading on ${path(page)}`);
  assert.equal(await pageLanguage(page), words.lang, `<html lang> on ${path(page)}`);
  assert.deepEqual(await unlabelledControls(page), [], `unlabelled fields on ${path(page)}`);
  assert.equal(await horizontalOverflow(page), 0, `sideways scrolling on ${path(page)}`);
}

async function signOutFromHeader(page: Page, words: Words): Promise<void> {
  await page.locator("header").getByRole("button", { name: words.signOut, exact: true }).click();
  await page.waitForURL((url) => url.pathname === "/sign-in" && url.searchParams.get("signed_out") === "1");
  assert.equal(await visibleText(page.getByRole("status")), words.signedOut);
  await checkPage(page, words, words.signIn.title);
}

/**
 * Sign-up -> confirm the email -> Your account -> Login & security -> signed-in devices -> sign out
 * -> sign in again (a wrong password first) -> Your account -> sign out. `shot` names screenshots.
 */
async function walkAccountJourney(
  page: Page,
  words: Words,
  person: Person,
  shot: (name: string) => string | undefined,
): Promise<void> {
  const screenshot = async (name: string): Promise<void> => {
    const file = shot(name);
    if (file) await saveScreenshot(page, file);
  };

  // Sign up.
  await checkPage(page, words, words.signUp.title);
  await screenshot("sign-up");
  await page.getByLabel(words.signUp.name, { exact: true }).fill(person.name);
  await page.getByLabel(words.signUp.email, { exact: true }).fill(person.email);
  await page.getByLabel(words.signUp.password, { exact: true }).fill(password);
  await page.getByRole("button", { name: words.signUp.submit, exact: true }).click();
  await page.waitForURL((url) => url.pathname === "/sign-up/verify" && url.searchParams.has("registration"));

  // Confirm the email: a wrong code first, then the one from the development outbox.
  await checkPage(page, words, words.verify.title);
  assert.match(await visibleText(page.locator("main")), new RegExp(person.email.replace(/[.]/g, "\\.")));
  const code = await latestCode(server, person.email);
  assert.match(code, /^\d{6}$/);
  const mail = (await outboxMessages(server, person.email))[0];
  assert.equal(mail?.subject, words.verify.mailSubject, "the code mail is in the shopper's language");
  await screenshot("verify-email");
  const wrongCode = `${(Number(code[0]) + 1) % 10}${code.slice(1)}`;
  await page.getByLabel(words.verify.code, { exact: true }).fill(wrongCode);
  await page.getByRole("button", { name: words.verify.submit, exact: true }).click();
  await page.locator("#error-summary").waitFor();
  assert.equal(path(page), "/sign-up/verify");
  assert.deepEqual(await errorSummaryLinks(page), { targets: ["#code"], missing: [] });
  assert.equal(await page.locator("#code").getAttribute("aria-invalid"), "true");
  await page.getByLabel(words.verify.code, { exact: true }).fill(code);
  await page.getByRole("button", { name: words.verify.submit, exact: true }).click();
  await page.waitForURL((url) => url.pathname === "/account/welcome");
  // After registration, the welcome page suggests the next safe step; then Your account.
  await page.goto(new URL("/account", page.url()).href);

  // Signed in: Your account.
  await checkPage(page, words, words.account.title);
  assert.match(await visibleText(page.locator("main")), new RegExp(words.account.hello(person.name)));
  assert.equal(await page.locator("header").getByRole("link", { name: person.name }).count(), 1);
  await screenshot("account");

  // Login & security: the name and email as entered, two-step verification off.
  await page.getByRole("link", { name: new RegExp(`^${words.account.security}`) }).click();
  await page.waitForURL((url) => url.pathname === "/account/security");
  await checkPage(page, words, words.security.title);
  const rows = await settingsRows(page);
  assert.equal(rows.get(words.security.name), person.name);
  assert.equal(rows.get(words.security.email), person.email);
  assert.ok(
    rows.get(words.security.twoStep)?.startsWith(words.security.off),
    `2SV should read "${words.security.off}…", got ${rows.get(words.security.twoStep)}`,
  );
  await screenshot("account-security");

  // Signed-in devices: this browser, and only this one.
  await page.getByRole("link", { name: words.security.manage, exact: true }).click();
  await page.waitForURL((url) => url.pathname === "/account/sessions");
  await checkPage(page, words, words.sessions.title);
  assert.equal(await page.locator("ul.sessions > li").count(), 1);
  assert.equal(await visibleText(page.locator("ul.sessions .tag")), words.sessions.current);
  await screenshot("sessions");

  // Sign out: the session is gone, not only the cookie's page.
  await signOutFromHeader(page, words);
  await page.goto(`${server.url}/account`);
  assert.equal(path(page), "/sign-in?return_to=%2Faccount");
  await checkPage(page, words, words.signIn.title);
  await screenshot("sign-in");

  // Sign in again: a wrong password shows an error summary that links to the field.
  await page.getByLabel(words.signIn.identifier, { exact: true }).fill(person.email);
  await page.getByLabel(words.signIn.password, { exact: true }).fill(`${password} oops`);
  await page.getByRole("button", { name: words.signIn.submit, exact: true }).click();
  const summary = page.locator("#error-summary");
  await summary.waitFor();
  assert.equal(path(page), "/sign-in");
  assert.equal(await summary.getAttribute("role"), "alert");
  assert.equal(await visibleText(summary.locator("h2")), words.errorSummary.title);
  assert.equal(await visibleText(summary.locator("li")), words.errorSummary.invalidCredentials);
  assert.deepEqual(await errorSummaryLinks(page), { targets: ["#password"], missing: [] });
  // mamori.js moves focus to the summary so a screen reader announces it.
  await page.waitForFunction(() => document.activeElement?.id === "error-summary", undefined, {
    timeout: actionTimeoutMs,
  });
  assert.equal(await page.getByLabel(words.signIn.identifier, { exact: true }).inputValue(), person.email);
  assert.equal(await page.getByLabel(words.signIn.password, { exact: true }).inputValue(), "");
  await checkPage(page, words, words.signIn.title);
  await screenshot("sign-in-error");
  await summary.getByRole("link").click();
  await page.waitForFunction(() => document.activeElement?.id === "password", undefined, {
    timeout: actionTimeoutMs,
  });

  await page.getByLabel(words.signIn.password, { exact: true }).fill(password);
  await page.getByRole("button", { name: words.signIn.submit, exact: true }).click();
  await page.waitForURL((url) => url.pathname === "/account");
  await checkPage(page, words, words.account.title);

  await signOutFromHeader(page, words);
}

describe("a shopper's account journey in a real browser", () => {
  test("in Japanese on a phone: sign up, confirm the email, check security and devices, sign out and in", {
    timeout: 90_000,
  }, async () => {
    const context = await newContext(browser, { viewport: phone, isMobile: true, hasTouch: true });
    try {
      const page = await context.newPage();
      await page.goto(`${server.url}/sign-up`);
      const phoneShots = new Set(["sign-up", "sign-in", "account-security", "sign-in-error"]);
      await walkAccountJourney(page, japanese, newPerson("山田 花子"), (name) =>
        phoneShots.has(name) ? `${name}-ja` : undefined,
      );
    } finally {
      await context.close();
    }
  });

  test("in English at desktop width, chosen with the language link on a Japanese browser", {
    timeout: 90_000,
  }, async () => {
    const context = await newContext(browser, { viewport: desktop });
    try {
      const page = await context.newPage();
      await page.goto(`${server.url}/sign-up`);
      await checkPage(page, japanese, japanese.signUp.title);
      await page.getByRole("link", { name: "English", exact: true }).click();
      await page.waitForURL((url) => url.pathname === "/sign-up" && url.search === "");
      await walkAccountJourney(page, english, newPerson("Alice Smith"), (name) => `${name}-en`);

      // The link back to Japanese works as well, and the choice outlives the page.
      await page.getByRole("link", { name: "日本語", exact: true }).click();
      await page.waitForURL((url) => url.pathname === "/sign-in");
      await checkPage(page, japanese, japanese.signIn.title);
      await page.goto(`${server.url}/sign-up`);
      await checkPage(page, japanese, japanese.signUp.title);
    } finally {
      await context.close();
    }
  });

  test("Japanese at desktop width: the sign-in and security pages have room to breathe", {
    timeout: 90_000,
  }, async () => {
    const context = await newContext(browser, { viewport: desktop });
    try {
      const page = await context.newPage();
      await page.goto(`${server.url}/sign-up`);
      await walkAccountJourney(page, japanese, newPerson("佐藤 健太"), (name) =>
        name === "sign-in" || name === "account" ? `${name}-ja-desktop` : undefined,
      );
    } finally {
      await context.close();
    }
  });

  test("without JavaScript, sign-up and the sign-in form still work", { timeout: 90_000 }, async () => {
    const context = await newContext(browser, { viewport: phone, javaScriptEnabled: false });
    try {
      const page = await context.newPage();
      const person = newPerson("鈴木 一郎");
      await page.goto(`${server.url}/sign-up`);
      await page.getByLabel(japanese.signUp.name, { exact: true }).fill(person.name);
      await page.getByLabel(japanese.signUp.email, { exact: true }).fill(person.email);
      await page.getByLabel(japanese.signUp.password, { exact: true }).fill(password);
      await page.getByRole("button", { name: japanese.signUp.submit, exact: true }).click();
      await page.waitForURL((url) => url.pathname === "/sign-up/verify");
      await page
        .getByLabel(japanese.verify.code, { exact: true })
        .fill(await latestCode(server, person.email));
      await page.getByRole("button", { name: japanese.verify.submit, exact: true }).click();
      await page.waitForURL((url) => url.pathname === "/account/welcome");
      // After registration, the welcome page suggests the next safe step; then Your account.
      await page.goto(new URL("/account", page.url()).href);
      await page.locator("header").getByRole("button", { name: japanese.signOut, exact: true }).click();
      await page.waitForURL((url) => url.pathname === "/sign-in");

      // A wrong password: the summary is there without script, but nothing moved the focus.
      await page.getByLabel(japanese.signIn.identifier, { exact: true }).fill(person.email);
      await page.getByLabel(japanese.signIn.password, { exact: true }).fill("not the password");
      await page.getByRole("button", { name: japanese.signIn.submit, exact: true }).click();
      await page.locator("#error-summary").waitFor();
      assert.deepEqual(await errorSummaryLinks(page), { targets: ["#password"], missing: [] });
      assert.notEqual(
        await page.evaluate(() => document.activeElement?.id ?? ""),
        "error-summary",
        "JavaScript should be off in this context",
      );

      await page.getByLabel(japanese.signIn.password, { exact: true }).fill(password);
      await page.getByRole("button", { name: japanese.signIn.submit, exact: true }).click();
      await page.waitForURL((url) => url.pathname === "/account");
      await checkPage(page, japanese, japanese.account.title);
    } finally {
      await context.close();
    }
  });

  test("the language follows Accept-Language, and Japanese is the default", { timeout: 30_000 }, async () => {
    const context = await newContext(browser, { locale: "en-US" });
    try {
      const page = await context.newPage();
      await page.goto(`${server.url}/sign-in`);
      await checkPage(page, english, english.signIn.title);
      // The locale cookie (a person's explicit choice) outranks the browser's language.
      await page.getByRole("link", { name: "日本語", exact: true }).click();
      await page.waitForURL((url) => url.pathname === "/sign-in");
      await checkPage(page, japanese, japanese.signIn.title);
    } finally {
      await context.close();
    }
    const response = await fetch(`${server.url}/sign-in`, { signal: AbortSignal.timeout(5_000) });
    const body = await response.text();
    assert.match(body, /<html lang="ja">/);
    assert.match(body, /<h1>ログイン<\/h1>/);
  });
});
