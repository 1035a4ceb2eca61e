import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import {
  launchBrowser,
  mainButton,
  newContext,
  pagePath as path,
  saveScreenshot,
  visibleText,
  watchPage,
} from "../support/browser.ts";
import { requestSignal } from "../support/patience.ts";
import { latestCode, type MamoriServer, outboxMessages, startMamori } from "../support/server.ts";
import { randomMobileNumber } from "../support/server-accounts.ts";

// プロフィール(氏名・Eメールアドレス・携帯電話番号)を、日本語のお客様としてChromiumで操作する。
// 言葉はここに書き出す(src/i18n から読まない): 画面の言葉が違えばテストが失敗する。

const password = "hoshizora no shita de 7 tsubame ga tobu";

const words = {
  signUpName: "氏名",
  signUpEmail: "Eメールアドレス",
  signUpPassword: "パスワード",
  signUpSubmit: "次に進む",
  registrationSubmit: "アカウントを作成",
  code: "セキュリティコード",
  verifySubmit: "確認",
  changeEmail: "Eメールアドレスを変更",
  welcome: "アカウントを作成しました",
  addPhone: "携帯電話番号を登録する",
  phoneTitle: "携帯電話番号",
  phoneLabel: "携帯電話番号",
  phoneSubmit: "SMSでコードを送信",
  phoneDone: "携帯電話番号を登録しました。",
  editEmail: "Eメールアドレスを編集",
  newEmail: "新しいEメールアドレス",
  continue: "続行",
  emailSubmit: "Eメールアドレスを変更",
  emailDone: "Eメールアドレスを変更しました。",
  undoTitle: "Eメールアドレスの変更の取り消し",
  undoSubmit: "変更を取り消す",
};

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

async function heading(page: Page): Promise<string> {
  return visibleText(page.locator("h1"));
}

/** 新規登録でEメールアドレスを打ち間違え、コードの画面から「Eメールアドレスを変更」で直して登録する。 */
async function signUpWithTypo(page: Page, email: string): Promise<void> {
  const typo = email.replace("@example.jp", "@exmaple.jp");
  await page.goto(`${server.url}/sign-up`);
  await page.getByLabel(words.signUpName, { exact: true }).fill("山田 花子");
  await page.getByLabel(words.signUpEmail, { exact: true }).fill(typo);
  await page.getByLabel(words.signUpPassword, { exact: true }).fill(password);
  await mainButton(page, words.signUpSubmit).click();
  await page.waitForURL((url) => url.pathname === "/sign-up/verify");
  await page.getByRole("link", { name: words.changeEmail, exact: true }).click();
  await page.waitForURL((url) => url.pathname === "/sign-up");
  assert.equal(await page.getByLabel(words.signUpName, { exact: true }).inputValue(), "山田 花子");
  assert.equal(await page.getByLabel(words.signUpEmail, { exact: true }).inputValue(), typo);
  assert.equal(
    await page.getByLabel(words.signUpPassword, { exact: true }).inputValue(),
    "",
    "never the password",
  );
  await saveScreenshot(page, "profile-sign-up-change-email-ja");
  await page.getByLabel(words.signUpEmail, { exact: true }).fill(email);
  await page.getByLabel(words.signUpPassword, { exact: true }).fill(password);
  await mainButton(page, words.signUpSubmit).click();
  await page.waitForURL((url) => url.pathname === "/sign-up/verify");
  await page.getByLabel(words.code, { exact: true }).fill(await latestCode(server, email));
  await mainButton(page, words.registrationSubmit).click();
  await page.waitForURL((url) => url.pathname === "/account/welcome");
}

