import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import {
  actionTimeoutMs,
  launchBrowser,
  newContext,
  type PageProblems,
  watchPage,
} from "../support/browser.ts";
import { latestCode, type MamoriServer, startMamori } from "../support/server.ts";
import { giveVerifiedPhone, randomMobileNumber } from "../support/server-accounts.ts";
import { authenticatorApp } from "../support/two-step-browser.ts";

// Every page must load under the strict CSP (no inline script or style, nothing from elsewhere)
// without a single console error, warning or uncaught exception, in both languages.

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

/**
 * Problems the page's HTML has under a strict CSP, even where the browser would only block them
 * silently: inline or foreign scripts, inline event handlers, javascript: URLs, inline styles.
 */
async function inlineCodeProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const problems: string[] = [];
    for (const script of Array.from(document.querySelectorAll("script"))) {
      if (!script.src) problems.push(`inline <script>: ${script.textContent?.slice(0, 80)}`);
      else if (new URL(script.src).origin !== location.origin) problems.push(`foreign script ${script.src}`);
    }
    for (const element of Array.from(document.querySelectorAll("*"))) {
      for (const attribute of Array.from(element.attributes)) {
        if (/^on/i.test(attribute.name))
          problems.push(`inline handler ${attribute.name} on <${element.tagName}>`);
        if (attribute.name === "style") problems.push(`style attribute on <${element.tagName}>`);
        if (/^\s*javascript:/i.test(attribute.value))
          problems.push(`javascript: URL on <${element.tagName}>`);
      }
    }
    if (document.querySelector("style")) problems.push("inline <style> element");
    return problems;
  });
}

type Visit = { path: string; status: number };

/**
 * Records every page (document) the browser loads, and checks that it came with the strict policy:
 * a page without its CSP header would pass the console checks while being unprotected.
 */
function watchDocuments(page: Page, problems: string[]): Visit[] {
  const visits: Visit[] = [];
  page.on("response", (response) => {
    if (
      response.request().resourceType() !== "document" ||
      (response.status() >= 300 && response.status() < 400)
    )
      return;
    const url = new URL(response.url());
    visits.push({ path: `${url.pathname}${url.search}`, status: response.status() });
    const policy = response.headers()["content-security-policy"] ?? "";
    if (
      !/script-src 'self'(;|$)/.test(policy) ||
      !/default-src 'none'/.test(policy) ||
      /unsafe-/.test(policy)
    ) {
      problems.push(`${url.pathname} answered without the strict CSP: "${policy}"`);
    }
  });
  return visits;
}

type Watched = {
  page: Page;
  context: BrowserContext;
  problems: PageProblems;
  extra: string[];
  visits: Visit[];
};

async function openWatchedPage(locale: string): Promise<Watched> {
  const context = await newContext(browser, { locale });
  const page = await context.newPage();
  const problems = watchPage(page);
  const extra: string[] = [];
  const visits = watchDocuments(page, extra);
  return { page, context, problems, extra, visits };
}

/** After each page: its own HTML is free of inline code; the console stays clean overall. */
async function checkCurrentPage(watched: Watched): Promise<void> {
  await watched.page.waitForLoadState("load");
  for (const problem of await inlineCodeProblems(watched.page)) {
    watched.extra.push(`${new URL(watched.page.url()).pathname}: ${problem}`);
  }
}

async function visit(watched: Watched, path: string): Promise<void> {
  await watched.page.goto(`${server.url}${path}`);
  await checkCurrentPage(watched);
}

