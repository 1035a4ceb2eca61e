import assert from "node:assert/strict";
import { after, test } from "node:test";
import { assertApiError, buildTestApp, sameOrigin, strongPassword, type TestApp } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import { flowCookieSetBy, location, openForm, postForm } from "../support/forms.ts";

// The forms a Japanese customer fills in (issue 18, "Forms"): every problem at once, empty fields
// asked for, full-width input read or explained, a 表示 toggle on every password field, headings
// that say what happened, and the "why can't I log in" page.

after(stopSharedPostgres);

const summaryHeading = /<div class="error-summary"[^>]*>\s*<h2>([^<]*)<\/h2>/;

function heading(body: string): string | undefined {
  return summaryHeading.exec(body)?.[1];
}

/** Full-width (全角) digits and letters, as a Japanese keyboard in 全角 mode types them. */
function fullWidth(text: string): string {
  return text.replace(/[!-~]/g, (ch) => String.fromCharCode(ch.charCodeAt(0) + 0xfee0));
}

async function failureCounters(s: TestApp): Promise<{ lockouts: number; throttles: string[] }> {
  const lockouts = await s.db.selectFrom("sign_in_lockout").select("key").execute();
  const throttles = await s.db.selectFrom("throttle_counter").select("key").execute();
  return {
    lockouts: lockouts.length,
    throttles: throttles.map((row) => row.key).filter((key) => /sign_in|reauth/.test(key)),
  };
}

test("sign-up reports every field's problem at once (name, email and password together)", async (t) => {
  const s = await buildTestApp(t);
  const form = await openForm(s, "/sign-up");
  const page = await postForm(s, "/sign-up", form, {
    _csrf: form.csrf,
    name: "",
    email: "taro@",
    password: "short",
  });
  assert.equal(page.statusCode, 400, page.body);
  assert.equal(heading(page.body), "入力内容を確認してください");
  assert.match(page.body, /<a href="#name">氏名を入力してください/);
  assert.match(page.body, /<a href="#email">有効なEメールアドレスを入力してください。<\/a>/);
  assert.match(page.body, /<a href="#password">パスワードは8文字以上にしてください。<\/a>/);
  for (const name of ["name", "email", "password"])
    assert.match(page.body, new RegExp(`id="${name}-error"`), `${name} has its error beside it`);

  // Empty fields are asked for, each in its own words.
  const empty = await postForm(s, "/sign-up", form, { _csrf: form.csrf, name: "", email: "", password: "" });
  assert.equal(empty.statusCode, 400);
  assert.match(empty.body, /<a href="#email">Eメールアドレスを入力してください。<\/a>/);
  assert.match(empty.body, /<a href="#password">パスワードを入力してください。<\/a>/);
  assert.equal(await s.db.selectFrom("registration").select("id").executeTakeFirst(), undefined);
});

