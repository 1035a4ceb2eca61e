import assert from "node:assert/strict";
import { after, test } from "node:test";
import { buildTestApp, sessionCookieHeader, type TestApp } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import { flowCookieSetBy, location, openForm, postForm, wrongCode } from "../support/forms.ts";
import { accountWithApp, isTwoStepOn, type TwoStepAccount } from "../support/two-step.ts";

// 「2段階認証のコードを受け取れない場合」 as plain HTML forms, driven as a browser without
// JavaScript drives them (CSRF cookie + hidden field, 303s). SQLite, or PostgreSQL with
// MAMORI_TEST_DATABASE=postgres.
after(stopSharedPostgres);

/** Signs in through the form with the password; returns the challenge page's path and the browser's cookies. */
async function challengePage(s: TestApp, owner: TwoStepAccount): Promise<{ path: string; cookie: string }> {
  const signIn = await openForm(s, "/sign-in");
  const posted = await postForm(s, "/sign-in", signIn, {
    _csrf: signIn.csrf,
    identifier: owner.email,
    password: owner.password,
    return_to: "/account",
  });
  const url = location(posted);
  const binding = flowCookieSetBy(posted, "mamori_sign_in");
  assert.ok(binding);
  return { path: url.split("?")[0] ?? "", cookie: `${signIn.cookie}; ${binding}` };
}

/** From the challenge page's link to the code-and-password form; returns its path and cookies. */
async function startOnPages(s: TestApp, owner: TwoStepAccount): Promise<{ path: string; cookie: string }> {
  const challenge = await challengePage(s, owner);
  const page = await openForm(s, `${challenge.path}?return_to=%2Faccount`, challenge.cookie);
  assert.match(page.body, /2段階認証のコードを受け取れない場合/);
  const link = /href="(\/sign-in\/two-step\/[^"?]+\/recovery)\?/.exec(page.body)?.[1];
  assert.ok(link, "the two-step page links to the recovery");
  const start = await openForm(s, `${link}?return_to=%2Faccount`, page.cookie);
  assert.match(start.body, /24時間の待機期間/);
  const posted = await postForm(s, link, start, { _csrf: start.csrf, return_to: "/account" });
  const path = location(posted);
  assert.match(path, /^\/two-step-recovery\/tsr_/);
  const binding = flowCookieSetBy(posted, "mamori_recovery");
  assert.ok(binding, "the recovery's pages belong to this browser");
  return { path, cookie: `${start.cookie}; ${binding}` };
}

test("on the pages, a recovery goes from the two-step page to the code and password, then the waiting page", async (t) => {
  const s = await buildTestApp(t);
  const owner = await accountWithApp(s);
  const recovery = await startOnPages(s, owner);
  const form = await openForm(s, recovery.path, recovery.cookie);
  assert.match(form.body, /name="code"/);
  assert.match(form.body, /name="password"/);
  const code = await s.latestCode(owner.email, "two_step_recovery_code");
  assert.ok(code);
  const wrong = await postForm(s, recovery.path, form, {
    _csrf: form.csrf,
    code: wrongCode(code),
    password: owner.password,
  });
  assert.equal(wrong.statusCode, 400);
  assert.match(wrong.body, /セキュリティコードが正しくありません/);
  const right = await postForm(s, recovery.path, form, { _csrf: form.csrf, code, password: owner.password });
  assert.equal(location(right), recovery.path);
  const waiting = await s.inject({ method: "GET", url: recovery.path, headers: { cookie: form.cookie } });
  assert.equal(waiting.statusCode, 200);
  assert.match(waiting.body, /手続きを受け付けました/);
  assert.equal(await isTwoStepOn(s, owner.accountId), true, "nothing changes before the wait ends");
});

test("the recovery form's resend button stays on the form and says how long to wait", async (t) => {
  const s = await buildTestApp(t);
  const owner = await accountWithApp(s);
  const recovery = await startOnPages(s, owner);
  const form = await openForm(s, recovery.path, recovery.cookie);
  const early = await postForm(s, `${recovery.path}/resend`, form, { _csrf: form.csrf });
  assert.equal(early.statusCode, 429);
  assert.ok(early.headers["retry-after"]);
  assert.match(early.body, /続けて再送信できません/);
  s.clock.advance(s.config.limits.codeResendCooldownSeconds);
  const sent = await postForm(s, `${recovery.path}/resend`, form, { _csrf: form.csrf });
  assert.equal(sent.statusCode, 200);
  assert.match(sent.body, /新しいセキュリティコードを送信しました/);
  const codes = (await s.messagesTo(owner.email)).filter((m) => m.template === "two_step_recovery_code");
  assert.equal(codes.length, 2);
});