/** Every page a shopper can reach today, reached the way a shopper reaches it. */
async function visitEveryPage(watched: Watched): Promise<void> {
  const { page } = watched;
  const email = `csp-${randomUUID().slice(0, 8)}@example.jp`;
  const password = "hoshizora no shita de 7 tsubame ga tobu";
  await visit(watched, "/");
  await visit(watched, "/sign-in");
  await visit(watched, "/help/sign-in");
  await visit(watched, "/no-such-page");
  await visit(watched, "/sign-up");

  // A form answered with errors (the error summary), then a good one.
  await page.locator("#name").fill("テスト 太郎");
  await page.locator("#email").fill("not-an-email");
  await page.locator("button[type=submit]").click();
  await page.locator("#error-summary").waitFor();
  await checkCurrentPage(watched);
  await page.locator("#email").fill(email);
  await page.locator("#password").fill(password);
  await page.locator("button[type=submit]").first().click();
  await page.waitForURL((url) => url.pathname === "/sign-up/verify");
  await checkCurrentPage(watched);
  await visit(watched, `/dev/outbox?to=${encodeURIComponent(email)}`);
  await page.goBack();
  const registrationCode = await latestCode(server, email);
  await page.locator("#code").fill(registrationCode);
  await page.locator("form[action='/sign-up/verify'] button:not(.password-toggle)").click();
  await page.waitForURL((url) => url.pathname === "/account/welcome");
  // After registration, the welcome page suggests the next safe step; then Your account.
  await page.goto(new URL("/account", page.url()).href);
  await checkCurrentPage(watched);

  await visit(watched, "/account/security");
  await visit(watched, "/account/security/password");
  await visit(watched, "/account/sessions");
  // Sign-in activity, and the question "this wasn't me" asks first; cancelled, so still signed in.
  await visit(watched, "/account/security/activity");
  await page
    .locator("main form[action='/account/security/not-me'] button:not(.password-toggle)")
    .last()
    .click();
  await page.waitForURL((url) => url.pathname === "/account/security/not-me");
  await checkCurrentPage(watched);
  await page.locator("main a[href='/account/security/activity']").click();
  await page.waitForURL((url) => url.pathname === "/account/security/activity");
  await page.locator("form[action='/sign-out'] button:not(.password-toggle)").click();
  await page.waitForURL((url) => url.pathname === "/sign-in" && url.search === "?signed_out=1");
  await checkCurrentPage(watched);

  // Forgot password: the code page with a wrong code (the error summary), then the new-password page.
  await page.locator("a[href='/password-reset']").click();
  await page.waitForURL((url) => url.pathname === "/password-reset");
  await checkCurrentPage(watched);
  await page.locator("#identifier").fill(email);
  await page.locator("form[action='/password-reset'] button:not(.password-toggle)").click();
  await page.waitForURL((url) => /^\/password-reset\/pwr_/.test(url.pathname));
  await checkCurrentPage(watched);
  const resetCode = await latestCode(server, email, { after: registrationCode });
  await page.locator("#code").fill(`${(Number(resetCode[0]) + 1) % 10}${resetCode.slice(1)}`);
  await page.locator("button[type=submit]").first().click();
  await page.locator("#error-summary").waitFor();
  await checkCurrentPage(watched);
  await page.locator("#code").fill(resetCode);
  await page.locator("button[type=submit]").first().click();
  await page.waitForURL((url) => url.pathname.endsWith("/new"));
  await checkCurrentPage(watched);

  // Forgot email: the number, a wrong SMS code (the error summary), then the masked email.
  const mobileNumber = randomMobileNumber();
  await giveVerifiedPhone(server, email, mobileNumber);
  await visit(watched, "/sign-in");
  await page.locator("a[href='/email-reminder']").click();
  await page.waitForURL((url) => url.pathname === "/email-reminder");
  await checkCurrentPage(watched);
  await page.locator("#phone").fill(mobileNumber);
  await page.locator("form[action='/email-reminder'] button:not(.password-toggle)").click();
  await page.waitForURL((url) => /^\/email-reminder\/emr_/.test(url.pathname));
  await checkCurrentPage(watched);
  const smsCode = await latestCode(server, mobileNumber);
  await page.locator("#code").fill(`${(Number(smsCode[0]) + 1) % 10}${smsCode.slice(1)}`);
  await page.locator("button[type=submit]").first().click();
  await page.locator("#error-summary").waitFor();
  await checkCurrentPage(watched);
  await page.locator("#code").fill(smsCode);
  await page.locator("button[type=submit]").first().click();
  await page.locator(".masked-email").waitFor();
  await checkCurrentPage(watched);
  await visit(watched, "/sign-in");

  // A wrong password (401 with the error summary), then the right one.
  await page.locator("#identifier").fill(email);
  await page.locator("#password").fill("not the password");
  await page.locator("form[action='/sign-in'] button:not(.password-toggle)").click();
  await page.locator("#error-summary").waitFor();
  await checkCurrentPage(watched);
  await page.locator("#password").fill(password);
  await page.locator("form[action='/sign-in'] button:not(.password-toggle)").click();
  await page.waitForURL((url) => url.pathname === "/account");
  await checkCurrentPage(watched);
  await visitTwoStepPages(watched, email, password);
}