test("an empty identifier or password on the sign-in page asks for it, never 正しくありません, and counts nothing", async (t) => {
  // Attack it stops (on the owner): empty submissions for someone's address must not spend the
  // address's failure budget and pause the owner's sign-in, however many arrive at once.
  const s = await buildTestApp(t, { env: { MAMORI_SIGN_IN_FAILURES_PER_IDENTIFIER: "3" } });
  const account = await s.registerAccount({ email: "hanako@example.jp" });
  const form = await openForm(s, "/sign-in");
  const cases = [
    { identifier: "", password: "", asks: ["identifier", "password"] },
    { identifier: "", password: account.password, asks: ["identifier"] },
    { identifier: "   ", password: "x", asks: ["identifier"] },
    { identifier: account.email, password: "", asks: ["password"] },
  ];
  const pages = await Promise.all(
    cases.flatMap((c) =>
      Array.from({ length: 5 }, () =>
        postForm(s, "/sign-in", form, { _csrf: form.csrf, identifier: c.identifier, password: c.password }),
      ),
    ),
  );
  pages.forEach((page, i) => {
    const c = cases[Math.floor(i / 5)];
    assert.ok(c);
    assert.equal(page.statusCode, 400, page.body);
    assert.doesNotMatch(page.body, /正しくありません/);
    if (c.asks.includes("identifier"))
      assert.match(
        page.body,
        /<a href="#identifier">Eメールアドレスまたは携帯電話番号を入力してください。<\/a>/,
      );
    if (c.asks.includes("password"))
      assert.match(page.body, /<a href="#password">パスワードを入力してください。<\/a>/);
  });
  assert.deepEqual(await failureCounters(s), { lockouts: 0, throttles: [] });

  const english = await s.inject({
    method: "POST",
    url: "/sign-in",
    headers: {
      ...sameOrigin(s.config),
      cookie: form.cookie,
      "accept-language": "en",
      "content-type": "application/x-www-form-urlencoded",
    },
    payload: new URLSearchParams({ _csrf: form.csrf, identifier: "", password: "" }).toString(),
  });
  assert.match(english.body, /Enter your email address or mobile number\./);
  assert.match(english.body, /Enter your password\./);
  const right = await postForm(s, "/sign-in", form, {
    _csrf: form.csrf,
    identifier: account.email,
    password: account.password,
  });
  assert.equal(right.statusCode, 303, right.body);
});

test("an empty identifier or password on the JSON API is invalid_request asking for that field, not a counted failure", async (t) => {
  // Attack it stops: `{"identifier": ""}` used to be a counted failure under an empty identifier.
  const s = await buildTestApp(t, { env: { MAMORI_SIGN_IN_FAILURES_PER_IDENTIFIER: "3" } });
  const account = await s.registerAccount();
  const many = await Promise.all(
    Array.from({ length: 20 }, () => s.signIn({ identifier: "", password: account.password })),
  );
  for (const response of many) {
    const error = assertApiError(response, 400, "invalid_request");
    assert.equal(error.field, "identifier");
    assert.equal(error.message, "Eメールアドレスまたは携帯電話番号を入力してください。");
  }
  const noPassword = assertApiError(
    await s.signIn({ identifier: account.email, password: "" }, { "accept-language": "en" }),
    400,
    "invalid_request",
  );
  assert.deepEqual([noPassword.field, noPassword.message], ["password", "Enter your password."]);
  const missing = assertApiError(await s.signIn({ identifier: account.email }), 400, "invalid_request");
  assert.deepEqual([missing.field, missing.message], ["password", "パスワードを入力してください。"]);
  const noCurrent = await s.inject({
    method: "PUT",
    url: "/api/v1/security/password",
    headers: { cookie: account.cookie, ...sameOrigin(s.config) },
    payload: { currentPassword: "", newPassword: "Hoshizora-Kaede-5529-Ringo" },
  });
  const current = assertApiError(noCurrent, 400, "invalid_request");
  assert.deepEqual(
    [current.field, current.message],
    ["currentPassword", "現在のパスワードを入力してください。"],
  );
  assert.deepEqual(await failureCounters(s), { lockouts: 0, throttles: [] });
  assert.equal((await s.signIn({ identifier: account.email, password: account.password })).statusCode, 200);
});

