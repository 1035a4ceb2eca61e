import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import pino from "pino";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { loadConfig } from "../../src/config/config.ts";
import { openDatabase } from "../../src/db/database.ts";
import { secureRandom, systemClock } from "../../src/deps.ts";
import { setMaintenanceMode } from "../../src/operations/maintenance.ts";
import { createStaff } from "../../src/staff/staff-accounts.ts";
import { horizontalOverflow, launchBrowser, newContext } from "../support/browser.ts";
import {
  type FakeKind,
  type FakeProvider,
  federationEnv,
  startFakeProvider,
} from "../support/fake-oidc-provider.ts";
import {
  appCodeNow,
  installAxe,
  saveTourScreenshot,
  seriousViolations,
  submitForm,
  type TwoStepShopper,
  tourDesktop,
  tourSizes,
  twoStepShopper,
} from "../support/page-tour.ts";
import { requestSignal } from "../support/patience.ts";
import { latestCode, type MamoriServer, outboxMessages, startMamori } from "../support/server.ts";
import { randomMobileNumber, registerOnServer } from "../support/server-accounts.ts";

// Every page a customer or a member of staff can reach, in Japanese and in English, at 1280x900 and
// at 390x844, checked by axe-core (WCAG 2.1 A and AA and best practices): no serious or critical
// violation anywhere. One browser; one context per language, walking the real flows (sign-up with
// its code, two-step set up by SMS, a consent, a device code...), each page checked at both sizes
// in place. Fields are found by name, not by their words, which other work rewrites.
// MAMORI_TOUR_SCREENSHOTS=1 (npm run screenshots) also photographs every Japanese page at both
// sizes into docs/screenshots/pages/.

const projectRoot = fileURLToPath(new URL("../../", import.meta.url));
const takeScreenshots = process.env.MAMORI_TOUR_SCREENSHOTS === "1";
const password = "hoshizora no shita de 7 tsubame ga tobu";
const staffPassword = "Kagami-Mochi-4417-Sakura";
// A bound, not a wait: a language's walk takes about 2 minutes beside busy neighbours, and
// full-page photographs of every page at two sizes take as long again.
const tourTimeoutMs = takeScreenshots ? 900_000 : 480_000;

let server: MamoriServer;
let browser: Browser;
let fakes: FakeProvider[] = [];
let shopClient: { clientId: string; redirectUri: string };
let deviceClientId: string;

/** `mamori clients create …` on the server's database, as an operator runs it; its client_id. */
function createClient(args: string[]): string {
  const out = execFileSync(
    join(projectRoot, "node_modules", ".bin", "node"),
    ["src/cli/main.ts", "clients", "create", ...args],
    {
      cwd: projectRoot,
      encoding: "utf8",
      timeout: 30_000,
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        NODE_ENV: "test",
        DATABASE_URL: server.databaseUrl,
        MAMORI_PUBLIC_URL: server.url,
        LOG_LEVEL: "warn",
      },
    },
  );
  const clientId = /client_id: (\S+)/.exec(out)?.[1];
  assert.ok(clientId, out);
  return clientId;
}

before(async () => {
  const kinds: FakeKind[] = ["line", "yahoo_japan", "google", "apple"];
  fakes = await Promise.all(kinds.map((kind) => startFakeProvider(kind)));
  server = await startMamori({
    ...federationEnv(kinds.map((kind, i) => ({ kind, fake: fakes[i] as FakeProvider }))),
    MAMORI_SUPPORT_URL: "https://shop.example.jp/support",
    MAMORI_SUPPORT_PHONE: "0120-123-456",
    MAMORI_SUPPORT_HOURS: "平日 10:00〜18:00",
    // 127.0.0.1 is the shop's own network and allowed; X-Forwarded-For plays a visit from abroad.
    MAMORI_ALLOWED_COUNTRIES: "JP",
    MAMORI_TRUST_PROXY: "true",
  });
  browser = await launchBrowser();
  const redirectUri = `${server.url}/tour/callback`;
  shopClient = {
    clientId: createClient(["--name", "やまだ商店", "--redirect-uri", redirectUri]),
    redirectUri,
  };
  deviceClientId = createClient(["--device", "--name", "テレビアプリ"]);
});