/** Two-step verification: set-up (an error, the app's QR code), turning on, settings, the challenge. */
async function visitTwoStepPages(watched: Watched, email: string, password: string): Promise<void> {
  const { page } = watched;
  const two = "/account/security/two-step";
  await visit(watched, two);
  await page.locator(`a[href='${two}/setup']`).click();
  await page.waitForURL((url) => url.pathname === `${two}/setup`);
  await checkCurrentPage(watched);
  await page.locator("#method-sms").check();
  await page.locator("#phone").fill("050-3123-4567");
  await page.locator(`form[action='${two}/setup'] button`).click();
  await page.locator("#error-summary").waitFor();
  await checkCurrentPage(watched);
  await page.locator("#method-totp").check();
  await page.locator(`form[action='${two}/setup'] button`).click();
  await page.locator(".qr img").waitFor();
  await checkCurrentPage(watched);
  const key = (await page.locator("#totp-key").textContent()) ?? "";
  await page.locator("#code").fill(await authenticatorApp(key.replace(/ /g, "")).code());
  await page
    .locator("form[action^='/account/security/two-step/methods/'] button:not(.password-toggle)")
    .click();
  await page.waitForURL((url) => url.pathname === `${two}/enable`);
  await checkCurrentPage(watched);
  await page.locator(`form[action='${two}/enable'] button`).click();
  await page.locator("ol.recovery-codes").waitFor();
  await checkCurrentPage(watched);
  const recoveryCode = ((await page.locator("ol.recovery-codes li").first().textContent()) ?? "").trim();
  for (const path of [
    two,
    `${two}/backup`,
    `${two}/recovery-codes`,
    `${two}/disable`,
    `/account/security/reauthenticate?return_to=${encodeURIComponent(two)}`,
    `/account/security/step-up?return_to=${encodeURIComponent(two)}`,
    "/account/security",
  ]) {
    await visit(watched, path);
  }

  // Signing in now asks for the second step: a wrong code (the error summary), then a recovery code.
  await page.locator("form[action='/sign-out'] button:not(.password-toggle)").click();
  await page.waitForURL((url) => url.pathname === "/sign-in");
  await page.locator("#identifier").fill(email);
  await page.locator("#password").fill(password);
  await page.locator("form[action='/sign-in'] button:not(.password-toggle)").click();
  await page.waitForURL((url) => url.pathname.startsWith("/sign-in/two-step/"));
  await checkCurrentPage(watched);
  await page.locator("#code").fill("000000");
  await page.locator("main form button[type=submit]").first().click();
  await page.locator("#error-summary").waitFor();
  await checkCurrentPage(watched);
  await page.locator("a[href*='use=recovery']").click();
  await page.waitForURL((url) => url.searchParams.get("use") === "recovery");
  await checkCurrentPage(watched);
  await page.locator("#code").fill(recoveryCode);
  await page.locator("main form button[type=submit]").first().click();
  await page.waitForURL((url) => url.pathname === "/account");
  await checkCurrentPage(watched);
}

describe("content security policy in a real browser", () => {
  for (const locale of ["ja-JP", "en-US"]) {
    test(`no CSP violation, console error or inline script on any page (${locale})`, {
      timeout: 120_000,
    }, async () => {
      const watched = await openWatchedPage(locale);
      try {
        await visitEveryPage(watched);
        const paths = watched.visits.map((v) => v.path);
        for (const path of [
          "/sign-in",
          "/help/sign-in",
          "/no-such-page",
          "/sign-up",
          "/sign-up/verify",
          "/password-reset/pwr_",
          "/email-reminder/emr_",
          "/account/security/reauthenticate?return_to=",
          "/account/security/step-up?return_to=",
          "/sign-in/two-step/sif_",
        ]) {
          assert.ok(
            paths.some((p) => p.startsWith(path)),
            `${path} was not visited: ${paths.join(", ")}`,
          );
        }
        for (const path of [
          "/account",
          "/account/security",
          "/account/security/password",
          "/account/sessions",
          "/account/security/activity",
          "/account/security/not-me",
          "/password-reset",
          "/email-reminder",
          "/account/security/two-step",
          "/account/security/two-step/setup",
          "/account/security/two-step/enable",
          "/account/security/two-step/backup",
          "/account/security/two-step/recovery-codes",
          "/account/security/two-step/disable",
        ]) {
          assert.ok(paths.includes(path), `${path} was not visited: ${paths.join(", ")}`);
        }
        assert.deepEqual([...watched.extra, ...watched.problems.list()], []);
      } finally {
        await watched.context.close();
      }
    });
  }

  // Shows that the checks above can fail: an inline script slipped into a page is blocked by the
  // CSP, and the watcher reports the violation.
  test("an inline script injected into a page is blocked and reported", { timeout: 30_000 }, async () => {
    const watched = await openWatchedPage("ja-JP");
    try {
      await visit(watched, "/sign-in");
      const ran = await watched.page.evaluate(() => {
        const script = document.createElement("script");
        script.textContent = "document.body.dataset.injected = 'ran';";
        document.body.append(script);
        return document.body.dataset.injected === "ran";
      });
      assert.equal(ran, false, "the CSP should have stopped the inline script");
      await watched.page.waitForFunction(() => document.querySelectorAll("script:not([src])").length === 1);
      const deadline = Date.now() + actionTimeoutMs;
      while (!watched.problems.list().some((p) => p.includes("CSP violation")) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.ok(
        watched.problems.list().some((p) => p.includes("CSP violation: script-src")),
        `no CSP violation reported: ${watched.problems.list().join("; ")}`,
      );
      assert.ok((await inlineCodeProblems(watched.page)).some((p) => p.startsWith("inline <script>")));
    } finally {
      await watched.context.close();
    }
  });
});
