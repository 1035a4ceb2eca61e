import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  chromium,
  type Locator,
  type Page,
} from "playwright-core";

/**
 * Debian's chromium driven by playwright-core (no downloaded browsers), headless, with everything
 * that would reach beyond loopback turned off.
 */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.MAMORI_CHROMIUM ?? "/usr/bin/chromium",
    timeout: 30_000,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  });
}

export const phone = { width: 390, height: 844 } as const;
export const desktop = { width: 1280, height: 800 } as const;

/** Bound for every Playwright action and wait in these tests. */
export const actionTimeoutMs = 10_000;

/**
 * A fresh context (own cookies) for one test: a shopper in Japan with a Japanese browser unless the
 * options say otherwise. Actions and navigations are bounded.
 */
export async function newContext(
  browser: Browser,
  options: BrowserContextOptions = {},
): Promise<BrowserContext> {
  const context = await browser.newContext({
    locale: "ja-JP",
    timezoneId: "Asia/Tokyo",
    viewport: desktop,
    ...options,
  });
  context.setDefaultTimeout(actionTimeoutMs);
  context.setDefaultNavigationTimeout(actionTimeoutMs);
  // Report every Content-Security-Policy violation to the console, where PageProblems sees it.
  // Added through the DevTools protocol, this script is not itself subject to the page's CSP.
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (event) => {
      console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}`);
    });
  });
  return context;
}

/** Everything that went wrong in a page: console errors and warnings, uncaught errors, failed requests. */
export type PageProblems = { list(): string[] };

const failedLoadPattern = /^Failed to load resource: the server responded with a status of (\d{3})/;

export function watchPage(page: Page): PageProblems {
  const problems: { text: string; resourceUrl: string }[] = [];
  // Pages answered on purpose with an error status (404 page, 401 wrong password): Chromium logs
  // each as "Failed to load resource", which is expected for that document and nothing else.
  const errorDocuments = new Set<string>();
  page.on("response", (response) => {
    const request = response.request();
    if (request.isNavigationRequest() && request.frame() === page.mainFrame() && response.status() >= 400) {
      errorDocuments.add(`${response.status()} ${response.url()}`);
    }
  });
  page.on("console", (message) => {
    if (message.type() === "error" || message.type() === "warning") {
      problems.push({
        text: `console ${message.type()} on ${page.url()}: ${message.text()}`,
        resourceUrl: `${failedLoadPattern.exec(message.text())?.[1] ?? ""} ${message.location().url}`,
      });
    }
  });
  page.on("pageerror", (error) =>
    problems.push({ text: `uncaught error on ${page.url()}: ${error.message}`, resourceUrl: "" }),
  );
  page.on("requestfailed", (request) => {
    const reason = request.failure()?.errorText ?? "unknown";
    // ERR_ABORTED: the test moved on before a late request (the favicon) finished; a request the
    // CSP blocks fails with ERR_BLOCKED_BY_CSP instead, and still counts.
    if (reason === "net::ERR_ABORTED") return;
    problems.push({ text: `request failed: ${request.url()} (${reason})`, resourceUrl: "" });
  });
  return {
    list: () => problems.filter((p) => !errorDocuments.has(p.resourceUrl)).map((p) => p.text),
  };
}

// Every run writes its screenshots to test-results/screenshots/ (ignored by git), to look at;
// `MAMORI_UPDATE_SCREENSHOTS=1 npm run test:browser` refreshes the ones kept in docs/screenshots/,
// so an ordinary test run leaves the working tree clean.
const screenshotDirectory = fileURLToPath(
  new URL(
    process.env.MAMORI_UPDATE_SCREENSHOTS === "1"
      ? "../../docs/screenshots/"
      : "../../test-results/screenshots/",
    import.meta.url,
  ),
);

/** A full-page screenshot, for people (and reviewers) to look at. */
export async function saveScreenshot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshotDirectory, { recursive: true });
  await page.screenshot({
    path: join(screenshotDirectory, `${name}.png`),
    fullPage: true,
    animations: "disabled",
  });
}

/**
 * Visible form controls that have no label (by <label for>, wrapping label, aria-label or
 * aria-labelledby): each is described as tag#id. An empty list means every control is labelled.
 */
export async function unlabelledControls(page: Page): Promise<string[]> {
  return page.$$eval("input, select, textarea", (controls) =>
    controls
      .filter((control) => !(control instanceof HTMLInputElement && control.type === "hidden"))
      .filter((control) => {
        const labels = (control as HTMLInputElement).labels;
        const labelText = labels
          ? Array.from(labels)
              .map((label) => label.textContent?.trim() ?? "")
              .join("")
          : "";
        return (
          labelText === "" && !control.getAttribute("aria-label") && !control.getAttribute("aria-labelledby")
        );
      })
      .map((control) => `${control.tagName.toLowerCase()}#${control.id}`),
  );
}

/**
 * Links in the error summary whose target is missing: each summary link must point at a field on
 * the page (href="#id"), so a keyboard or screen-reader user can jump to it. Returns the summary's
 * link targets and the ones that do not exist.
 */
export async function errorSummaryLinks(page: Page): Promise<{ targets: string[]; missing: string[] }> {
  return page.$eval("#error-summary", (summary) => {
    const targets = Array.from(summary.querySelectorAll("a")).map((a) => a.getAttribute("href") ?? "");
    const missing = targets.filter(
      (href) => !href.startsWith("#") || !document.getElementById(href.slice(1)),
    );
    return { targets, missing };
  });
}

/** How many CSS pixels the page is wider than the viewport (0 when nothing scrolls sideways). */
export async function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => Math.max(0, document.documentElement.scrollWidth - window.innerWidth));
}

/** A visible element's text, whitespace collapsed (asserting it is visible). */
export async function visibleText(locator: Locator): Promise<string> {
  assert.ok(await locator.isVisible(), `${locator} should be visible`);
  return ((await locator.textContent()) ?? "").replace(/\s+/g, " ").trim();
}

/** The page's path and query, for failure messages. */
export function pagePath(page: Page): string {
  const url = new URL(page.url());
  return `${url.pathname}${url.search}`;
}

/** The page's heading and language, every field labelled, nothing scrolling sideways. */
export async function checkPage(page: Page, lang: "ja" | "en", title: string): Promise<void> {
  const where = pagePath(page);
  assert.equal(await visibleText(page.locator("h1")), title, `heading on ${where}`);
  assert.equal(await page.locator("html").getAttribute("lang"), lang, `<html lang> on ${where}`);
  assert.deepEqual(await unlabelledControls(page), [], `unlabelled fields on ${where}`);
  assert.equal(await horizontalOverflow(page), 0, `sideways scrolling on ${where}`);
}

/** A button in the page's main content, by its exact name. */
export function mainButton(page: Page, name: string): Locator {
  return page.locator("main").getByRole("button", { name, exact: true });
}
