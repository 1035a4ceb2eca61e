import assert from "node:assert/strict";
import { randomInt, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import type { Browser, Locator, Page } from "playwright-core";
import {
  mainButton as button,
  desktop,
  errorSummaryLinks,
  horizontalOverflow,
  launchBrowser,
  newContext,
  phone,
  saveScreenshot,
  unlabelledControls,
  visibleText,
  watchPage,
} from "../support/browser.ts";
import { english, japanese, type Words } from "../support/page-words.ts";
import { latestCode, type MamoriServer, startMamori } from "../support/server.ts";
import { randomMobileNumber, registerOnServer } from "../support/server-accounts.ts";
import { ageSessions, authenticatorApp, scanQrCode, secretOf } from "../support/two-step-browser.ts";
import { englishTwoStep, japaneseTwoStep, type TwoStepWords } from "../support/two-step-words.ts";

// Two-step verification in Debian's chromium, the way a shopper with a phone does it: the QR code
// on the screen is photographed and read by zbar, the app's codes come from oathtool on the real
// clock, SMS codes from the development outbox. Every page is checked (language, heading, labels,
// nothing scrolling sideways) and photographed in Japanese (phone) and English (desktop).

const password = "hoshizora no shita de 7 tsubame ga tobu";

type Shopper = { name: string; email: string; lang: "ja" | "en"; words: Words; w: TwoStepWords };

function newShopper(lang: "ja" | "en"): Shopper {
  const email = `two-step-${randomUUID().slice(0, 8)}@example.jp`;
  return lang === "ja"
    ? { name: "山田 花子", email, lang, words: japanese, w: japaneseTwoStep }
    : { name: "Alice Smith", email, lang, words: english, w: englishTwoStep };
}

/** `***-****-1234`: how the pages show a Japanese mobile number. */
function masked(number: string): string {
  return `***-****-${number.slice(-4)}`;
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

function assertIncludes(text: string, part: string): void {
  assert.ok(text.includes(part), `"${part}" should be in "${text}"`);
}

function path(page: Page): string {
  return new URL(page.url()).pathname;
}

/** The page's heading and language, every field labelled, nothing scrolling sideways; then a photo. */
async function checkPage(page: Page, s: Shopper, title: string, shot?: string): Promise<void> {
  // After a click the next page may still be loading: wait (bounded) for its heading first.
  await page
    .locator("h1", { hasText: title })
    .waitFor()
    .catch(() => undefined);
  assert.equal(await visibleText(page.locator("h1")), title, `heading on ${path(page)}`);
  assert.equal(await page.locator("html").getAttribute("lang"), s.lang, `<html lang> on ${path(page)}`);
  assert.deepEqual(await unlabelledControls(page), [], `unlabelled fields on ${path(page)}`);
  // Nothing scrolls sideways on a phone or at desktop width, whichever the test walks with.
  const walking = page.viewportSize();
  for (const viewport of [phone, desktop]) {
    await page.setViewportSize(viewport);
    assert.equal(
      await horizontalOverflow(page),
      0,
      `sideways scrolling on ${path(page)} at ${viewport.width}px`,
    );
  }
  if (walking) await page.setViewportSize(walking);
  if (shot) await saveScreenshot(page, `two-step-${shot}-${s.lang}`);
}

function link(page: Page, name: string): Locator {
  return page.locator("main").getByRole("link", { name, exact: true });
}

async function notice(page: Page): Promise<string> {
  return visibleText(page.getByRole("status"));
}

async function signIn(page: Page, s: Shopper): Promise<void> {
  await page.goto(`${server.url}/sign-in`);
  await page.getByLabel(s.words.signIn.identifier, { exact: true }).fill(s.email);
  await page.getByLabel(s.words.signIn.password, { exact: true }).fill(password);
  await button(page, s.words.signIn.submit).click();
}

async function signOut(page: Page, s: Shopper): Promise<void> {
  await page.locator("header").getByRole("button", { name: s.words.signOut, exact: true }).click();
  await page.waitForURL((url) => url.pathname === "/sign-in");
}

/** Sign-in with the password: the challenge page must follow. */
async function signInToChallenge(page: Page, s: Shopper): Promise<void> {
  await signIn(page, s);
  await page.waitForURL((url) => /^\/sign-in\/two-step\/sif_[0-9a-z]+$/.test(url.pathname));
  assert.equal(new URL(page.url()).searchParams.get("return_to"), "/account");
}

async function enterCode(page: Page, label: string, code: string, submit: string): Promise<void> {
  await page.getByLabel(label, { exact: true }).fill(code);
  await button(page, submit).click();
}

/** Login & security -> Advanced security settings: the 2SV row says on or off and links there. */
async function openAdvancedSettings(page: Page, s: Shopper, on: boolean, shot?: string): Promise<void> {
  await page.goto(`${server.url}/account/security`);
  await checkPage(page, s, s.words.security.title, shot);
  const row = page.locator("dl.settings > div", {
    has: page.locator("dt", { hasText: s.words.security.twoStep }),
  });
  assert.ok((await visibleText(row.locator("dd.value"))).startsWith(on ? s.w.on : s.w.off));
  await row.getByRole("link", { name: s.w.securityLink, exact: true }).click();
  await page.waitForURL((url) => url.pathname === "/account/security/two-step");
  await checkPage(page, s, s.w.overview.title);
}

/** The app's set-up page: the QR code read by zbar must carry the key the page shows for typing. */
async function scanAppSetup(
  page: Page,
  s: Shopper,
  shot: string,
): Promise<ReturnType<typeof authenticatorApp>> {
  await checkPage(page, s, s.w.app.title, shot);
  const uri = await scanQrCode(page.locator(".qr"));
  const secret = secretOf(uri, s.email);
  assert.equal((await visibleText(page.locator("#totp-key"))).replace(/ /g, ""), secret);
  assert.match(await visibleText(page.locator("#totp-key")), /^([A-Z2-7]{4} ){7}[A-Z2-7]{4}$/);
  return authenticatorApp(secret);
}

/** The recovery codes page: ten codes, and the same ten in the downloaded text file. */
async function checkRecoveryCodes(page: Page, s: Shopper, shot: string): Promise<string[]> {
  await checkPage(page, s, s.w.recovery.title, shot);
  assert.equal(await notice(page), s.w.recovery.enabled);
  const codes = await page.locator("ol.recovery-codes li").allTextContents();
  assert.equal(codes.length, 10);
  for (const code of codes) assert.match(code.trim(), /^[2-9A-HJKMNP-TV-Z]{5}-[2-9A-HJKMNP-TV-Z]{5}$/);
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    link(page, s.w.recovery.download).click(),
  ]);
  assert.equal(download.suggestedFilename(), "recovery-codes.txt");
  const file = readFileSync(await download.path(), "utf8");
  for (const code of codes) assert.ok(file.includes(code.trim()), `${code} is in the file`);
  assert.ok(file.includes(s.email));
  return codes.map((c) => c.trim());
}