after(async () => {
  await browser?.close();
  await server?.stop();
  for (const fake of fakes) await fake.close();
});

/**
 * One checked page: its name (the screenshot's file), the path it must be on, how to get there, and
 * for a page that shares its path with another (an error, a refusal), an element only it has.
 */
type Stop = { name: string; path: RegExp; reach: (page: Page) => Promise<void>; shows?: string };

/** What the tour found: a line per violation or per page it could not reach. */
type Findings = string[];

async function checkStop(page: Page, lang: "ja" | "en", stop: Stop, findings: Findings): Promise<void> {
  try {
    await stop.reach(page);
  } catch (error) {
    findings.push(
      `${lang} ${stop.name}: could not reach the page (${(error as Error).message.split("\n")[0]})`,
    );
    return;
  }
  const where = new URL(page.url());
  if (!stop.path.test(where.pathname)) {
    findings.push(`${lang} ${stop.name}: expected ${stop.path} but the browser is on ${where.pathname}`);
    return;
  }
  if (stop.shows && (await page.locator(stop.shows).count()) === 0) {
    findings.push(`${lang} ${stop.name}: ${where.pathname} does not show ${stop.shows}`);
    return;
  }
  for (const [size, viewport] of tourSizes) {
    await page.setViewportSize(viewport);
    let violations: string[];
    try {
      violations = await seriousViolations(page);
    } catch (error) {
      findings.push(
        `${lang} ${size} ${stop.name}: axe failed (${(error as Error).message.split("\n")[0]}) on ${page.url()}`,
      );
      continue;
    }
    for (const violation of violations)
      findings.push(`${lang} ${size} ${stop.name} (${where.pathname}): ${violation}`);
    // Nothing may be cut off or make the page scroll sideways (WCAG 1.4.10 reflow).
    const overflow = await horizontalOverflow(page);
    if (overflow > 0)
      findings.push(`${lang} ${size} ${stop.name} (${where.pathname}): scrolls sideways by ${overflow}px`);
    if (takeScreenshots && lang === "ja") await saveTourScreenshot(page, `${stop.name}-${size}`);
  }
  await page.setViewportSize(tourDesktop);
}

async function tourContext(lang: "ja" | "en"): Promise<BrowserContext> {
  const context = await newContext(browser, {
    locale: lang === "ja" ? "ja-JP" : "en-US",
    viewport: tourDesktop,
  });
  await installAxe(context);
  return context;
}

function go(path: string): (page: Page) => Promise<void> {
  return async (page) => {
    await page.goto(`${server.url}${path}`);
  };
}

async function signIn(page: Page, email: string, secret = password): Promise<void> {
  await page.goto(`${server.url}/sign-in`);
  await submitForm(page, { identifier: email, password: secret });
}

async function updateAccount(
  email: string,
  values: { status: "suspended"; status_reason: string },
): Promise<void> {
  const db = openDatabase(server.databaseUrl);
  try {
    await db
      .updateTable("account")
      .set({ ...values, updated_at: new Date().toISOString() })
      .where("email", "=", email)
      .execute();
  } finally {
    await db.destroy();
  }
}

/** A code from the development outbox newer than the one seen before, if any. */
async function freshCode(to: string, after?: string): Promise<string> {
  return latestCode(server, to, after ? { after } : {});
}