test("a recovery form without its CSRF token, or from another browser, does nothing", async (t) => {
  // Attack: a cross-site form post, and a recovery URL read from a shared computer's history.
  const s = await buildTestApp(t);
  const owner = await accountWithApp(s);
  const recovery = await startOnPages(s, owner);
  const code = (await s.latestCode(owner.email, "two_step_recovery_code")) ?? "";
  const form = await openForm(s, recovery.path, recovery.cookie);
  const noToken = await postForm(s, recovery.path, form, { code, password: owner.password });
  assert.equal(noToken.statusCode, 403);
  const stranger = await openForm(s, "/sign-in");
  const other = await postForm(s, recovery.path, stranger, {
    _csrf: stranger.csrf,
    code,
    password: owner.password,
  });
  assert.equal(other.statusCode, 404);
  const row = await s.db.selectFrom("two_step_recovery").select("state").executeTakeFirstOrThrow();
  assert.equal(row.state, "code_sent");
});

test("the mailed cancel link opens a page with one button; opening it cancels nothing, pressing it cancels once", async (t) => {
  // Mail scanners open every link: a GET must not cancel. The button posts the token once.
  const s = await buildTestApp(t);
  const owner = await accountWithApp(s);
  const recovery = await startOnPages(s, owner);
  const code = (await s.latestCode(owner.email, "two_step_recovery_code")) ?? "";
  const form = await openForm(s, recovery.path, recovery.cookie);
  location(await postForm(s, recovery.path, form, { _csrf: form.csrf, code, password: owner.password }));
  const mail = (await s.messagesTo(owner.email)).find((m) => m.template === "two_step_recovery_started");
  const url = /(http\S+two-step-recovery\/cancel\?token=\S+)/.exec(mail?.text_body ?? "")?.[1];
  assert.ok(url);
  const path = new URL(url).pathname + new URL(url).search;
  const page = await openForm(s, path);
  const states = async () =>
    (await s.db.selectFrom("two_step_recovery").select("state").execute()).map((r) => r.state);
  assert.deepEqual(await states(), ["waiting"], "opening the link cancels nothing");
  const token = new URL(url).searchParams.get("token") ?? "";
  const pressed = await postForm(s, "/two-step-recovery/cancel", page, { _csrf: page.csrf, token });
  assert.equal(pressed.statusCode, 200);
  assert.match(pressed.body, /手続きを取り消しました/);
  const again = await postForm(s, "/two-step-recovery/cancel", page, { _csrf: page.csrf, token });
  assert.equal(again.statusCode, 404);
  assert.deepEqual(await states(), ["cancelled"]);
});

test("the banner's button on ログインとセキュリティ cancels the waiting recovery (CSRF-protected)", async (t) => {
  const s = await buildTestApp(t);
  const owner = await accountWithApp(s);
  const recovery = await startOnPages(s, owner);
  const code = (await s.latestCode(owner.email, "two_step_recovery_code")) ?? "";
  const form = await openForm(s, recovery.path, recovery.cookie);
  location(await postForm(s, recovery.path, form, { _csrf: form.csrf, code, password: owner.password }));
  const security = await openForm(s, "/account/security", owner.cookie);
  assert.match(security.body, /id="two-step-recovery-banner"/);
  const forged = await postForm(s, "/account/security/two-step-recovery/cancel", security, {});
  assert.equal(forged.statusCode, 403, "no token, no cancel");
  const cancelled = await postForm(s, "/account/security/two-step-recovery/cancel", security, {
    _csrf: security.csrf,
  });
  assert.equal(cancelled.statusCode, 200);
  const after = await openForm(s, "/account/security", owner.cookie);
  assert.doesNotMatch(after.body, /two-step-recovery-banner/);
});

test("after the wait, the sign-in page leads to the prompt to set two-step up again", async (t) => {
  const s = await buildTestApp(t);
  const owner = await accountWithApp(s);
  const recovery = await startOnPages(s, owner);
  const code = (await s.latestCode(owner.email, "two_step_recovery_code")) ?? "";
  const form = await openForm(s, recovery.path, recovery.cookie);
  location(await postForm(s, recovery.path, form, { _csrf: form.csrf, code, password: owner.password }));
  s.clock.advance(s.config.limits.twoStepRecoveryWaitSeconds);
  const signIn = await openForm(s, "/sign-in");
  const posted = await postForm(s, "/sign-in", signIn, {
    _csrf: signIn.csrf,
    identifier: owner.email,
    password: owner.password,
    return_to: "/account",
  });
  const prompt = location(posted);
  assert.equal(prompt, "/two-step-recovery/set-up-again?return_to=%2Faccount");
  const cookie = sessionCookieHeader(posted, s.config);
  const page = await s.inject({ method: "GET", url: prompt, headers: { cookie } });
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /2段階認証をもう一度設定してください/);
  assert.match(page.body, /href="\/account\/security\/two-step"/);
});
