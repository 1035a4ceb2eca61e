import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import {
  checkPage,
  desktop,
  horizontalOverflow,
  launchBrowser,
  newContext,
  phone,
  saveScreenshot,
  watchPage,
} from "../support/browser.ts";
import { type MamoriServer, startMamori } from "../support/server.ts";
import { giveVerifiedPhone, randomMobileNumber, registerOnServer } from "../support/server-accounts.ts";

// アカウントサービスとログインとセキュリティを、390×844のスマートフォンで指で操作できるか測る。
// リンクとボタンは44×44 CSS px以上(WCAG 2.5.5)、チェックボックスとラジオボタンは24 px以上、
// 横スクロールなし。ログインとセキュリティは1項目1行(項目名・現在の値・操作)、スマートフォンでは
// 「編集」が値の下に全幅のボタン、パソコンでは右側。アカウントサービスはタイル(全体が1つのリンク)。
// 言葉はここに書き出す(src/i18n から読まない): 画面の言葉が違えばテストが失敗する。

const password = "hoshizora no shita de 7 tsubame ga tobu";

const words = {
  identifier: "Eメールアドレスまたは携帯電話番号",
  password: "パスワード",
  submit: "ログイン",
  accountTitle: "アカウントサービス",
  securityTitle: "ログインとセキュリティ",
  tiles: [
    {
      title: "ログインとセキュリティ",
      description: "名前、Eメールアドレス、携帯電話番号、パスワード、2段階認証の設定",
    },
    {
      title: "ログイン中の端末",
      description: "ログインしているブラウザとアプリを確認し、ログアウトできます",
    },
  ],
  editName: "氏名を編集",
  editPassword: "パスワードを編集",
};

/** Customer pages beside the two above, measured the same way (signed out, then signed in). */
const signedOutPages = [
  "/sign-in",
  "/sign-up",
  "/password-reset",
  "/email-reminder",
  "/help/sign-in",
  "/tools/password-generator",
];
const signedInPages = [
  "/account/welcome",
  "/account/sessions",
  "/account/security/name",
  "/account/security/email",
  "/account/security/phone",
  "/account/security/password",
  "/account/security/two-step",
  "/account/security/two-step/setup",
  "/account/security/passkeys",
  "/account/security/sign-in-methods",
  "/account/security/apps",
  "/account/security/activity",
  "/account/security/data",
  "/account/security/close",
];

/** The smallest sizes a finger can hit, in CSS px. */
const minimumTarget = 44;
const minimumCheckable = 24;

type Box = { what: string; width: number; height: number };

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
 * Every rendered link and button on the page (the header's and footer's too, and the skip link,
 * which sits off-screen until focused), and every checkbox and radio button, with its size.
 */
async function targets(page: Page): Promise<{ pressable: Box[]; checkable: Box[] }> {
  return page.evaluate(() => {
    function describe(element: Element): string {
      const text = (element.getAttribute("aria-label") ?? element.textContent ?? "")
        .replace(/\s+/g, " ")
        .trim();
      return `${element.tagName.toLowerCase()}${element.id ? `#${element.id}` : ""}${element.className ? `.${String(element.className).replace(/\s+/g, ".")}` : ""} "${text.slice(0, 40)}"`;
    }
    function measured(selector: string): { what: string; width: number; height: number }[] {
      return Array.from(document.querySelectorAll(selector))
        .filter((element) => element.checkVisibility() && element.getClientRects().length > 0)
        .map((element) => {
          const box = element.getBoundingClientRect();
          return { what: describe(element), width: box.width, height: box.height };
        });
    }
    return {
      pressable: measured(
        "a[href], button, summary, input[type=submit], input[type=button], [role=button], [role=link]",
      ),
      checkable: measured("input[type=checkbox], input[type=radio]"),
    };
  });
}