/** The signed-out pages, with a two-step account's challenge and recovery pages. */
function signedOutStops(lang: "ja" | "en", shopper: TwoStepShopper): Stop[] {
  let challengeUrl = "";
  let resetCode = "";
  return [
    { name: "sign-in", path: /^\/sign-in$/, reach: go("/sign-in") },
    {
      name: "sign-in-error",
      path: /^\/sign-in$/,
      shows: "#error-summary",
      reach: async (page) => signIn(page, shopper.email, "not the password"),
    },
    {
      name: "password-generator-script",
      path: /^\/tools\/password-generator$/,
      reach: go("/tools/password-generator"),
    },
    { name: "help-sign-in", path: /^\/help\/sign-in$/, reach: go("/help/sign-in") },
    { name: "not-found", path: /^\/no-such-page$/, reach: go("/no-such-page") },
    { name: "password-reset", path: /^\/password-reset$/, reach: go("/password-reset") },
    {
      name: "password-reset-code",
      path: /^\/password-reset\/[^/]+$/,
      reach: async (page) => submitForm(page, { identifier: shopper.email }),
    },
    {
      name: "password-reset-code-wrong",
      path: /^\/password-reset\/[^/]+$/,
      shows: "#error-summary",
      reach: async (page) => {
        resetCode = await freshCode(shopper.email);
        await submitForm(page, { code: resetCode === "000000" ? "111111" : "000000" });
      },
    },
    {
      name: "password-reset-new",
      path: /^\/password-reset\/[^/]+\/new$/,
      reach: async (page) => submitForm(page, { code: resetCode }),
    },
    {
      name: "password-reset-new-error",
      path: /^\/password-reset\/[^/]+\/new$/,
      shows: "#error-summary",
      reach: async (page) => submitForm(page, { newPassword: "short" }),
    },
    { name: "email-reminder", path: /^\/email-reminder$/, reach: go("/email-reminder") },
    {
      name: "email-reminder-code",
      path: /^\/email-reminder\/[^/]+$/,
      reach: async (page) => submitForm(page, { phone: shopper.phone }),
    },
    {
      name: "email-reminder-found",
      path: /^\/email-reminder\/[^/]+$/,
      reach: async (page) => submitForm(page, { code: await freshCode(shopper.phone) }),
    },
    {
      name: "two-step-challenge-sms",
      path: /^\/sign-in\/two-step\/[^/]+$/,
      reach: async (page) => {
        const before = await freshCode(shopper.phone);
        await signIn(page, shopper.email);
        await freshCode(shopper.phone, before);
        challengeUrl = page.url().split("?")[0] ?? "";
      },
    },
    {
      name: "two-step-challenge-wrong",
      path: /^\/sign-in\/two-step\/[^/]+$/,
      shows: "#error-summary",
      reach: async (page) => submitForm(page, { code: "000000" }),
    },
    {
      name: "two-step-challenge-app",
      path: /^\/sign-in\/two-step\/[^/]+$/,
      reach: async (page) => {
        await page.goto(challengeUrl);
        await page.locator(`main form[action$="/switch"] [type="submit"]`).first().click();
        await page.waitForLoadState("load");
      },
    },
    {
      name: "two-step-challenge-recovery-code",
      path: /^\/sign-in\/two-step\/[^/]+$/,
      shows: 'input[name="method"][value="recovery_code"]',
      reach: async (page) => page.goto(`${challengeUrl}?use=recovery`).then(() => undefined),
    },
    {
      name: "two-step-recovery-start",
      path: /^\/sign-in\/two-step\/[^/]+\/recovery$/,
      reach: async (page) => page.goto(`${challengeUrl}/recovery`).then(() => undefined),
    },
    {
      name: "two-step-recovery-prove",
      path: /^\/two-step-recovery\/[^/]+$/,
      reach: async (page) => {
        await page.locator('main form [type="submit"]').first().click();
        await page.waitForLoadState("load");
      },
    },
    {
      name: "two-step-recovery-waiting",
      path: /^\/two-step-recovery\/[^/]+$/,
      reach: async (page) => submitForm(page, { code: await freshCode(shopper.email, resetCode), password }),
    },
    {
      name: "two-step-recovery-cancel",
      path: /^\/two-step-recovery\/cancel$/,
      reach: async (page) => {
        // The one-click cancel in the "recovery started" mail.
        const mails = await outboxMessages(server, shopper.email);
        const link = mails
          .map((m) => /\/two-step-recovery\/cancel\?token=[\w.-]+/.exec(m.text)?.[0])
          .find(Boolean);
        assert.ok(link, "the recovery's mail carries a cancel link");
        await page.goto(`${server.url}${link}`);
      },
    },
    {
      name: "two-step-recovery-cancelled",
      path: /^\/two-step-recovery\/cancel$/,
      reach: async (page) => {
        await page.locator('main form[action="/two-step-recovery/cancel"] [type="submit"]').click();
        await page.waitForLoadState("load");
      },
    },
    {
      name: "email-undo-invalid",
      path: /^\/account\/email\/undo$/,
      reach: go("/account/email/undo?token=x"),
    },
    {
      name: "refused-country",
      path: /^\/sign-in$/,
      shows: ".refusal",
      reach: async (page) => {
        await page.context().setExtraHTTPHeaders({ "x-forwarded-for": "8.8.8.8" });
        try {
          await signIn(page, shopper.email);
        } finally {
          await page.context().setExtraHTTPHeaders({});
        }
      },
    },
    {
      name: "refused-suspended",
      path: /^\/sign-in$/,
      shows: ".refusal",
      reach: async (page) => {
        const suspended = {
          name: lang === "ja" ? "鈴木 一郎" : "Ichiro Suzuki",
          email: `tour-suspended-${randomUUID().slice(0, 8)}@example.jp`,
          password,
          locale: lang,
        };
        await registerOnServer(server, suspended);
        await updateAccount(suspended.email, {
          status: "suspended",
          status_reason: lang === "ja" ? "ご注文の確認のため" : "to check an order",
        });
        await signIn(page, suspended.email);
      },
    },
    {
      name: "social-sign-in-email",
      path: /^\/sign-in\/federation\/email\/[^/]+$/,
      reach: async (page) => {
        // A LINE user who does not share an email: the first sign-in asks for one, proven by a code.
        const line = fakes[0] as FakeProvider;
        line.person = { sub: `tour-${randomUUID()}`, name: lang === "ja" ? "小林 美咲" : "Misaki Kobayashi" };
        await page.goto(`${server.url}/sign-in`);
        await page.locator('main form[action="/sign-in/federation/line"] [type="submit"]').click();
        await page.waitForURL((url) => url.pathname.startsWith("/sign-in/federation/email/"));
        await page.waitForLoadState("load");
      },
    },
    {
      name: "social-sign-in-email-code",
      path: /^\/sign-in\/federation\/email\/[^/]+/,
      shows: '[name="code"]',
      reach: async (page) => submitForm(page, { email: `tour-line-${randomUUID().slice(0, 8)}@example.jp` }),
    },
  ];
}