test("full-width email addresses, phone digits and security codes are read as half-width; what cannot be is explained", async (t) => {
  const s = await buildTestApp(t);
  // Sign-up typed in 全角: ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ, then the mailed code typed as １２３４５６.
  const form = await openForm(s, "/sign-up");
  const started = await postForm(s, "/sign-up", form, {
    _csrf: form.csrf,
    name: "山田 太郎",
    email: fullWidth("taro@example.jp"),
    password: strongPassword,
  });
  assert.equal(started.statusCode, 303, started.body);
  const verifyUrl = String(started.headers.location);
  const cookie = [form.cookie, ...[started.headers["set-cookie"] ?? []].flat().map((c) => c.split(";")[0])]
    .filter(Boolean)
    .join("; ");
  const code = await s.latestCode("taro@example.jp");
  assert.ok(code, "the code went to the half-width address");
  const verify = await openForm(s, verifyUrl, cookie);
  const registration = /name="registration" value="([^"]+)"/.exec(verify.body)?.[1] ?? "";
  const done = await postForm(s, "/sign-up/verify", verify, {
    _csrf: verify.csrf,
    registration,
    code: fullWidth(code),
  });
  assert.equal(done.statusCode, 303, done.body);
  const account = await s.db.selectFrom("account").select("email").executeTakeFirstOrThrow();
  assert.equal(account.email, "taro@example.jp");

  // Signing in with the full-width address works; the password is never normalised.
  const signIn = await openForm(s, "/sign-in");
  const wide = await postForm(s, "/sign-in", signIn, {
    _csrf: signIn.csrf,
    identifier: fullWidth("TARO@EXAMPLE.JP"),
    password: strongPassword,
  });
  assert.equal(wide.statusCode, 303, wide.body);
  const widePassword = await postForm(s, "/sign-in", signIn, {
    _csrf: signIn.csrf,
    identifier: "taro@example.jp",
    password: fullWidth(strongPassword),
  });
  assert.equal(widePassword.statusCode, 401, "a full-width password is another password");

  // 。 (the Japanese full stop) and kanji digits have no half-width form: say how to type them.
  for (const [identifier, words] of [
    ["taro@example。jp", "Eメールアドレスは半角で入力してください"],
    ["〇九〇-一二三四-五六七八", "携帯電話番号は半角数字で入力してください"],
  ] as const) {
    const page = await postForm(s, "/sign-in", signIn, { _csrf: signIn.csrf, identifier, password: "x" });
    assert.equal(page.statusCode, 400, page.body);
    assert.match(page.body, new RegExp(`<a href="#identifier">${words}`));
    assert.doesNotMatch(page.body, /正しくありません/);
  }
  const again = await openForm(s, "/sign-up");
  const kana = await postForm(s, "/sign-up", again, {
    _csrf: again.csrf,
    name: "山田 花子",
    email: "hanako@example。jp",
    password: strongPassword,
  });
  assert.equal(kana.statusCode, 400);
  assert.match(kana.body, /<a href="#email">Eメールアドレスは半角で入力してください/);
});

test("a lockout gets its own heading, not 入力内容を確認してください, and links to its help", async (t) => {
  const s = await buildTestApp(t, { env: { MAMORI_SIGN_IN_FAILURES_PER_IDENTIFIER: "3" } });
  const account = await s.registerAccount();
  const form = await openForm(s, "/sign-in");
  const wrong = { _csrf: form.csrf, identifier: account.email, password: "wrong-password-1" };
  const first = await postForm(s, "/sign-in", form, wrong);
  assert.equal(first.statusCode, 401);
  assert.equal(heading(first.body), "入力内容を確認してください", "a wrong password is an input mistake");
  assert.match(first.body, /<a href="\/help\/sign-in#wrong-password">ログインできない場合<\/a>/);
  // Many at once past the limit of 3: every answer after the lockout says to wait.
  const pages = await Promise.all(Array.from({ length: 8 }, () => postForm(s, "/sign-in", form, wrong)));
  const locked = pages.filter((page) => page.statusCode === 429);
  assert.ok(locked.length >= 5, `locked: ${locked.length}`);
  for (const page of locked) {
    assert.equal(heading(page.body), "しばらくしてからもう一度お試しください");
    assert.doesNotMatch(page.body, /入力内容を確認してください/);
    assert.match(page.body, /<a href="\/help\/sign-in#too-many-attempts">/);
  }
});