describe("two-step verification in a real browser", () => {
  test("in Japanese on a phone: the app, a backup by SMS, sign-in three ways, a trusted browser, turned off", {
    timeout: 240_000,
  }, async () => {
    const s = newShopper("ja");
    const w = s.w;
    const context = await newContext(browser, { viewport: phone, isMobile: true, hasTouch: true });
    try {
      const page = await context.newPage();
      const problems = watchPage(page);
      await registerOnServer(server, { name: s.name, email: s.email, password, locale: "ja" });
      await signIn(page, s);
      await page.waitForURL((url) => url.pathname === "/account");

      // Login & security -> Advanced security settings -> Get started -> the app.
      await openAdvancedSettings(page, s, false, "security-off");
      await saveScreenshot(page, "two-step-overview-off-ja");
      await link(page, w.overview.start).click();
      await checkPage(page, s, w.choose.primaryTitle, "choose");
      assertIncludes(await visibleText(page.locator(".note")), w.choose.smsRisk);
      await page.getByRole("radio", { name: w.choose.app }).check();
      await button(page, w.choose.submit).click();
      const app = await scanAppSetup(page, s, "app-setup");
      // A mistyped first code: the same QR code and key stay beside the error (the app already
      // holds that key), and the copy button copies it without spaces, saying so politely.
      const shownKey = (await visibleText(page.locator("#totp-key"))).replace(/ /g, "");
      const mistyped = await authenticatorApp(shownKey).code();
      await enterCode(
        page,
        w.app.code,
        `${(Number(mistyped[0]) + 1) % 10}${mistyped.slice(1)}`,
        w.app.submit,
      );
      await page.locator("#error-summary").waitFor();
      await checkPage(page, s, w.app.title, "app-setup-wrong-code");
      assert.equal(secretOf(await scanQrCode(page.locator(".qr")), s.email), shownKey, "the same key");
      await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.url });
      await button(page, w.app.copy).click();
      await page.locator("#totp-key-copied", { hasText: w.app.copied }).waitFor();
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), shownKey);
      await enterCode(page, w.app.code, await app.code(), w.app.submit);
      await page.waitForURL((url) => url.pathname === "/account/security/two-step/enable");
      await checkPage(page, s, w.enable.title, "enable");
      await button(page, w.enable.submit).click();
      const recoveryCodes = await checkRecoveryCodes(page, s, "recovery-codes");

      // A backup after the page was left open: the password, then a code from the app (step-up).
      await ageSessions(server, s.email);
      await link(page, w.recovery.addBackup).click();
      await page.waitForURL((url) => url.pathname === "/account/security/reauthenticate");
      await checkPage(page, s, w.reauth.title, "reauthenticate");
      await enterCode(page, w.reauth.password, password, w.reauth.submit);
      await page.waitForURL((url) => url.pathname === "/account/security/step-up");
      await checkPage(page, s, w.stepUp.title, "step-up-app");
      await enterCode(page, w.app.code, await app.code(), w.stepUp.submit);
      await page.waitForURL((url) => url.pathname === "/account/security/two-step/backup");
      await checkPage(page, s, w.choose.backupTitle);

      // A 050 IP phone cannot take a text: said beside the field, the other ways offered.
      await page.getByRole("radio", { name: w.choose.sms }).check();
      await page.getByLabel(w.choose.phone, { exact: true }).fill("050-3123-4567");
      await button(page, w.choose.submit).click();
      await page.locator("#error-summary").waitFor();
      assertIncludes(await visibleText(page.locator("#phone-error")), w.choose.noSmsOn050);
      assert.deepEqual(await errorSummaryLinks(page), { targets: ["#phone"], missing: [] });
      await checkPage(page, s, w.choose.backupTitle, "backup-050");
      // The app again is the same as the primary: refused.
      await page.getByRole("radio", { name: w.choose.app }).check();
      await button(page, w.choose.submit).click();
      await page.locator("#error-summary", { hasText: w.choose.conflict }).waitFor();

      const mobile = `080-${randomInt(1000, 10_000)}-${String(randomInt(0, 10_000)).padStart(4, "0")}`;
      await page.getByRole("radio", { name: w.choose.sms }).check();
      await page.getByLabel(w.choose.phone, { exact: true }).fill(mobile.replace(/-/g, ""));
      await button(page, w.choose.submit).click();
      await page.waitForURL((url) => /^\/account\/security\/two-step\/methods\/mth_/.test(url.pathname));
      await checkPage(page, s, w.phoneCode.title, "phone-code");
      assert.equal(await visibleText(page.locator("main p").first()), w.phoneCode.sentSms(masked(mobile)));
      const enrollCode = await latestCode(server, mobile);
      await enterCode(page, w.app.code, enrollCode, w.app.submit);
      await page.waitForURL((url) => url.pathname === "/account/security/two-step");
      assert.equal(await notice(page), w.overview.backupAdded);
      await checkPage(page, s, w.overview.title, "overview-on");

      // Sign-in with the app.
      await signOut(page, s);
      await signInToChallenge(page, s);
      await checkPage(page, s, w.challenge.title, "challenge-app");
      assert.equal(await visibleText(page.locator("main p").first()), w.challenge.app);
      const codeField = page.getByLabel(w.challenge.code, { exact: true });
      assert.equal(await codeField.getAttribute("inputmode"), "numeric");
      assert.equal(await codeField.getAttribute("autocomplete"), "one-time-code");
      await enterCode(page, w.challenge.code, await app.code(), w.challenge.submit);
      await page.waitForURL((url) => url.pathname === "/account");

      // Sign-in with the SMS backup ("use another method"), ticking "don't ask on this browser".
      await signOut(page, s);
      await signInToChallenge(page, s);
      await button(page, w.challenge.useSms(masked(mobile))).click();
      await page.locator("main p", { hasText: w.challenge.sentSms(masked(mobile)) }).waitFor();
      await checkPage(page, s, w.challenge.title, "challenge-sms");
      const smsCode = await latestCode(server, mobile, { after: enrollCode });
      await page.getByLabel(w.challenge.trust).check();
      await enterCode(page, w.challenge.code, smsCode, w.challenge.submit);
      await page.waitForURL((url) => url.pathname === "/account");
      assert.ok((await context.cookies()).some((c) => c.name === "mamori_trusted" && c.httpOnly));

      // The trusted browser is listed on Login & security; forget it.
      await page.goto(`${server.url}/account/security`);
      const devices = page.locator("#trusted-devices");
      assert.equal(await visibleText(devices.locator("h2")), w.devices.title);
      assert.match(
        await visibleText(devices.locator("li")),
        new RegExp(`^Chrome \\(Linux\\) ${w.devices.thisBrowser}`),
      );
      await checkPage(page, s, s.words.security.title, "security-on");
      await devices.getByRole("button", { name: w.devices.forget, exact: true }).click();
      await page.waitForURL((url) => url.search === "?done=device");
      assert.equal(await notice(page), w.devices.forgotten);

      // Forgotten: the next sign-in asks again; a recovery code does it.
      await signOut(page, s);
      await signInToChallenge(page, s);
      await link(page, w.challenge.useRecovery).click();
      await page.getByLabel(w.challenge.recoveryCode, { exact: true }).waitFor();
      await checkPage(page, s, w.challenge.title, "challenge-recovery");
      await enterCode(
        page,
        w.challenge.recoveryCode,
        (recoveryCodes[0] ?? "").toLowerCase(),
        w.challenge.submit,
      );
      await page.waitForURL((url) => url.pathname === "/account");

      // Turn it off: "Disable" -> the confirmation page -> "Disable" again.
      await openAdvancedSettings(page, s, true);
      await link(page, w.overview.disable).click();
      await page.waitForURL((url) => url.pathname === "/account/security/two-step/disable");
      await checkPage(page, s, w.disable.title, "disable");
      await button(page, w.disable.submit).click();
      await page.waitForURL((url) => url.pathname === "/account/security/two-step");
      assert.equal(await notice(page), w.overview.disabled);
      await checkPage(page, s, w.overview.title);
      await openAdvancedSettings(page, s, false);
      assert.deepEqual(problems.list(), []);
    } finally {
      await context.close();
    }
  });

  test("in English at desktop width: a phone primary, an app backup after a texted step-up, removed, turned off after a texted step-up", {
    timeout: 240_000,
  }, async () => {
    const s = newShopper("en");
    const w = s.w;
    const context = await newContext(browser, { viewport: desktop, locale: "en-US" });
    try {
      const page = await context.newPage();
      const problems = watchPage(page);
      await registerOnServer(server, { name: s.name, email: s.email, password, locale: "en" });
      await signIn(page, s);
      await page.waitForURL((url) => url.pathname === "/account");
      await openAdvancedSettings(page, s, false, "security-off");
      await saveScreenshot(page, "two-step-overview-off-en");
      await link(page, w.overview.start).click();
      await checkPage(page, s, w.choose.primaryTitle, "choose");

      // A text message to a mobile: the code page, a resend refused by the cooldown, the code.
      const mobile = randomMobileNumber();
      await page.getByRole("radio", { name: w.choose.sms }).check();
      await page
        .getByLabel(w.choose.phone, { exact: true })
        .fill(`+81 ${mobile.slice(1).replace(/-/g, " ")}`);
      await button(page, w.choose.submit).click();
      await page.waitForURL((url) => /^\/account\/security\/two-step\/methods\/mth_/.test(url.pathname));
      assert.equal(await visibleText(page.locator("main p").first()), w.phoneCode.sentSms(masked(mobile)));
      await button(page, w.phoneCode.resend).click();
      await page.locator("#error-summary").waitFor();
      assertIncludes(await visibleText(page.locator("#error-summary")), w.phoneCode.wait);
      await checkPage(page, s, w.phoneCode.title, "phone-code-wait");
      const enrollCode = await latestCode(server, mobile);
      await enterCode(page, w.app.code, enrollCode, w.app.submit);
      await checkPage(page, s, w.enable.title, "enable");
      await button(page, w.enable.submit).click();
      await checkRecoveryCodes(page, s, "recovery-codes");

      // A backup later on: the password, then a code texted to the primary (step-up), then the app.
      await ageSessions(server, s.email);
      await link(page, w.recovery.addBackup).click();
      await checkPage(page, s, w.reauth.title, "reauthenticate");
      await enterCode(page, w.reauth.password, password, w.reauth.submit);
      await page.waitForURL((url) => url.pathname === "/account/security/step-up");
      await checkPage(page, s, w.stepUp.title, "step-up-sms");
      await button(page, w.stepUp.send).click();
      await page.waitForURL((url) => url.searchParams.get("sent") === "1");
      const stepUpCode = await latestCode(server, mobile, { after: enrollCode });
      await enterCode(page, w.app.code, stepUpCode, w.stepUp.submit);
      await checkPage(page, s, w.choose.backupTitle, "backup");
      await page.getByRole("radio", { name: w.choose.app }).check();
      await button(page, w.choose.submit).click();
      const app = await scanAppSetup(page, s, "app-setup");
      await enterCode(page, w.app.code, await app.code(), w.app.submit);
      await page.waitForURL((url) => url.search === "?done=backup");
      assert.equal(await notice(page), w.overview.backupAdded);
      await checkPage(page, s, w.overview.title, "overview-on");

      // Sign-in: the code is texted; a wrong one says how many tries are left; then the app instead.
      await signOut(page, s);
      await signInToChallenge(page, s);
      assert.equal(await visibleText(page.locator("main p").first()), w.challenge.sentSms(masked(mobile)));
      await enterCode(page, w.challenge.code, "000000", w.challenge.submit);
      await page.locator("#error-summary").waitFor();
      assert.equal(await visibleText(page.locator("#code-error")), w.challenge.wrong(4));
      await checkPage(page, s, w.challenge.title, "challenge-wrong");
      await button(page, w.challenge.useApp).click();
      await page.locator("main p", { hasText: w.challenge.app }).waitFor();
      await enterCode(page, w.challenge.code, await app.code(), w.challenge.submit);
      await page.waitForURL((url) => url.pathname === "/account");

      // Remove the app backup (a confirmation page). Then, the sign-in being old, turning two-step
      // off asks for a code first (a password alone never turns it off): texted, entered, and the
      // confirmation page follows without a password.
      await openAdvancedSettings(page, s, true);
      await page.locator("dl.settings a[href$='/remove']").click();
      await checkPage(page, s, w.remove.title, "remove");
      await button(page, w.remove.submit).click();
      await page.waitForURL((url) => url.search === "?done=removed");
      assert.equal(await notice(page), w.overview.removed);
      await ageSessions(server, s.email);
      const codeBefore = await latestCode(server, mobile);
      await link(page, w.overview.disable).click();
      await page.waitForURL((url) => url.pathname === "/account/security/step-up");
      await button(page, w.stepUp.send).click();
      await page.waitForURL((url) => url.searchParams.get("sent") === "1");
      await enterCode(
        page,
        w.app.code,
        await latestCode(server, mobile, { after: codeBefore }),
        w.stepUp.submit,
      );
      await page.waitForURL((url) => url.pathname === "/account/security/two-step/disable");
      assert.equal(await page.getByLabel(w.disable.password, { exact: true }).count(), 0);
      await checkPage(page, s, w.disable.title, "disable-after-step-up");
      await button(page, w.disable.submit).click();
      await page.waitForURL((url) => url.search === "?done=disabled");
      assert.equal(await notice(page), w.overview.disabled);
      await openAdvancedSettings(page, s, false);
      assert.deepEqual(problems.list(), []);
    } finally {
      await context.close();
    }
  });
});