/** Sign-up through its code to the welcome page, then every signed-in page of that account. */
function signedInStops(lang: "ja" | "en"): Stop[] {
  const email = `tour-${lang}-${randomUUID().slice(0, 8)}@example.jp`;
  const newEmail = `tour-new-${randomUUID().slice(0, 8)}@example.jp`;
  const phone = randomMobileNumber();
  const backupPhone = randomMobileNumber();
  const name = lang === "ja" ? "山田 花子" : "Hanako Yamada";
  let userCode = "";
  return [
    { name: "sign-up", path: /^\/sign-up$/, reach: go("/sign-up") },
    {
      name: "sign-up-errors",
      path: /^\/sign-up$/,
      shows: "#error-summary",
      reach: async (page) => {
        await page.locator('main form[action="/sign-up"] [type="submit"]').click();
        await page.waitForLoadState("load");
      },
    },
    {
      name: "sign-up-code",
      path: /^\/sign-up/,
      reach: async (page) => submitForm(page, { name, email, password }),
    },
    {
      name: "sign-up-code-wrong",
      path: /^\/sign-up/,
      shows: "#error-summary",
      reach: async (page) => {
        const code = await freshCode(email);
        await submitForm(page, { code: code === "000000" ? "111111" : "000000" });
      },
    },
    {
      name: "welcome",
      path: /^\/account\/welcome$/,
      reach: async (page) => submitForm(page, { code: await freshCode(email) }),
    },
    { name: "account", path: /^\/account$/, reach: go("/account") },
    { name: "login-and-security", path: /^\/account\/security$/, reach: go("/account/security") },
    { name: "profile-name", path: /^\/account\/security\/name$/, reach: go("/account/security/name") },
    { name: "profile-email", path: /^\/account\/security\/email$/, reach: go("/account/security/email") },
    {
      name: "profile-email-code",
      path: /^\/account\/security\/email/,
      reach: async (page) => submitForm(page, { email: newEmail }),
    },
    { name: "profile-phone", path: /^\/account\/security\/phone$/, reach: go("/account/security/phone") },
    {
      name: "profile-phone-code",
      path: /^\/account\/security\/phone/,
      reach: async (page) => submitForm(page, { phone }),
    },
    {
      name: "password-change",
      path: /^\/account\/security\/password$/,
      reach: go("/account/security/password"),
    },
    { name: "sessions", path: /^\/account\/sessions$/, reach: go("/account/sessions") },
    { name: "activity", path: /^\/account\/security\/activity$/, reach: go("/account/security/activity") },
    {
      name: "not-me",
      path: /^\/account\/security\/not-me$/,
      reach: async (page) => {
        await page.goto(`${server.url}/account/security/activity`);
        await page.locator('main form[action="/account/security/not-me"] [type="submit"]').first().click();
        await page.waitForLoadState("load");
      },
    },
    {
      name: "sign-in-methods",
      path: /^\/account\/security\/sign-in-methods$/,
      reach: go("/account/security/sign-in-methods"),
    },
    { name: "passkeys", path: /^\/account\/security\/passkeys$/, reach: go("/account/security/passkeys") },
    {
      name: "passkeys-add",
      path: /^\/account\/security\/passkeys\/add$/,
      reach: go("/account/security/passkeys/add"),
    },
    {
      name: "reauthenticate",
      path: /^\/account\/security\/reauthenticate$/,
      reach: go("/account/security/reauthenticate?return_to=%2Faccount%2Fsecurity%2Fclose"),
    },
    { name: "data-export", path: /^\/account\/security\/data$/, reach: go("/account/security/data") },
    {
      name: "oidc-consent",
      path: /^\/oidc\/interaction\/[^/]+$/,
      reach: async (page) => {
        const verifier = randomBytes(32).toString("base64url");
        const query = new URLSearchParams({
          client_id: shopClient.clientId,
          redirect_uri: shopClient.redirectUri,
          response_type: "code",
          scope: "openid email profile",
          state: randomBytes(8).toString("hex"),
          nonce: randomBytes(8).toString("hex"),
          code_challenge: createHash("sha256").update(verifier).digest("base64url"),
          code_challenge_method: "S256",
        });
        await page.goto(`${server.url}/oidc/auth?${query}`);
        // The login interaction (already signed in) hands on to the consent's own: wait for its form.
        await page.locator('main form[action$="/consent"]').waitFor();
        await page.waitForLoadState("load");
      },
    },
    {
      name: "connected-apps",
      path: /^\/account\/security\/apps$/,
      reach: async (page) => {
        // Allow: the shop's callback is a page of this server that does not exist (its 404).
        await page.locator('main form[action$="/consent"] [type="submit"]').first().click();
        await page.waitForURL((url) => url.pathname === "/tour/callback");
        await page.goto(`${server.url}/account/security/apps`);
      },
    },
    {
      name: "device-code",
      path: /^\/oidc\/device$/,
      reach: async (page) => {
        const discovery = (await (
          await fetch(`${server.url}/oidc/.well-known/openid-configuration`, { signal: requestSignal() })
        ).json()) as { device_authorization_endpoint: string };
        const started = await fetch(discovery.device_authorization_endpoint, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ client_id: deviceClientId, scope: "openid profile" }),
          signal: requestSignal(),
        });
        assert.equal(started.status, 200, await started.clone().text());
        userCode = ((await started.json()) as { user_code: string }).user_code;
        await page.goto(`${server.url}/oidc/device`);
      },
    },
    {
      name: "device-confirm",
      path: /^\/oidc\/device/,
      reach: async (page) => submitForm(page, { user_code: userCode }),
    },
    {
      name: "device-done",
      path: /^\/oidc\/device/,
      reach: async (page) => {
        await page.locator('main form[action$="/device/confirm"] [type="submit"]').first().click();
        await page.waitForLoadState("load");
      },
    },
    {
      name: "two-step-off",
      path: /^\/account\/security\/two-step$/,
      reach: go("/account/security/two-step"),
    },
    {
      name: "two-step-setup",
      path: /^\/account\/security\/two-step\/setup$/,
      reach: go("/account/security/two-step/setup"),
    },
    {
      name: "two-step-setup-app",
      // Choosing the app leads to the set-up's own page (decision 0029).
      path: /^\/account\/security\/two-step\/methods\/[^/]+$/,
      reach: async (page) => {
        await page.locator("#method-totp").check();
        await page.locator('main form[action$="/two-step/setup"] [type="submit"]').click();
        await page.waitForLoadState("load");
      },
    },
    {
      name: "two-step-setup-sms",
      path: /^\/account\/security\/two-step\/methods\/[^/]+$/,
      reach: async (page) => {
        await page.goto(`${server.url}/account/security/two-step/setup`);
        await page.locator("#method-sms").check();
        await submitForm(page, { phone });
      },
    },
    {
      name: "two-step-enable",
      path: /^\/account\/security\/two-step\/enable$/,
      reach: async (page) => submitForm(page, { code: await freshCode(phone) }),
    },
    {
      name: "two-step-recovery-codes",
      path: /^\/account\/security\/two-step/,
      reach: async (page) => {
        await page.locator('main form[action$="/two-step/enable"] [type="submit"]').click();
        await page.waitForLoadState("load");
      },
    },
    { name: "two-step-on", path: /^\/account\/security\/two-step$/, reach: go("/account/security/two-step") },
    {
      name: "two-step-backup",
      path: /^\/account\/security\/two-step\/backup$/,
      reach: go("/account/security/two-step/backup"),
    },
    {
      name: "two-step-backup-code",
      path: /^\/account\/security\/two-step\/methods\/[^/]+$/,
      reach: async (page) => {
        await page.locator("#method-voice").check();
        await submitForm(page, { phone: backupPhone });
      },
    },
    {
      name: "two-step-remove-method",
      path: /^\/account\/security\/two-step\/methods\/[^/]+\/remove$/,
      reach: async (page) => {
        await submitForm(page, { code: await freshCode(backupPhone) });
        await page.locator('main a[href$="/remove"]').first().click();
        await page.waitForLoadState("load");
      },
    },
    {
      name: "two-step-new-recovery-codes",
      path: /^\/account\/security\/two-step\/recovery-codes$/,
      reach: go("/account/security/two-step/recovery-codes"),
    },
    {
      name: "two-step-disable",
      path: /^\/account\/security\/two-step\/disable$/,
      reach: go("/account/security/two-step/disable"),
    },
    {
      name: "step-up",
      path: /^\/account\/security\/step-up$/,
      reach: go("/account/security/step-up?return_to=%2Faccount"),
    },
    { name: "account-close", path: /^\/account\/security\/close$/, reach: go("/account/security/close") },
    {
      name: "account-closed",
      path: /^\/account\/security\/close/,
      reach: async (page) => {
        await page.locator('main input[name="confirm"]').check();
        await page.locator('main form[action$="/close"] [type="submit"]').click();
        await page.waitForLoadState("load");
      },
    },
    {
      name: "refused-closed",
      path: /^\/sign-in$/,
      shows: ".refusal",
      reach: async (page) => signIn(page, email),
    },
  ];
}

