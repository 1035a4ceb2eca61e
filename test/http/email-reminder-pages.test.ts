import assert from "node:assert/strict";
import { test } from "node:test";
import type { LightMyRequestResponse } from "fastify";
import { setMaintenanceMode } from "../../src/operations/maintenance.ts";
import { buildTestApp, type TestApp } from "../support/app.ts";
import { type Form, flowCookieSetBy, location, openForm, postForm, wrongCode } from "../support/forms.ts";

// "Forgot your email?" as plain HTML forms, driven the way a browser without JavaScript drives
// them: the mobile number, the code from the SMS, the masked email.

const phone = "+819012345678";
const ownerEmail = "taro.yamada@example.co.jp";

/** An account whose mobile number was verified (set in the database: no page adds one yet). */
async function ownerWithVerifiedPhone(s: TestApp): Promise<void> {
  const owner = await s.registerAccount({ email: ownerEmail });
  await s.db
    .updateTable("account")
    .set({ phone, phone_verified_at: s.clock.now().toISOString() })
    .where("id", "=", owner.accountId)
    .execute();
}

/** The SMS messages queued to a number (E.164), newest first. */
async function smsTo(s: TestApp, to: string): Promise<string[]> {
  const rows = await s.db
    .selectFrom("outbox_message")
    .select("text_body")
    .where("recipient", "=", to)
    .where("channel", "=", "sms")
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .execute();
  return rows.map((row) => row.text_body);
}

async function smsCode(s: TestApp, to: string): Promise<string> {
  const [newest] = await smsTo(s, to);
  const code = newest ? /\b(\d{6})\b/.exec(newest)?.[1] : undefined;
  assert.ok(code, `no SMS code to ${to}`);
  return code;
}

/** Starts a flow on the first page; returns the code page's URL and the browser's form. */
async function start(s: TestApp, number: string): Promise<{ codeUrl: string; form: Form }> {
  const form = await openForm(s, "/email-reminder");
  const posted = await postForm(s, "/email-reminder", form, { _csrf: form.csrf, phone: number });
  const codeUrl = location(posted);
  assert.match(codeUrl, /^\/email-reminder\/emr_[0-9a-z]+$/);
  // The browser keeps the cookie that ties the flow's pages to it.
  const binding = flowCookieSetBy(posted, "mamori_email_reminder");
  assert.ok(binding, "the flow is tied to this browser");
  return { codeUrl, form: { ...form, cookie: `${form.cookie}; ${binding}` } };
}

/** Only the flow's id and this browser's form token may differ between two pages. */
function sameIds(body: string): string {
  return body.replace(/emr_[0-9a-z]+/g, "emr_ID").replace(/name="_csrf" value="[^"]+"/g, 'name="_csrf"');
}

function reminderState(s: TestApp, codeUrl: string): Promise<{ state: string }> {
  return s.db
    .selectFrom("email_reminder")
    .select("state")
    .where("id", "=", codeUrl.split("/").pop() ?? "")
    .executeTakeFirstOrThrow();
}

test("a forgot-email form posted without its CSRF token is refused with 403, and no SMS is queued", async (t) => {
  const s = await buildTestApp(t);
  await ownerWithVerifiedPhone(s);
  const form = await openForm(s, "/email-reminder");
  const withoutToken = await postForm(s, "/email-reminder", form, { phone: "090-1234-5678" });
  assert.equal(withoutToken.statusCode, 403);
  assert.match(withoutToken.body, /フォームの有効期限が切れました/);
  // The hidden field alone is not enough either: it must match this browser's cookie.
  const withoutCookie = await postForm(
    s,
    "/email-reminder",
    { cookie: "" },
    { _csrf: form.csrf, phone: "090-1234-5678" },
  );
  assert.equal(withoutCookie.statusCode, 403);
  assert.deepEqual(await smsTo(s, phone), []);
});

