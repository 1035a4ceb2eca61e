import assert from "node:assert/strict";
import { test } from "node:test";
import type { LightMyRequestResponse } from "fastify";
import { setMaintenanceMode } from "../../src/operations/maintenance.ts";
import { buildTestApp, sessionCookieHeader, strongPassword, type TestApp } from "../support/app.ts";
import { type Form, flowCookieSetBy, location, openForm, postForm, wrongCode } from "../support/forms.ts";

// "Forgot password" and "change password" as plain HTML forms, driven the way a browser without
// JavaScript drives them: GET a page (CSRF cookie + hidden field), POST the form, follow 303s.

const newPassword = "Yozora-Hotaru-2468-Kitsune";

/** Starts a reset on the "forgot password" page; returns the code page's URL and the form. */
async function startReset(s: TestApp, identifier: string): Promise<{ codeUrl: string; form: Form }> {
  const form = await openForm(s, "/password-reset");
  const posted = await postForm(s, "/password-reset", form, { _csrf: form.csrf, identifier });
  const codeUrl = location(posted);
  assert.match(codeUrl, /^\/password-reset\/pwr_[0-9a-z]+$/);
  // The browser keeps the cookie that ties the reset's pages to it.
  const binding = flowCookieSetBy(posted, "mamori_reset");
  assert.ok(binding, "the reset is tied to this browser");
  return { codeUrl, form: { ...form, cookie: `${form.cookie}; ${binding}` } };
}

test("a reset form posted without its CSRF token is refused with 403, and no code is sent", async (t) => {
  const s = await buildTestApp(t);
  const account = await s.registerAccount();
  const form = await openForm(s, "/password-reset");
  const withoutToken = await postForm(s, "/password-reset", form, { identifier: account.email });
  assert.equal(withoutToken.statusCode, 403);
  assert.match(withoutToken.body, /フォームの有効期限が切れました/);
  // The hidden field alone is not enough either: it must match this browser's cookie.
  const withoutCookie = await postForm(
    s,
    "/password-reset",
    { cookie: "" },
    {
      _csrf: form.csrf,
      identifier: account.email,
    },
  );
  assert.equal(withoutCookie.statusCode, 403);
  const sent = await s.messagesTo(account.email);
  assert.deepEqual(
    sent.map((m) => m.template).filter((t) => t === "password_reset_code"),
    [],
  );
});

test("an unknown email gets the same code page as an account's email", async (t) => {
  const s = await buildTestApp(t);
  const account = await s.registerAccount();
  const known = await startReset(s, account.email);
  const unknown = await startReset(s, "nobody-here@example.jp");
  const knownPage = await openForm(s, known.codeUrl, known.form.cookie);
  const unknownPage = await openForm(s, unknown.codeUrl, unknown.form.cookie);
  // Only the flow's id and this browser's form token may differ.
  const sameIds = (body: string): string =>
    body.replace(/pwr_[0-9a-z]+/g, "pwr_ID").replace(/name="_csrf" value="[^"]+"/g, 'name="_csrf"');
  assert.equal(sameIds(knownPage.body), sameIds(unknownPage.body));
  assert.match(knownPage.body, /アカウントが存在する場合は、セキュリティコードを送信しました。/);
  assert.match(knownPage.body, /autocomplete="one-time-code" inputmode="numeric"/);
  assert.deepEqual(await s.messagesTo("nobody-here@example.jp"), [], "no mail to a stranger");

  // A wrong code reads the same too.
  const code = await s.latestCode(account.email, "password_reset_code");
  assert.ok(code);
  const tries: LightMyRequestResponse[] = [];
  for (const { codeUrl, form } of [known, unknown]) {
    tries.push(await postForm(s, codeUrl, form, { _csrf: form.csrf, code: wrongCode(code) }));
  }
  for (const response of tries) {
    assert.equal(response.statusCode, 400);
    assert.match(response.body, /セキュリティコードが正しくありません。残り4回入力できます。/);
  }
  assert.equal(sameIds(tries[0]?.body ?? "a"), sameIds(tries[1]?.body ?? "b"));
});

test("an empty or malformed identifier is a field error, and the page is in English when asked", async (t) => {
  const s = await buildTestApp(t);
  const form = await openForm(s, "/password-reset");
  const empty = await postForm(s, "/password-reset", form, { _csrf: form.csrf, identifier: "  " });
  assert.equal(empty.statusCode, 400);
  assert.match(
    empty.body,
    /<a href="#identifier">Eメールアドレスまたは携帯電話番号を入力してください。<\/a>/,
  );
  const malformed = await postForm(s, "/password-reset", form, {
    _csrf: form.csrf,
    identifier: "taro at home",
  });
  assert.equal(malformed.statusCode, 400);
  assert.match(malformed.body, /aria-invalid="true"/);
  const english = await openForm(s, "/password-reset", "", { "accept-language": "en" });
  assert.match(english.body, /<h1>Forgot your password\?<\/h1>/);
  const signIn = await s.inject({ method: "GET", url: "/sign-in" });
  assert.match(signIn.body, /<a href="\/password-reset">パスワードをお忘れの場合<\/a>/);
});