/** A member of staff's set-up link, made as `mamori staff create` makes it. */
async function staffSetUpLink(email: string, lang: "ja" | "en"): Promise<string> {
  const db = openDatabase(server.databaseUrl);
  try {
    const config = loadConfig({ NODE_ENV: "test", MAMORI_PUBLIC_URL: server.url });
    const created = await createStaff(
      { db, clock: systemClock, random: secureRandom, config, log: pino({ level: "silent" }) },
      { email, name: lang === "ja" ? "管理 花子" : "Hana Admin", role: "admin" },
    );
    assert.ok(created.ok);
    return created.enrolUrl;
  } finally {
    await db.destroy();
  }
}

/** The operator console as an admin sees it (an admin sees every page support sees, and more). */
function consoleStops(lang: "ja" | "en", customerEmail: string): Stop[] {
  const email = `tour-admin-${randomUUID().slice(0, 8)}@shop.example.jp`;
  let key = "";
  return [
    {
      name: "console-enrol",
      path: /^\/admin\/enrol$/,
      reach: async (page) => {
        await page.goto(await staffSetUpLink(email, lang));
        key = ((await page.locator("[data-totp-key]").textContent()) ?? "").replace(/\s/g, "");
      },
    },
    {
      name: "console-enrolled",
      path: /^\/admin\/enrol$/,
      reach: async (page) => submitForm(page, { password: staffPassword, code: appCodeNow(key) }),
    },
    { name: "console-sign-in", path: /^\/admin\/sign-in$/, reach: go("/admin/sign-in") },
    {
      name: "console-dashboard",
      path: /^\/admin$/,
      // The set-up spent this step's code: the sign-in takes the next one, as the app shows it.
      reach: async (page) => submitForm(page, { email, password: staffPassword, code: appCodeNow(key, 1) }),
    },
    {
      name: "console-customers",
      path: /^\/admin\/customers$/,
      reach: go(`/admin/customers?q=${encodeURIComponent(customerEmail)}`),
    },
    {
      name: "console-customer",
      path: /^\/admin\/customers\/[^/]+$/,
      reach: async (page) => {
        await page.locator('main a[href^="/admin/customers/"]').first().click();
        await page.waitForLoadState("load");
      },
    },
    { name: "console-staff", path: /^\/admin\/staff$/, reach: go("/admin/staff") },
    { name: "console-webhooks", path: /^\/admin\/webhooks$/, reach: go("/admin/webhooks") },
    { name: "console-clients", path: /^\/admin\/clients$/, reach: go("/admin/clients") },
  ];
}