test("新規登録でEメールアドレスを直し、ようこそ画面から携帯電話番号を登録する(050は断られる)", async () => {
  const context = await newContext(browser);
  const page = await context.newPage();
  const problems = watchPage(page);
  const email = `profile-${randomUUID().slice(0, 8)}@example.jp`;
  await signUpWithTypo(page, email);
  assert.equal(await heading(page), words.welcome);
  await saveScreenshot(page, "profile-welcome-ja");

  await page.getByRole("link", { name: new RegExp(words.addPhone) }).click();
  await page.waitForURL((url) => url.pathname === "/account/security/phone");
  assert.equal(await heading(page), words.phoneTitle);
  assert.match(await visibleText(page.locator("main")), /「Eメールアドレスをお忘れの場合」/);
  await page.getByLabel(words.phoneLabel, { exact: true }).fill("050-1234-5678");
  await mainButton(page, words.phoneSubmit).click();
  await page.locator("#error-summary").waitFor();
  assert.match(await visibleText(page.locator("#error-summary")), /050で始まるIP電話/);
  await saveScreenshot(page, "profile-phone-050-ja");

  const mobile = randomMobileNumber();
  await page.getByLabel(words.phoneLabel, { exact: true }).fill(mobile);
  await mainButton(page, words.phoneSubmit).click();
  await page.waitForURL((url) => url.pathname === "/account/security/phone/verify");
  const e164 = `+81${mobile.replaceAll("-", "").slice(1)}`;
  await page.getByLabel(words.code, { exact: true }).fill(await latestCode(server, e164));
  await mainButton(page, words.verifySubmit).click();
  await page.waitForURL((url) => url.pathname === "/account/security");
  assert.match(await visibleText(page.locator("main")), new RegExp(words.phoneDone));
  assert.match(await visibleText(page.locator("main")), new RegExp(mobile.slice(-4)));
  await saveScreenshot(page, "profile-security-ja");
  assert.deepEqual(problems.list(), []);
  await context.close();
});

test("Eメールアドレスを変更し、以前のアドレスに届いたリンクから取り消す", async () => {
  const context = await newContext(browser);
  const page = await context.newPage();
  const email = `before-${randomUUID().slice(0, 8)}@example.jp`;
  const newEmail = `after-${randomUUID().slice(0, 8)}@example.jp`;
  await signUpWithTypo(page, email);
  await page.goto(`${server.url}/account/security`);
  await page.getByRole("link", { name: words.editEmail, exact: true }).click();
  await page.waitForURL((url) => url.pathname === "/account/security/email");
  await page.getByLabel(words.newEmail, { exact: true }).fill(newEmail);
  await saveScreenshot(page, "profile-email-ja");
  await mainButton(page, words.continue).click();
  await page.waitForURL((url) => url.pathname === "/account/security/email/verify");
  await page.getByLabel(words.code, { exact: true }).fill(await latestCode(server, newEmail));
  await mainButton(page, words.emailSubmit).click();
  await page.waitForURL((url) => url.pathname === "/account/security");
  assert.match(await visibleText(page.locator("main")), new RegExp(words.emailDone));
  assert.match(await visibleText(page.locator("main")), new RegExp(newEmail));

  // 以前のアドレスへのお知らせ: 心当たりがない場合のリンク。
  const notice = (await outboxMessages(server, email)).find((m) => /心当たりがない場合/.test(m.text));
  const link = /https?:\/\/\S+\/account\/email\/undo\?token=\S+/.exec(notice?.text ?? "")?.[0];
  assert.ok(link, "the old address got the undo link");
  const other = await newContext(browser);
  const mailbox = await other.newPage();
  await mailbox.goto(link);
  assert.equal(await heading(mailbox), words.undoTitle);
  await saveScreenshot(mailbox, "profile-email-undo-ja");
  await mainButton(mailbox, words.undoSubmit).click();
  await mailbox.locator("main a.button").waitFor();
  assert.match(await visibleText(mailbox.locator("main")), /すべての端末からログアウトしました/);
  assert.equal(path(mailbox), "/account/email/undo");

  // 変更した側のブラウザはログアウトされている。
  const session = await fetch(`${server.url}/api/v1/session`, {
    headers: { cookie: (await context.cookies()).map((c) => `${c.name}=${c.value}`).join("; ") },
    signal: requestSignal(),
  });
  assert.equal(session.status, 401);
  await other.close();
  await context.close();
});