test("wrong code, then the right one, a too-short password, then a good one: signed in with it", async (t) => {
  const s = await buildTestApp(t);
  const account = await s.registerAccount();
  const { codeUrl, form } = await startReset(s, account.email);
  const code = await s.latestCode(account.email, "password_reset_code");
  assert.ok(code);

  const wrong = await postForm(s, codeUrl, form, { _csrf: form.csrf, code: wrongCode(code) });
  assert.equal(wrong.statusCode, 400);
  assert.match(wrong.body, /id="error-summary"/);
  assert.match(
    wrong.body,
    /<a href="#code">セキュリティコードが正しくありません。残り4回入力できます。<\/a>/,
  );
  assert.match(wrong.body, /id="code" name="code"[^>]*aria-invalid="true"/);

  const newUrl = location(await postForm(s, codeUrl, form, { _csrf: form.csrf, code }));
  assert.equal(newUrl, `${codeUrl}/new`);
  const page = await openForm(s, newUrl, form.cookie);
  assert.match(page.body, /autocomplete="new-password"/);
  assert.match(page.body, /8文字以上/);

  const short = await postForm(s, newUrl, form, { _csrf: form.csrf, newPassword: "short1" });
  assert.equal(short.statusCode, 400);
  assert.match(short.body, /<a href="#newPassword">パスワードは8文字以上にしてください。<\/a>/);
  const reused = await postForm(s, newUrl, form, { _csrf: form.csrf, newPassword: strongPassword });
  assert.equal(reused.statusCode, 400);
  assert.match(reused.body, /最近使ったパスワードは使えません/);

  assert.equal(
    location(await postForm(s, newUrl, form, { _csrf: form.csrf, newPassword })),
    "/sign-in?reset=1",
  );
  const signInPage = await s.inject({ method: "GET", url: "/sign-in?reset=1" });
  assert.match(
    signInPage.body,
    /<p class="notice" role="status">パスワードを変更しました。新しいパスワードでログインしてください。<\/p>/,
  );
  assert.equal((await s.signIn({ identifier: account.email, password: newPassword })).statusCode, 200);
  assert.equal((await s.signIn({ identifier: account.email, password: strongPassword })).statusCode, 401);
  // The old session ended with the reset; the used flow cannot be used again.
  const old = await s.inject({ method: "GET", url: "/api/v1/security", headers: { cookie: account.cookie } });
  assert.equal(old.statusCode, 401);
  const again = await s.inject({ method: "GET", url: newUrl, headers: { cookie: form.cookie } });
  assert.equal(again.statusCode, 404);
  assert.match(again.body, /<a class="button wide" href="\/password-reset">最初からやり直す<\/a>/);
});

test("a resend within the cooldown is a 429 that says how long to wait; after it a new code goes out", async (t) => {
  const s = await buildTestApp(t);
  const account = await s.registerAccount();
  const { codeUrl, form } = await startReset(s, account.email);
  const first = await s.latestCode(account.email, "password_reset_code");
  const early = await postForm(s, `${codeUrl}/resend`, form, { _csrf: form.csrf });
  assert.equal(early.statusCode, 429);
  assert.equal(early.headers["retry-after"], "60");
  assert.match(early.body, /1分ほど待ってからもう一度お試しください。/);
  assert.match(early.body, /id="code"/, "the code form is still there: the first code still works");

  s.clock.advance(61);
  assert.equal(
    location(await postForm(s, `${codeUrl}/resend`, form, { _csrf: form.csrf })),
    `${codeUrl}?resent=1`,
  );
  const resent = await openForm(s, `${codeUrl}?resent=1`, form.cookie);
  assert.match(
    resent.body,
    /role="status">アカウントが存在する場合は、新しいセキュリティコードを送信しました。/,
  );
  const second = await s.latestCode(account.email, "password_reset_code");
  assert.ok(second && first && second !== first, "a new code was queued");
});