/** The maintenance page (sign-in while `mamori maintenance on`), switched off again at once. */
const maintenanceStop: Stop = {
  name: "maintenance",
  path: /^\/sign-in$/,
  shows: ".support",
  reach: async (page) => {
    const db = openDatabase(server.databaseUrl);
    try {
      await setMaintenanceMode(db, { on: true, message: "", retryAfterSeconds: 1800 }, new Date());
      try {
        await page.goto(`${server.url}/sign-in`);
      } finally {
        await setMaintenanceMode(db, { on: false }, new Date());
      }
    } finally {
      await db.destroy();
    }
  },
};

async function tour(lang: "ja" | "en"): Promise<Findings> {
  const findings: Findings = [];
  const shopper = await twoStepShopper(server, lang, randomMobileNumber());
  const context = await tourContext(lang);
  try {
    const page = await context.newPage();
    const stops = [
      ...signedOutStops(lang, shopper),
      ...signedInStops(lang),
      ...consoleStops(lang, shopper.email),
    ];
    for (const stop of stops) await checkStop(page, lang, stop, findings);
  } finally {
    await context.close();
  }
  // The password generator as it works without JavaScript: a context whose pages get no script of
  // their own (axe still runs, added by the DevTools protocol).
  const noScript = await tourContext(lang);
  try {
    const page = await noScript.newPage();
    await page.route("**/*.js", (route) => route.abort());
    await checkStop(
      page,
      lang,
      {
        name: "password-generator",
        path: /^\/tools\/password-generator$/,
        reach: go("/tools/password-generator"),
      },
      findings,
    );
  } finally {
    await noScript.close();
  }
  return findings;
}

// The two languages walk side by side (their own accounts and contexts): the machine's second core
// has work while the first runs axe.
describe("the page tour", { concurrency: 2 }, () => {
  for (const [lang, language] of [
    ["ja", "Japanese"],
    ["en", "English"],
  ] as const) {
    test(`every page in ${language} has no serious or critical accessibility violation and nothing scrolling sideways, on a desktop and a phone`, {
      timeout: tourTimeoutMs,
    }, async () => {
      assert.deepEqual(await tour(lang), []);
    });
  }
});

// Maintenance holds every sign-in of the server, so it comes once both walks are over.
test("the maintenance page has no serious or critical accessibility violation, in both languages and sizes", async () => {
  const findings: Findings = [];
  for (const lang of ["ja", "en"] as const) {
    const context = await tourContext(lang);
    try {
      await checkStop(await context.newPage(), lang, maintenanceStop, findings);
    } finally {
      await context.close();
    }
  }
  assert.deepEqual(findings, []);
});
