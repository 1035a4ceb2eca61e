import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import pino from "pino";
import type { Browser, Page } from "playwright-core";
import { loadConfig } from "../../src/config/config.ts";
import { type Database, openDatabase } from "../../src/db/database.ts";
import { secureRandom, systemClock } from "../../src/deps.ts";
import { hotp, totpStep } from "../../src/factors/totp/totp.ts";
import { createStaff } from "../../src/staff/staff-accounts.ts";
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
import { registerOnServer } from "../support/server-accounts.ts";

// The operator console as support staff use it, in Japanese, without JavaScript on its pages: set
// up from the link the CLI printed, sign in with password and app code, find the caller, sign them
// out everywhere with a reason. Support sees no "close" button; an admin does.

const staffPassword = "Kagami-Mochi-4417-Sakura";
const customerPassword = "hoshizora no shita de 7 tsubame ga tobu";

let server: MamoriServer;
let browser: Browser;
let db: Database;

before(async () => {
  server = await startMamori();
  browser = await launchBrowser();
  db = openDatabase(server.databaseUrl);
});

after(async () => {
  await db?.destroy();
  await browser?.close();
  await server?.stop();
});

/** A set-up link as `mamori staff create` prints it, for the server's database and address. */
async function setUpLink(email: string, name: string, role: "support" | "admin"): Promise<string> {
  const config = loadConfig({ NODE_ENV: "test", MAMORI_PUBLIC_URL: server.url });
  const created = await createStaff(
    { db, clock: systemClock, random: secureRandom, config, log: pino({ level: "silent" }) },
    { email, name, role },
  );
  assert.ok(created.ok);
  return created.enrolUrl;
}

function base32Decode(text: string): Buffer {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of text.replace(/\s/g, "")) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const bytes: number[] = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(Number.parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** Sets up through the link and signs in; returns once the dashboard shows. */
async function enrolAndSignIn(
  page: Page,
  email: string,
  name: string,
  role: "support" | "admin",
): Promise<void> {
  await page.goto(await setUpLink(email, name, role));
  await checkPage(page, "ja", "スタッフ アカウントの設定");
  const key = base32Decode(await visibleText(page.locator("[data-totp-key]")));
  await page.getByLabel("新しいパスワード").fill(staffPassword);
  // The step the set-up uses is spent: sign-in takes the next one (the app shows it 30 s later).
  const step = totpStep(new Date());
  await page.getByLabel("認証アプリに表示された6桁のコード").fill(hotp(key, step));
  if (role === "support") await saveScreenshot(page, "console-enrol-ja");
  await mainButton(page, "設定を完了").click();
  await page.getByRole("link", { name: "スタッフ ログイン" }).click();
  await page.waitForURL((url) => url.pathname === "/admin/sign-in");
  await checkPage(page, "ja", "スタッフ ログイン");
  await page.getByLabel("Eメールアドレス").fill(email);
  await page.getByLabel("パスワード", { exact: true }).fill(staffPassword);
  await page.getByLabel("認証アプリのコード（6桁）").fill(hotp(key, step + 1));
  await mainButton(page, "ログイン").click();
  await page.waitForURL((url) => url.pathname === "/admin");
  await checkPage(page, "ja", "過去24時間");
}

describe("the operator console in a real browser", () => {
  test("support finds a customer and signs them out everywhere with a reason; there is no close button", {
    timeout: 90_000,
  }, async () => {
    const customerEmail = `caller-${randomUUID().slice(0, 8)}@example.jp`;
    await registerOnServer(server, {
      name: "電話 花子",
      email: customerEmail,
      password: customerPassword,
      locale: "ja",
    });
    const context = await newContext(browser, { viewport: desktop });
    try {
      const page = await context.newPage();
      const problems = watchPage(page);
      await enrolAndSignIn(
        page,
        `support-${randomUUID().slice(0, 8)}@shop.example.jp`,
        "支援 太郎",
        "support",
      );
      await saveScreenshot(page, "console-dashboard-ja");

      await page.getByRole("link", { name: "お客様検索" }).click();
      await page.getByLabel("Eメールアドレス、携帯電話番号、氏名、またはID").fill(customerEmail);
      await mainButton(page, "検索").click();
      await page.getByRole("link", { name: "電話 花子" }).click();
      await checkPage(page, "ja", "電話 花子");
      assert.equal(await mainButton(page, "アカウントを閉鎖").count(), 0, "support has no close button");
      assert.equal(
        await page.getByRole("link", { name: "Webhook", exact: true }).count(),
        0,
        "no admin pages",
      );
      await saveScreenshot(page, "console-customer-ja");

      await page.locator("#reason-sign_out_everywhere").fill("お客様からのお電話（端末紛失）");
      await mainButton(page, "すべての端末からログアウト").click();
      assert.match(await visibleText(page.locator(".notice")), /^実行しました:/);
      assert.match(
        await visibleText(page.locator("main")),
        /お客様からのお電話（端末紛失）/,
        "the staff trail shows it",
      );
      assert.deepEqual(problems.list(), []);
    } finally {
      await context.close();
    }
  });

  test("on a phone, an admin sees close and reopen, and the staff list", { timeout: 90_000 }, async () => {
    const customerEmail = `closing-${randomUUID().slice(0, 8)}@example.jp`;
    await registerOnServer(server, {
      name: "閉鎖 次郎",
      email: customerEmail,
      password: customerPassword,
      locale: "ja",
    });
    const context = await newContext(browser, { viewport: phone, isMobile: true, hasTouch: true });
    try {
      const page = await context.newPage();
      const problems = watchPage(page);
      await enrolAndSignIn(page, `admin-${randomUUID().slice(0, 8)}@shop.example.jp`, "管理 花子", "admin");
      await page.goto(`${server.url}/admin/customers?q=${encodeURIComponent(customerEmail)}`);
      await page.getByRole("link", { name: "閉鎖 次郎" }).click();
      assert.equal(await mainButton(page, "アカウントを閉鎖").count(), 1);
      await page.goto(`${server.url}/admin/staff`);
      await checkPage(page, "ja", "スタッフ");
      await saveScreenshot(page, "console-staff-phone-ja");
      // The admin's service pages, reached from the console's navigation.
      await page.getByRole("link", { name: "Webhook", exact: true }).click();
      await checkPage(page, "ja", "Webhook");
      await page.getByRole("link", { name: "連携アプリ・署名鍵" }).click();
      await checkPage(page, "ja", "連携アプリ（OIDCクライアント）");
      assert.equal(await mainButton(page, "署名鍵のローテーション").count(), 1);
      assert.deepEqual(problems.list(), []);
    } finally {
      await context.close();
    }
  });
});
