import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import {
  desktop,
  launchBrowser,
  mainButton,
  newContext,
  phone,
  saveScreenshot,
  watchPage,
} from "../support/browser.ts";
import { type MamoriServer, startMamori } from "../support/server.ts";

// The forms' JavaScript in Debian's chromium (issue 18, "Forms"): the 表示 toggle of a password
// field, and what a suggested password leaves on the form. The words are written out here.

const words = {
  show: "パスワードを表示",
  link: "パスワード生成ツールで作る",
  generate: "生成する",
  use: "このパスワードを使う",
  used: "フォームに入力しました。このタブは閉じてかまいません。",
  save: "提案されたパスワードを入力しました。パスワードマネージャーに保存するか、安全な場所に控えてから次に進んでください。",
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

async function typeOf(page: Page, id: string): Promise<string | null> {
  return page.locator(`#${id}`).getAttribute("type");
}

describe("the forms in a real browser", () => {
  test("the 表示 toggle shows and hides the password, says so with aria-pressed, and hides it again on submit", {
    timeout: 60_000,
  }, async () => {
    const context = await newContext(browser, { viewport: phone, isMobile: true, hasTouch: true });
    try {
      const page = await context.newPage();
      const problems = watchPage(page);
      await page.goto(`${server.url}/sign-in`);
      const toggle = page.getByRole("button", { name: words.show, exact: true });
      assert.equal(await toggle.isVisible(), true, "shown once the script runs");
      assert.equal(await toggle.getAttribute("aria-pressed"), "false");
      await page.getByLabel("パスワード", { exact: true }).fill("Murasaki-Kumo-7381");
      await toggle.click();
      assert.equal(await typeOf(page, "password"), "text");
      assert.equal(await toggle.getAttribute("aria-pressed"), "true");
      const box = await toggle.boundingBox();
      assert.ok(box && box.width >= 44 && box.height >= 44, `tap target ${JSON.stringify(box)}`);
      await saveScreenshot(page, "sign-in-password-shown-phone-ja");
      await toggle.click();
      assert.equal(await typeOf(page, "password"), "password");
      assert.equal(await toggle.getAttribute("aria-pressed"), "false");

      // Shown, then sent: the field is a password field again before the browser sees the submit.
      await toggle.click();
      await page.getByLabel("Eメールアドレスまたは携帯電話番号", { exact: true }).fill("nobody@example.jp");
      await page.locator("main form[action='/sign-in'] button[type=submit]").click();
      await page.locator("#error-summary").waitFor();
      assert.equal(await typeOf(page, "password"), "password");
      assert.deepEqual(problems.list(), []);
    } finally {
      await context.close();
    }
  });

  test("without JavaScript there is no 表示 button that does nothing", { timeout: 60_000 }, async () => {
    const context = await newContext(browser, { javaScriptEnabled: false, viewport: desktop });
    try {
      const page = await context.newPage();
      await page.goto(`${server.url}/sign-up`);
      assert.equal(await page.getByRole("button", { name: words.show }).count(), 0);
      assert.equal(await page.locator("button.password-toggle").isHidden(), true);
    } finally {
      await context.close();
    }
  });

  test("after 「このパスワードを使う」 the password shows on the form with a reminder to save it", {
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
        form.getByRole("link", { name: words.link }).click(),
      ]);
      await tool.waitForLoadState();
      await mainButton(tool, words.generate).click();
      const row = tool.locator("#generator-results tr.password-row").first();
      await row.waitFor();
      const chosen = (await row.locator("code.password").textContent()) ?? "";
      await row.getByRole("button", { name: words.use }).click();
      await row.getByText(words.used).waitFor();
      await form.bringToFront();
      const reminder = form.locator("#password-generated");
      await reminder.waitFor();
      assert.equal(await reminder.textContent(), words.save);
      assert.equal(await reminder.getAttribute("role"), "status");
      assert.match(
        (await form.locator("#password").getAttribute("aria-describedby")) ?? "",
        /password-generated/,
      );
      assert.equal(await typeOf(form, "password"), "text", "the password can be seen");
      assert.equal(await form.locator("#password").inputValue(), chosen);
      assert.equal(
        await form.getByRole("button", { name: words.show, exact: true }).getAttribute("aria-pressed"),
        "true",
      );
      await saveScreenshot(form, "sign-up-suggested-password-desktop-ja");
      await form.getByRole("button", { name: "次に進む" }).click();
      await form.waitForURL((url) => url.pathname === "/sign-up/verify");
      assert.deepEqual(problems.list(), []);
    } finally {
      await context.close();
    }
  });
});