/** Every target smaller than a finger on the page, and sideways scrolling, as readable lines. */
async function tapProblems(page: Page): Promise<string[]> {
  const { pressable, checkable } = await targets(page);
  const problems = [
    ...(pressable.length === 0 ? ["no links or buttons found"] : []),
    ...pressable
      .filter((t) => t.width < minimumTarget - 0.5 || t.height < minimumTarget - 0.5)
      .map(
        (t) =>
          `${t.what} ${t.width.toFixed(0)}x${t.height.toFixed(0)} (less than ${minimumTarget}x${minimumTarget})`,
      ),
    ...checkable
      .filter((t) => t.width < minimumCheckable - 0.5 || t.height < minimumCheckable - 0.5)
      .map(
        (t) =>
          `${t.what} ${t.width.toFixed(0)}x${t.height.toFixed(0)} (less than ${minimumCheckable}x${minimumCheckable})`,
      ),
  ];
  const overflow = await horizontalOverflow(page);
  if (overflow > 0) problems.push(`the page is ${overflow} px wider than the ${phone.width} px screen`);
  return problems;
}

/** Fails with the list of every target smaller than a finger, not only the first. */
async function assertTapTargets(page: Page, where: string): Promise<void> {
  assert.deepEqual(await tapProblems(page), [], `tap targets and width on ${where}`);
}

/** A new account with a verified mobile number (so every row has its value), signed in on the page. */
async function signedIn(page: Page): Promise<void> {
  const email = `layout-${randomUUID().slice(0, 8)}@example.jp`;
  await registerOnServer(server, { name: "山田 花子", email, password, locale: "ja" });
  await giveVerifiedPhone(server, email, randomMobileNumber());
  await page.goto(`${server.url}/sign-in`);
  await page.getByLabel(words.identifier, { exact: true }).fill(email);
  await page.getByLabel(words.password, { exact: true }).fill(password);
  await page.locator("main").getByRole("button", { name: words.submit, exact: true }).click();
  await page.waitForURL((url) => url.pathname === "/account");
}

/** A Login & security row's box and its action's box, found by the row's label. */
async function rowAndAction(
  page: Page,
  label: string,
  action: string,
): Promise<{ row: DOMRect; value: DOMRect; action: DOMRect }> {
  const row = page.locator("dl.settings > div", { has: page.locator("dt", { hasText: label }) });
  const boxes = {
    row: await row.evaluate((element) => element.getBoundingClientRect().toJSON() as DOMRect),
    value: await row
      .locator("dd.value")
      .first()
      .evaluate((element) => element.getBoundingClientRect().toJSON() as DOMRect),
    action: await row
      .getByRole("link", { name: action, exact: true })
      .evaluate((element) => element.getBoundingClientRect().toJSON() as DOMRect),
  };
  return boxes;
}

