import assert from "node:assert/strict";
import { after, test } from "node:test";
import { buildTestApp, strongPassword } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import { flowCookieSetBy, location, openForm, postForm } from "../support/forms.ts";
import { phoneCode } from "../support/two-step.ts";

// The profile's HTML pages: plain forms with the form token, no JavaScript needed.
after(stopSharedPostgres);

test("Login & security offers 編集 for the name, the email and the mobile number", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const page = await openForm(app, "/account/security", owner.cookie);
  for (const href of ["/account/security/name", "/account/security/email", "/account/security/phone"]) {
    assert.match(page.body, new RegExp(`href="${href}"`), href);
  }
  assert.match(page.body, /aria-label="Eメールアドレスを編集"/);
});

test("the name form changes the name and says so", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const form = await openForm(app, "/account/security/name", owner.cookie);
  const empty = await postForm(app, "/account/security/name", form, { _csrf: form.csrf, name: " " });
  assert.equal(empty.statusCode, 400);
  assert.match(empty.body, /氏名を入力してください/);
  const done = await postForm(app, "/account/security/name", form, { _csrf: form.csrf, name: "佐藤 花子" });
  assert.equal(location(done), "/account/security?done=name");
  const security = await openForm(app, "/account/security?done=name", owner.cookie);
  assert.match(security.body, /佐藤 花子/);
  assert.match(security.body, /氏名を変更しました/);
  const forged = await postForm(app, "/account/security/name", form, { _csrf: "forged", name: "Thief" });
  assert.notEqual(forged.statusCode, 303, "a form without the token changes nothing");
});

test("the email pages send a code to the new address, and the code page completes the change", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const form = await openForm(app, "/account/security/email", owner.cookie);
  assert.match(form.body, /7日以内/);
  const posted = await postForm(app, "/account/security/email", form, {
    _csrf: form.csrf,
    email: "new-page@example.jp",
  });
  const codePage = location(posted);
  assert.match(codePage, /^\/account\/security\/email\/verify\?change=/);
  const page = await openForm(app, codePage, form.cookie);
  assert.match(page.body, /new-page@example\.jpにセキュリティコードを送信しました/);
  const change = new URL(codePage, "http://x").searchParams.get("change") ?? "";
  const code = (await app.latestCode("new-page@example.jp", "email_change_code")) ?? "";
  const done = await postForm(app, "/account/security/email/verify", page, {
    _csrf: page.csrf,
    change,
    code,
  });
  assert.equal(location(done), "/account/security?done=email");
});

test("the email page asks for the password again after the reauthentication window", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  app.clock.advance(app.config.limits.reauthenticationWindowSeconds + 1);
  const page = await app.inject({
    method: "GET",
    url: "/account/security/email",
    headers: { cookie: owner.cookie },
  });
  assert.equal(location(page), "/account/security/reauthenticate?return_to=%2Faccount%2Fsecurity%2Femail");
});

test("the undo page asks before it undoes, and the link then stops working", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const started = await app.inject({
    method: "POST",
    url: "/api/v1/security/email-changes",
    headers: { cookie: owner.cookie, origin: app.config.publicUrl.origin },
    payload: { email: "undo-page@example.jp" },
  });
  const id = started.json<{ emailChange: { id: string } }>().emailChange.id;
  const code = (await app.latestCode("undo-page@example.jp", "email_change_code")) ?? "";
  await app.inject({
    method: "POST",
    url: `/api/v1/security/email-changes/${id}/verify`,
    headers: { cookie: owner.cookie, origin: app.config.publicUrl.origin },
    payload: { code },
  });
  const mail = (await app.messagesTo(owner.email)).find((m) => m.template === "email_changed");
  const link = /https?:\/\/\S+\/account\/email\/undo\?token=\S+/.exec(mail?.text_body ?? "")?.[0] ?? "";
  assert.match(mail?.text_body ?? "", /心当たりがない場合/);
  const url = new URL(link);
  // Opening the link (a mail scanner does) changes nothing.
  const form = await openForm(app, `${url.pathname}${url.search}`);
  assert.match(form.body, /変更を取り消す/);
  const still = await app.signIn({ identifier: "undo-page@example.jp", password: owner.password });
  assert.equal(still.statusCode, 200);
  const token = url.searchParams.get("token") ?? "";
  const undone = await postForm(app, "/account/email/undo", form, { _csrf: form.csrf, token });
  assert.equal(undone.statusCode, 200);
  assert.match(undone.body, /すべての端末からログアウトしました/);
  const again = await app.inject({ method: "GET", url: `${url.pathname}${url.search}` });
  assert.equal(again.statusCode, 410);
  assert.match(again.body, /既に使われています/);
});

test("the mobile number page says what the number is for, and refuses 050 with a clear message", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const form = await openForm(app, "/account/security/phone", owner.cookie);
  assert.match(form.body, /ログインするとき/);
  assert.match(form.body, /「Eメールアドレスをお忘れの場合」/);
  const ip = await postForm(app, "/account/security/phone", form, {
    _csrf: form.csrf,
    phone: "050-1234-5678",
  });
  assert.equal(ip.statusCode, 400);
  assert.match(ip.body, /050で始まるIP電話/);
  const posted = await postForm(app, "/account/security/phone", form, {
    _csrf: form.csrf,
    phone: "090-1234-5678",
  });
  const codePage = location(posted);
  const page = await openForm(app, codePage, form.cookie);
  const change = new URL(codePage, "http://x").searchParams.get("change") ?? "";
  const code = (await phoneCode(app, "+819012345678")) ?? "";
  const done = await postForm(app, "/account/security/phone/verify", page, {
    _csrf: page.csrf,
    change,
    code,
  });
  assert.equal(location(done), "/account/security?done=phone");
  const security = await openForm(app, "/account/security?done=phone", owner.cookie);
  assert.match(security.body, /5678/);
});

test("the sign-up code page offers 「Eメールアドレスを変更」, back to the form filled in except the password", async (t) => {
  const app = await buildTestApp(t);
  const signUp = await openForm(app, "/sign-up");
  const posted = await postForm(app, "/sign-up", signUp, {
    _csrf: signUp.csrf,
    name: "山田 花子",
    email: "typo@exmaple.jp",
    password: strongPassword,
  });
  const cookie = `${signUp.cookie}; ${flowCookieSetBy(posted, "mamori_sign_up") ?? ""}`;
  const codePage = await openForm(app, location(posted), cookie);
  const link = /href="(\/sign-up\?registration=[^"]+)"[^>]*>Eメールアドレスを変更</.exec(codePage.body)?.[1];
  assert.ok(link, codePage.body);
  const again = await openForm(app, link.replaceAll("&amp;", "&"), cookie);
  assert.match(again.body, /value="typo@exmaple\.jp"/);
  assert.match(again.body, /value="山田 花子"/);
  assert.doesNotMatch(again.body, new RegExp(strongPassword));
  // Another browser holding only the link gets an empty form.
  const elsewhere = await openForm(app, link.replaceAll("&amp;", "&"));
  assert.doesNotMatch(elsewhere.body, /typo@exmaple/);
});

test("after registration a welcome page suggests 2段階認証, a passkey and the mobile number", async (t) => {
  const app = await buildTestApp(t);
  const owner = await app.registerAccount();
  const page = await openForm(app, "/account/welcome", owner.cookie);
  assert.match(page.body, /2段階認証を設定する/);
  assert.match(page.body, /パスキーを追加する/);
  assert.match(page.body, /携帯電話番号を登録する/);
});