test("the code from the SMS shows the email masked, once, with sign-in and a prefilled password reset", async (t) => {
  const s = await buildTestApp(t);
  await ownerWithVerifiedPhone(s);
  const first = await openForm(s, "/email-reminder");
  assert.match(first.body, /<h1>Eメールアドレスをお忘れですか？<\/h1>/);
  assert.match(
    first.body,
    /<input id="phone" name="phone" type="tel" value="" autocomplete="tel" inputmode="tel" required autofocus maxlength="40" aria-describedby="phone-hint">/,
  );
  assert.match(first.body, /<p class="hint" id="phone-hint">例: 090-1234-5678<\/p>/);

  const { codeUrl, form } = await start(s, "090-1234-5678");
  const page = await openForm(s, codeUrl, form.cookie);
  assert.match(
    page.body,
    /この番号が登録されている場合は、SMS（テキストメッセージ）でセキュリティコードを送信しました。/,
  );
  assert.match(page.body, /autocomplete="one-time-code" inputmode="numeric"/);
  assert.match(page.body, new RegExp(`<form method="post" action="${codeUrl}/resend"`));

  const code = await smsCode(s, phone);
  const shown = await postForm(s, codeUrl, form, { _csrf: form.csrf, code });
  assert.equal(shown.statusCode, 200, shown.body);
  assert.equal(shown.headers["cache-control"], "no-store");
  assert.match(
    shown.body,
    /<p class="result">ご登録のEメールアドレスは<strong class="masked-email">t\*\*\*@example\.co\.jp<\/strong>です。<\/p>/,
  );
  assert.doesNotMatch(shown.body, /taro\.yamada/, "never the whole address");
  assert.match(shown.body, /<a class="button wide" href="\/sign-in">ログイン<\/a>/);
  assert.match(
    shown.body,
    /<a class="button secondary wide" href="\/password-reset\?identifier=090-1234-5678">パスワードを再設定<\/a>/,
  );
  assert.match(
    String(shown.headers["set-cookie"]),
    /mamori_email_reminder_emr_[0-9a-z]+=;/,
    "the binding is dropped",
  );

  // A reload posts the spent code again: the ended page, not the email.
  const reloaded = await postForm(s, codeUrl, form, { _csrf: form.csrf, code });
  assert.equal(reloaded.statusCode, 404);
  assert.doesNotMatch(reloaded.body, /example\.co\.jp/);
  assert.match(reloaded.body, /<a class="button wide" href="\/email-reminder">最初からやり直す<\/a>/);

  // The password reset's first page takes the number from the link.
  const reset = await openForm(s, "/password-reset?identifier=090-1234-5678");
  assert.match(reset.body, /id="identifier" name="identifier" type="text" value="090-1234-5678"/);
});

test("an unknown number gets the same code page as a registered one, and no SMS", async (t) => {
  const s = await buildTestApp(t);
  await ownerWithVerifiedPhone(s);
  const known = await start(s, "090-1234-5678");
  const unknown = await start(s, "080-9876-5432");
  const knownPage = await openForm(s, known.codeUrl, known.form.cookie);
  const unknownPage = await openForm(s, unknown.codeUrl, unknown.form.cookie);
  assert.equal(sameIds(knownPage.body), sameIds(unknownPage.body));
  assert.deepEqual(await smsTo(s, "+818098765432"), [], "no SMS to a number without an account");
  assert.equal((await smsTo(s, phone)).length, 1);

  // A wrong code reads the same too.
  const code = await smsCode(s, phone);
  const tries: LightMyRequestResponse[] = [];
  for (const { codeUrl, form } of [known, unknown]) {
    tries.push(await postForm(s, codeUrl, form, { _csrf: form.csrf, code: wrongCode(code) }));
  }
  for (const response of tries) assert.equal(response.statusCode, 400);
  assert.equal(sameIds(tries[0]?.body ?? "a"), sameIds(tries[1]?.body ?? "b"));
});