test("a wrong current password on the change-password page keeps the new password typed", async (t) => {
  const s = await buildTestApp(t);
  const account = await s.registerAccount();
  const newPassword = "Hoshizora-Kaede-5529-Ringo";
  const form = await openForm(s, "/account/security/password", account.cookie);
  const page = await postForm(s, "/account/security/password", form, {
    _csrf: form.csrf,
    currentPassword: "not-my-password",
    newPassword,
  });
  assert.equal(page.statusCode, 401, page.body);
  assert.match(page.body, /<a href="#currentPassword">/);
  assert.match(
    page.body,
    new RegExp(`<input id="newPassword" name="newPassword" type="password" value="${newPassword}"`),
  );
  assert.doesNotMatch(page.body, /value="not-my-password"/, "the refused password is never shown again");
  // Empty fields are asked for, not counted as a wrong password.
  const empty = await postForm(s, "/account/security/password", form, {
    _csrf: form.csrf,
    currentPassword: "",
    newPassword,
  });
  assert.equal(empty.statusCode, 400);
  assert.match(empty.body, /現在のパスワードを入力してください。/);
  assert.doesNotMatch(empty.body, /正しくありません/);
});

test("every password field has a 表示 toggle: a button with aria-pressed and an accessible name, hidden without JavaScript", async (t) => {
  const s = await buildTestApp(t);
  const account = await s.registerAccount({ locale: "en" });
  const pages: [string, string][] = [
    ["/sign-in", ""],
    ["/sign-up", ""],
    ["/account/security/password", account.cookie],
    ["/account/security/reauthenticate", account.cookie],
    ["/admin/sign-in", ""],
  ];
  for (const [url, cookie] of pages) {
    const response = await s.inject({ method: "GET", url, headers: cookie ? { cookie } : {} });
    assert.equal(response.statusCode, 200, url);
    const ids = [...response.body.matchAll(/<input id="([^"]+)"[^>]*type="password"/g)].map((m) => m[1]);
    assert.ok(ids.length > 0, `${url} has a password field`);
    for (const id of ids) {
      const button = new RegExp(
        `<button type="button" class="secondary password-toggle" data-password-toggle="${id}" aria-controls="${id}" aria-pressed="false" aria-label="(パスワードを表示|Show password)" hidden>(表示|Show)</button>`,
      );
      assert.match(response.body, button, `${url}: #${id}`);
    }
    assert.match(response.body, /<script src="\/assets\/mamori\.js" defer><\/script>/, url);
  }
  const script = await s.inject({ method: "GET", url: "/assets/mamori.js" });
  assert.match(script.body, /data-password-toggle/);
});

test("/help/sign-in says what to do for every reason, in Japanese and English, and the sign-in page links to it", async (t) => {
  const s = await buildTestApp(t, { env: { MAMORI_SUPPORT_URL: "https://shop.example.jp/support" } });
  const sections = [
    ["wrong-password", "/password-reset"],
    ["forgot-password", "/password-reset"],
    ["forgot-email", "/email-reminder"],
    ["two-step", "/sign-in"],
    ["suspended", undefined],
    ["maintenance", "/sign-in"],
    ["country", undefined],
    ["too-many-attempts", "/password-reset"],
  ] as const;
  for (const [locale, title] of [
    ["ja", "ログインできない場合"],
    ["en", "Can&#39;t sign in\\?"],
  ] as const) {
    const page = await s.inject({
      method: "GET",
      url: "/help/sign-in",
      headers: { "accept-language": locale },
    });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, new RegExp(`<html lang="${locale}">`));
    assert.match(page.body, new RegExp(`<h1>${title}</h1>`));
    for (const [id, link] of sections) {
      const section = new RegExp(`<section class="card" id="${id}"[^>]*>([\\s\\S]*?)</section>`).exec(
        page.body,
      )?.[1];
      assert.ok(section, `${locale}: #${id}`);
      if (link) assert.match(section, new RegExp(`<a href="${link}">`), `${locale}: #${id} links ${link}`);
      assert.match(page.body, new RegExp(`<a href="#${id}">`), `${locale}: contents link #${id}`);
    }
    assert.match(page.body, /href="https:\/\/shop\.example\.jp\/support"/, "the shop's support");
  }
  const signIn = await s.inject({ method: "GET", url: "/sign-in" });
  assert.match(signIn.body, /<a href="\/help\/sign-in">ログインできない場合<\/a>/);
});