describe("phone ergonomics and the account pages' layout", () => {
  test("at 390x844 every link and button on アカウントサービス and ログインとセキュリティ is at least 44x44 px, checkboxes and radios 24 px, nothing scrolls sideways", {
    timeout: 90_000,
  }, async () => {
    const context = await newContext(browser, { viewport: phone, isMobile: true, hasTouch: true });
    try {
      const page = await context.newPage();
      const problems = watchPage(page);
      await page.goto(`${server.url}/sign-in`);
      await assertTapTargets(page, "/sign-in");
      await signedIn(page);

      await checkPage(page, "ja", words.accountTitle);
      await assertTapTargets(page, "/account");
      await saveScreenshot(page, "account-ja-phone");

      await page.goto(`${server.url}/account/security`);
      await checkPage(page, "ja", words.securityTitle);
      await assertTapTargets(page, "/account/security");
      await saveScreenshot(page, "account-security-ja-phone");
      assert.deepEqual(problems.list(), []);
    } finally {
      await context.close();
    }
  });

  test("at 390x844 the other customer pages too, and the account pages in English: links and buttons at least 44x44 px, checkboxes and radios 24 px, no sideways scrolling", {
    timeout: 180_000,
  }, async () => {
    const context = await newContext(browser, { viewport: phone, isMobile: true, hasTouch: true });
    try {
      const page = await context.newPage();
      const found: string[] = [];
      async function visit(path: string): Promise<void> {
        await page.goto(`${server.url}${path}`);
        assert.equal(new URL(page.url()).pathname, path.split("?")[0], `${path} opened as itself`);
        for (const problem of await tapProblems(page)) found.push(`${path}: ${problem}`);
      }
      for (const path of signedOutPages) await visit(path);
      await signedIn(page);
      for (const path of signedInPages) await visit(path);
      // The same pages in English, whose words are longer.
      await page.goto(`${server.url}/locale/en?return_to=%2Faccount`);
      await page.waitForURL((url) => url.pathname === "/account");
      assert.equal(await page.locator("html").getAttribute("lang"), "en");
      for (const path of ["/account", "/account/security", ...signedInPages]) await visit(path);
      assert.deepEqual(found, []);
    } finally {
      await context.close();
    }
  });

  test("アカウントサービス shows its services as tiles: each tile one link named by its title and description", {
    timeout: 90_000,
  }, async () => {
    const context = await newContext(browser, { viewport: phone, isMobile: true, hasTouch: true });
    try {
      const page = await context.newPage();
      await signedIn(page);
      const tiles = page.locator("main .tiles > li");
      assert.equal(await tiles.count(), words.tiles.length, "one tile per service");
      for (const [index, expected] of words.tiles.entries()) {
        const tile = tiles.nth(index);
        const links = tile.getByRole("link");
        assert.equal(await links.count(), 1, `tile ${expected.title} is one link`);
        // The link's name starts with the tile's title and says what is behind it.
        const link = tile.getByRole("link", {
          name: `${expected.title} ${expected.description}`,
          exact: true,
        });
        assert.equal(await link.count(), 1, `tile ${expected.title} is named by its title and description`);
        // The whole tile is the link: a tap anywhere on it follows it.
        const tileBox = await tile.evaluate((element) => element.getBoundingClientRect().toJSON() as DOMRect);
        const linkBox = await link.evaluate((element) => element.getBoundingClientRect().toJSON() as DOMRect);
        for (const side of ["left", "right", "top", "bottom"] as const) {
          assert.ok(
            Math.abs(tileBox[side] - linkBox[side]) < 1,
            `tile ${expected.title}: the link covers its ${side}`,
          );
        }
      }
      // Still found the way the other browser tests find it.
      await page.getByRole("link", { name: new RegExp(`^${words.securityTitle}`) }).click();
      await page.waitForURL((url) => url.pathname === "/account/security");
    } finally {
      await context.close();
    }
  });

  test("ログインとセキュリティ: one row per item; 編集 is a full-width button under the value on a phone and at the right on a desktop", {
    timeout: 90_000,
  }, async () => {
    const context = await newContext(browser, { viewport: phone, isMobile: true, hasTouch: true });
    try {
      const page = await context.newPage();
      await signedIn(page);
      await page.goto(`${server.url}/account/security`);
      for (const [label, action] of [
        ["氏名", words.editName],
        ["パスワード", words.editPassword],
      ] as const) {
        const { row, value, action: button } = await rowAndAction(page, label, action);
        assert.ok(button.top >= value.bottom - 0.5, `${label}: 編集 under the value on a phone`);
        assert.ok(Math.abs(button.width - row.width) < 1, `${label}: 編集 as wide as its row on a phone`);
      }

      await page.setViewportSize(desktop);
      await saveScreenshot(page, "account-security-ja-desktop");
      for (const [label, action] of [
        ["氏名", words.editName],
        ["パスワード", words.editPassword],
      ] as const) {
        const { row, value, action: button } = await rowAndAction(page, label, action);
        assert.ok(Math.abs(button.right - row.right) < 1, `${label}: 編集 at the row's right on a desktop`);
        assert.ok(
          button.left >= value.right - 0.5,
          `${label}: 編集 beside the value on a desktop, not under it`,
        );
        assert.ok(button.width < row.width / 3, `${label}: 編集 not full width on a desktop`);
      }
    } finally {
      await context.close();
    }
  });
});