test("a wrong code says how many tries are left; five end the flow and the right code is then refused", async (t) => {
  const s = await buildTestApp(t);
  await ownerWithVerifiedPhone(s);
  const { codeUrl, form } = await start(s, "09012345678");
  const code = await smsCode(s, phone);
  const wrong = await postForm(s, codeUrl, form, { _csrf: form.csrf, code: wrongCode(code) });
  assert.equal(wrong.statusCode, 400);
  assert.match(
    wrong.body,
    /<a href="#code">セキュリティコードが正しくありません。残り4回入力できます。<\/a>/,
  );
  assert.match(wrong.body, /id="code" name="code"[^>]*aria-invalid="true"/);

  let last: LightMyRequestResponse | undefined;
  for (let i = 0; i < 4; i++)
    last = await postForm(s, codeUrl, form, { _csrf: form.csrf, code: wrongCode(code) });
  assert.match(last?.body ?? "", /続けて間違えたため、この手続きは終了しました/);
  const afterwards = await postForm(s, codeUrl, form, { _csrf: form.csrf, code });
  assert.equal(afterwards.statusCode, 429, "the right code is refused once the flow has ended");
  assert.doesNotMatch(afterwards.body, /example\.co\.jp/);
  assert.match(afterwards.body, /href="\/email-reminder">最初からやり直す/);
});

test("an empty or malformed number is a field error, and the page is in English when asked", async (t) => {
  const s = await buildTestApp(t);
  const form = await openForm(s, "/email-reminder");
  const empty = await postForm(s, "/email-reminder", form, { _csrf: form.csrf, phone: " " });
  assert.equal(empty.statusCode, 400);
  assert.match(empty.body, /<a href="#phone">携帯電話番号を入力してください。<\/a>/);
  const malformed = await postForm(s, "/email-reminder", form, { _csrf: form.csrf, phone: "<b>03</b>" });
  assert.equal(malformed.statusCode, 400);
  assert.match(malformed.body, /携帯電話番号を正しく入力してください（例: 090-1234-5678）。/);
  assert.match(malformed.body, /id="phone" name="phone" type="tel" value="&lt;b&gt;03&lt;\/b&gt;"/);
  assert.match(malformed.body, /aria-invalid="true"/);

  const english = await openForm(s, "/email-reminder", "", { "accept-language": "en" });
  assert.match(english.body, /<h1>Forgot your email address\?<\/h1>/);
  assert.match(english.body, /<label for="phone">Mobile number<\/label>/);
});

test("a flow's pages opened without its browser cookie show nothing and accept nothing", async (t) => {
  // Attack: the code page's URL from a shared computer's history, tried with the owner's code.
  const s = await buildTestApp(t);
  await ownerWithVerifiedPhone(s);
  const { codeUrl, form } = await start(s, "090-1234-5678");
  const code = await smsCode(s, phone);
  const elsewhere = await s.inject({ method: "GET", url: codeUrl });
  assert.equal(elsewhere.statusCode, 404);
  assert.match(elsewhere.body, /最初からやり直してください/);
  const other = await openForm(s, "/email-reminder");
  const guessed = await postForm(s, codeUrl, other, { _csrf: other.csrf, code });
  assert.equal(guessed.statusCode, 404);
  assert.doesNotMatch(guessed.body, /example\.co\.jp/);
  s.clock.advance(61);
  const resent = await postForm(s, `${codeUrl}/resend`, other, { _csrf: other.csrf });
  assert.equal(resent.statusCode, 404);
  assert.equal((await smsTo(s, phone)).length, 1, "no SMS sent for another browser");
  assert.equal((await reminderState(s, codeUrl)).state, "code_sent", "the code was not even tried");
  // The owner's browser still can.
  assert.equal((await postForm(s, codeUrl, form, { _csrf: form.csrf, code })).statusCode, 200);
});

test("a resend within the cooldown is a 429 that says how long to wait; after it a new SMS code goes out", async (t) => {
  const s = await buildTestApp(t);
  await ownerWithVerifiedPhone(s);
  const { codeUrl, form } = await start(s, "090-1234-5678");
  const first = await smsCode(s, phone);
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
    /role="status">この番号が登録されている場合は、新しいセキュリティコードをSMSで送信しました。/,
  );
  assert.equal((await smsTo(s, phone)).length, 2);
  assert.notEqual(await smsCode(s, phone), first, "a new code");
});