test("a resend cooldown on the reset's code page has its own heading, and an empty new password is asked for", async (t) => {
  const s = await buildTestApp(t);
  const account = await s.registerAccount();
  const form = await openForm(s, "/password-reset");
  const wide = await postForm(s, "/password-reset", form, {
    _csrf: form.csrf,
    identifier: "taro@example。jp",
  });
  assert.equal(wide.statusCode, 400);
  assert.match(wide.body, /<a href="#identifier">Eメールアドレスは半角で入力してください/);
  const posted = await postForm(s, "/password-reset", form, { _csrf: form.csrf, identifier: account.email });
  const codeUrl = location(posted);
  const binding = flowCookieSetBy(posted, "mamori_reset");
  assert.ok(binding);
  const browser = { ...form, cookie: `${form.cookie}; ${binding}` };
  const early = await Promise.all(
    Array.from({ length: 5 }, () => postForm(s, `${codeUrl}/resend`, browser, { _csrf: form.csrf })),
  );
  for (const page of early) {
    assert.equal(page.statusCode, 429);
    assert.equal(heading(page.body), "しばらくしてからもう一度お試しください");
  }
  const code = await s.latestCode(account.email, "password_reset_code");
  assert.ok(code);
  // The code typed in 全角 digits is read as half-width.
  const verified = await postForm(s, codeUrl, browser, { _csrf: form.csrf, code: fullWidth(code) });
  assert.equal(verified.statusCode, 303, verified.body);
  const empty = await postForm(s, `${codeUrl}/new`, browser, { _csrf: form.csrf, newPassword: "" });
  assert.equal(empty.statusCode, 400, empty.body);
  assert.match(empty.body, /<a href="#newPassword">新しいパスワードを入力してください。<\/a>/);
  assert.equal(heading(empty.body), "入力内容を確認してください");
});

test("a security code that is empty or not half-width even after NFKC is explained, not spent as a try", async (t) => {
  // Attack it stops (on the customer): a code typed with the IME on (一二三四五六) used to spend one
  // of the few tries and could end the registration before the customer saw why.
  const s = await buildTestApp(t);
  const form = await openForm(s, "/sign-up");
  const started = await postForm(s, "/sign-up", form, {
    _csrf: form.csrf,
    name: "山田 太郎",
    email: "taro@example.jp",
    password: strongPassword,
  });
  assert.equal(started.statusCode, 303, started.body);
  const cookie = [form.cookie, ...[started.headers["set-cookie"] ?? []].flat().map((c) => c.split(";")[0])]
    .filter(Boolean)
    .join("; ");
  const verify = await openForm(s, String(started.headers.location), cookie);
  const registration = /name="registration" value="([^"]+)"/.exec(verify.body)?.[1] ?? "";
  const slips = await Promise.all(
    ["一二三四五六", "いちにさん", "", "   "].flatMap((code) =>
      Array.from({ length: 5 }, () =>
        postForm(s, "/sign-up/verify", verify, { _csrf: verify.csrf, registration, code }),
      ),
    ),
  );
  for (const [i, page] of slips.entries()) {
    assert.equal(page.statusCode, 400, page.body);
    const words =
      i < 10 ? "セキュリティコードは半角数字で入力してください。" : "セキュリティコードを入力してください。";
    assert.match(page.body, new RegExp(`<a href="#code">${words}</a>`));
  }
  const code = await s.latestCode("taro@example.jp");
  assert.ok(code);
  const done = await postForm(s, "/sign-up/verify", verify, { _csrf: verify.csrf, registration, code });
  assert.equal(done.statusCode, 303, "no try was spent");
});