test("five wrong codes end the reset; a new password before the code goes back to the code page", async (t) => {
  const s = await buildTestApp(t);
  const account = await s.registerAccount();
  const { codeUrl, form } = await startReset(s, account.email);
  const newUrl = `${codeUrl}/new`;
  assert.equal(
    location(await s.inject({ method: "GET", url: newUrl, headers: { cookie: form.cookie } })),
    codeUrl,
  );
  const early = await postForm(s, newUrl, form, { _csrf: form.csrf, newPassword });
  assert.equal(early.statusCode, 409);
  assert.match(early.body, /先にEメールで届いたセキュリティコードを入力してください。/);
  assert.match(early.body, new RegExp(`action="${codeUrl}"`));

  const code = await s.latestCode(account.email, "password_reset_code");
  assert.ok(code);
  let last: LightMyRequestResponse | undefined;
  for (let i = 0; i < 5; i++)
    last = await postForm(s, codeUrl, form, { _csrf: form.csrf, code: wrongCode(code) });
  assert.match(last?.body ?? "", /続けて間違えたため、この手続きは終了しました/);
  const afterwards = await postForm(s, codeUrl, form, { _csrf: form.csrf, code });
  assert.equal(afterwards.statusCode, 429, "the right code is refused once the reset has ended");
  assert.match(afterwards.body, /href="\/password-reset">最初からやり直す/);

  const unknown = await s.inject({ method: "GET", url: "/password-reset/pwr_nosuchreset" });
  assert.equal(unknown.statusCode, 404);
  assert.match(unknown.body, /最初からやり直してください/);
});

test("in maintenance the reset pages answer with the maintenance page", async (t) => {
  const s = await buildTestApp(t);
  const { codeUrl, form } = await startReset(s, "someone@example.jp");
  await setMaintenanceMode(s.db, { on: true, message: "", retryAfterSeconds: 120 }, s.clock.now());
  for (const response of [
    await s.inject({ method: "GET", url: "/password-reset" }),
    await s.inject({ method: "GET", url: codeUrl }),
    await postForm(s, codeUrl, form, { _csrf: form.csrf, code: "123456" }),
  ]) {
    assert.equal(response.statusCode, 503);
    assert.equal(response.headers["retry-after"], "120");
    assert.match(response.body, /<h1>メンテナンス中<\/h1>/);
  }
});

test("change password: CSRF token required, wrong current password, then success signs out other devices", async (t) => {
  const s = await buildTestApp(t);
  const account = await s.registerAccount();
  const other = await s.signIn({ identifier: account.email, password: strongPassword });
  assert.equal(other.statusCode, 200);
  const otherCookie = sessionCookieHeader(other, s.config);

  const security = await s.inject({
    method: "GET",
    url: "/account/security",
    headers: { cookie: account.cookie },
  });
  assert.match(
    security.body,
    /<a class="edit" href="\/account\/security\/password" aria-label="パスワードを編集">編集<\/a>/,
  );
  const url = "/account/security/password";
  const form = await openForm(s, url, account.cookie);
  assert.match(form.body, /autocomplete="current-password"/);

  const noToken = await postForm(s, url, form, { currentPassword: strongPassword, newPassword });
  assert.equal(noToken.statusCode, 403);
  const wrong = await postForm(s, url, form, { _csrf: form.csrf, currentPassword: "not it", newPassword });
  assert.equal(wrong.statusCode, 401);
  assert.match(wrong.body, /<a href="#currentPassword">現在のパスワードが正しくありません。<\/a>/);

  const done = await postForm(s, url, form, {
    _csrf: form.csrf,
    currentPassword: strongPassword,
    newPassword,
  });
  assert.equal(location(done), "/account/security?done=password");
  const after = await s.inject({
    method: "GET",
    url: "/account/security?done=password",
    headers: { cookie: account.cookie },
  });
  assert.equal(after.statusCode, 200, "this device stays signed in");
  assert.match(after.body, /role="status">パスワードを変更しました。他の端末からはログアウトしました。/);
  const signedOut = await s.inject({
    method: "GET",
    url: "/api/v1/security",
    headers: { cookie: otherCookie },
  });
  assert.equal(signedOut.statusCode, 401);
});

test("a reset's pages opened in another browser show nothing and accept nothing", async (t) => {
  // Attack: the code page's URL from a shared computer's history, or a link sent by someone else.
  const s = await buildTestApp(t);
  const account = await s.registerAccount();
  const { codeUrl } = await startReset(s, account.email);
  const elsewhere = await openFormStatus(s, codeUrl);
  assert.equal(elsewhere.statusCode, 404);
  const code = await s.db
    .selectFrom("outbox_message")
    .select("text_body")
    .where("recipient", "=", account.email)
    .where("template", "=", "password_reset_code")
    .executeTakeFirstOrThrow();
  const other = await openForm(s, "/password-reset");
  const guessed = await postForm(s, codeUrl, other, {
    _csrf: other.csrf,
    code: /\b(\d{6})\b/.exec(code.text_body)?.[1] ?? "",
  });
  assert.equal(guessed.statusCode, 404);
  const stillOpen = await s.db
    .selectFrom("password_reset")
    .select("state")
    .where("id", "=", codeUrl.split("/").pop() ?? "")
    .executeTakeFirstOrThrow();
  assert.equal(stillOpen.state, "code_sent", "the code was not even tried");
});

function openFormStatus(s: TestApp, url: string): Promise<LightMyRequestResponse> {
  return s.inject({ method: "GET", url });
}