test("an expired flow and a too-frequent number each get a page that says so", async (t) => {
  const s = await buildTestApp(t);
  await ownerWithVerifiedPhone(s);
  const { codeUrl, form } = await start(s, "090-1234-5678");
  s.clock.advance(10 * 60 + 1);
  const expired = await s.inject({ method: "GET", url: codeUrl, headers: { cookie: form.cookie } });
  assert.equal(expired.statusCode, 410);
  assert.match(expired.body, /セキュリティコードの有効期限が切れました。/);
  assert.match(expired.body, /<a class="button wide" href="\/email-reminder">最初からやり直す<\/a>/);

  // Three requests per number and hour: the fourth is refused, so the form cannot pump SMS.
  await start(s, "090-1234-5678");
  await start(s, "090-1234-5678");
  const fourth = await postForm(s, "/email-reminder", form, { _csrf: form.csrf, phone: "090-1234-5678" });
  assert.equal(fourth.statusCode, 429);
  assert.ok(Number(fourth.headers["retry-after"]) > 0);
  assert.match(fourth.body, /試行回数が多すぎます。/);
  assert.equal((await smsTo(s, phone)).length, 3);
});

test("in maintenance the forgot-email pages answer with the maintenance page", async (t) => {
  const s = await buildTestApp(t);
  const { codeUrl, form } = await start(s, "090-1234-5678");
  await setMaintenanceMode(s.db, { on: true, message: "", retryAfterSeconds: 120 }, s.clock.now());
  for (const response of [
    await s.inject({ method: "GET", url: "/email-reminder" }),
    await postForm(s, "/email-reminder", form, { _csrf: form.csrf, phone: "090-1234-5678" }),
    await s.inject({ method: "GET", url: codeUrl, headers: { cookie: form.cookie } }),
    await postForm(s, codeUrl, form, { _csrf: form.csrf, code: "123456" }),
    await postForm(s, `${codeUrl}/resend`, form, { _csrf: form.csrf }),
  ]) {
    assert.equal(response.statusCode, 503);
    assert.equal(response.headers["retry-after"], "120");
    assert.match(response.body, /<h1>メンテナンス中<\/h1>/);
  }
});

test("sign-in and help link to the forgot-email page; the reset's prefill is escaped and capped", async (t) => {
  const s = await buildTestApp(t);
  const signIn = await s.inject({ method: "GET", url: "/sign-in" });
  assert.match(signIn.body, /<a href="\/email-reminder">Eメールアドレスをお忘れの場合<\/a>/);
  const help = await s.inject({ method: "GET", url: "/help/sign-in" });
  assert.match(
    help.body,
    /id="forgot-email"[^>]*>[\s\S]*?<a href="\/email-reminder">Eメールアドレスを確認する<\/a>/,
  );
  const english = await s.inject({ method: "GET", url: "/sign-in", headers: { "accept-language": "en" } });
  assert.match(english.body, /<a href="\/email-reminder">Forgot your email address\?<\/a>/);

  // Attack: a link that tries to close the attribute and add markup to the reset page.
  const hostile = await openForm(
    s,
    `/password-reset?identifier=${encodeURIComponent('"><script>x</script>')}`,
  );
  assert.match(hostile.body, /value="&quot;&gt;&lt;script&gt;x&lt;\/script&gt;"/);
  assert.doesNotMatch(hostile.body, /<script>x/);
  const long = await openForm(s, `/password-reset?identifier=${"9".repeat(500)}`);
  assert.match(long.body, new RegExp(`value="${"9".repeat(320)}"`));
  assert.doesNotMatch(long.body, new RegExp("9".repeat(321)));
  const plain = await openForm(s, "/password-reset");
  assert.match(plain.body, /id="identifier" name="identifier" type="text" value=""/);
});
