import assert from "node:assert/strict";
import { test } from "node:test";
import { challengePages } from "../../src/flows/sign-in/challenge-browser.ts";
import { buildTestApp, type RegisteredAccount, type TestApp } from "../support/app.ts";
import {
  cookiePathSetBy,
  cookieSetBy,
  type Form,
  flowCookieSetBy,
  location,
  openForm,
  postForm,
  wrongCode,
} from "../support/forms.ts";
import { isTwoStepOn, oathtoolCode } from "../support/two-step.ts";

// The two-step pages as plain HTML forms, driven the way a browser without JavaScript drives them:
// GET a page (CSRF cookie + hidden field), POST the form, follow 303s. App codes come from
// oathtool at the test's fake time.

const two = "/account/security/two-step";

type AppOwner = RegisteredAccount & { form: Form; secret: string; recoveryCodes: string[] };

/** Registers an account and turns two-step on through the pages, with the app as the primary. */
async function ownerWithApp(s: TestApp): Promise<AppOwner> {
  const owner = await s.registerAccount();
  const form = await openForm(s, `${two}/setup`, owner.cookie);
  const started = await postForm(s, `${two}/setup`, form, { _csrf: form.csrf, method: "totp" });
  const appPage = await openForm(s, location(started), owner.cookie);
  const secret = /<code id="totp-key">([A-Z2-7 ]+)<\/code>/.exec(appPage.body)?.[1];
  const action = /<form method="post" action="(\/account\/security\/two-step\/methods\/mth_[0-9a-z]+)"/.exec(
    appPage.body,
  )?.[1];
  assert.ok(secret && action, "the app page shows the key and a code form");
  const verified = await postForm(s, action, form, {
    _csrf: form.csrf,
    code: oathtoolCode(secret, s.clock.now()),
  });
  assert.equal(location(verified), `${two}/enable`);
  const codes = await postForm(s, `${two}/enable`, form, { _csrf: form.csrf });
  assert.equal(codes.statusCode, 200, codes.body);
  const recoveryCodes = [...codes.body.matchAll(/<li><code>([2-9A-Z]{5}-[2-9A-Z]{5})<\/code><\/li>/g)].map(
    (m) => m[1] ?? "",
  );
  // This step's app code is spent: the next one must come from the next step.
  s.clock.advance(30);
  return { ...owner, form, secret, recoveryCodes };
}

/**
 * The sign-in form with the password: the challenge page's URL (asserting the redirect) and the
 * cookie that hands the challenge's pages to this browser.
 */
async function challengeUrl(
  s: TestApp,
  owner: AppOwner,
  returnTo = "/account",
  cookie = "",
): Promise<{ url: string; action: string; cookie: string; cookiePath: string }> {
  const signIn = await openForm(s, "/sign-in", cookie);
  const posted = await postForm(s, "/sign-in", signIn, {
    _csrf: signIn.csrf,
    identifier: owner.email,
    password: owner.password,
    return_to: returnTo,
  });
  const url = location(posted);
  assert.match(url, /^\/sign-in\/two-step\/sif_[0-9a-z]+\?return_to=/);
  const binding = flowCookieSetBy(posted, challengePages.cookie);
  assert.ok(binding, "the challenge is handed to this browser");
  const cookiePath = cookiePathSetBy(posted, binding.split("=")[0] ?? "") ?? "";
  return { url, action: url.split("?")[0] ?? "", cookie: binding, cookiePath };
}

test("two-step forms posted without the CSRF token are refused with 403 and change nothing", async (t) => {
  const s = await buildTestApp(t);
  const owner = await s.registerAccount();
  const form = await openForm(s, `${two}/setup`, owner.cookie);
  // Attack: a page elsewhere posts the set-up form with the victim's cookies but cannot read the token.
  const setup = await postForm(s, `${two}/setup`, form, { method: "sms", phone: "090-1234-5678" });
  assert.equal(setup.statusCode, 403);
  const methods = await s.db.selectFrom("two_step_method").select("id").execute();
  assert.deepEqual(methods, [], "no method was started");
  assert.deepEqual(await s.messagesTo("+819012345678"), [], "no SMS was sent");

  const enabled = await ownerWithApp(s);
  const challenge = await challengeUrl(s, enabled);
  const page = await openForm(s, challenge.url, challenge.cookie);
  const action = challenge.action;
  const code = oathtoolCode(enabled.secret, s.clock.now());
  const forged = await postForm(s, action, page, { code, return_to: "/account" });
  assert.equal(forged.statusCode, 403);
  assert.equal(cookieSetBy(forged, s.config.sessionCookieName), undefined, "no session without the token");
  const off = await postForm(s, `${two}/disable`, enabled.form, { confirm: "1" });
  assert.equal(off.statusCode, 403);
  assert.equal(await isTwoStepOn(s, enabled.accountId), true);
});

test("setting up the app: the QR code is an image, the key is grouped, ten recovery codes shown once", async (t) => {
  const s = await buildTestApp(t);
  const owner = await s.registerAccount({ locale: "en" });
  const start = await openForm(s, two, owner.cookie);
  assert.match(start.body, /<h1>Advanced security settings<\/h1>/);
  assert.match(start.body, /href="\/account\/security\/two-step\/setup">Get started<\/a>/);
  const chooser = await openForm(s, `${two}/setup`, owner.cookie);
  assert.match(chooser.body, /Authenticator app \(recommended\)/);
  assert.match(chooser.body, /Text messages can be read by others/, "the SMS risk is said beside it");
  const started = await postForm(s, `${two}/setup`, chooser, { _csrf: chooser.csrf, method: "totp" });
  assert.match(location(started), /^\/account\/security\/two-step\/methods\/mth_[0-9a-z]+$/);
  const appPage = await openForm(s, location(started), owner.cookie);
  // The server-drawn SVG arrives as a data: image, never as markup in the page.
  assert.match(appPage.body, /<img src="data:image\/svg\+xml;base64,[A-Za-z0-9+/=]+" alt="QR code for your/);
  assert.doesNotMatch(appPage.body, /<svg/);
  assert.match(appPage.body, /<code id="totp-key">([A-Z2-7]{4} ){7}[A-Z2-7]{4}<\/code>/);
  assert.match(appPage.body, /autocomplete="one-time-code" inputmode="numeric"/);

  const action =
    /action="(\/account\/security\/two-step\/methods\/mth_[0-9a-z]+)"/.exec(appPage.body)?.[1] ?? "";
  const wrong = await postForm(s, action, chooser, { _csrf: chooser.csrf, code: "000000" });
  assert.equal(wrong.statusCode, 400);
  assert.match(wrong.body, /Enter the newest code your app shows/);
  assert.doesNotMatch(wrong.body, /\{attemptsLeft\}/);

  const fresh = await ownerWithApp(s);
  assert.equal(fresh.recoveryCodes.length, 10);
  assert.equal(new Set(fresh.recoveryCodes).size, 10);
  const overview = await openForm(s, two, fresh.cookie);
  assert.match(overview.body, /未使用のリカバリーコード: 10個/);
  assert.doesNotMatch(overview.body, new RegExp(fresh.recoveryCodes[0] ?? "x"), "never shown again");
});

test("a 050 IP phone is refused for SMS beside the phone field, and may take a voice call", async (t) => {
  const s = await buildTestApp(t);
  const owner = await s.registerAccount();
  const form = await openForm(s, `${two}/setup`, owner.cookie);
  const sms = await postForm(s, `${two}/setup`, form, {
    _csrf: form.csrf,
    method: "sms",
    phone: "050-1234-5678",
  });
  assert.equal(sms.statusCode, 400);
  assert.match(sms.body, /<p class="error" id="phone-error">この番号ではSMS(.|\n)*音声通話または認証アプリ/);
  assert.match(sms.body, /value="sms" checked/, "the choice is kept");
  const voice = await postForm(s, `${two}/setup`, form, {
    _csrf: form.csrf,
    method: "voice",
    phone: "050-1234-5678",
  });
  const codePage = await openForm(s, location(voice), owner.cookie);
  assert.match(codePage.body, /\*\*\*-\*\*\*\*-5678に電話をかけて/);
  const none = await postForm(s, `${two}/setup`, form, { _csrf: form.csrf, phone: "090-1234-5678" });
  assert.equal(none.statusCode, 400);
  assert.match(none.body, /<a href="#method">受け取り方法を選んでください。<\/a>/);
});

test("the challenge page refuses a wrong code with the tries left, and sets no session cookie", async (t) => {
  const s = await buildTestApp(t);
  const owner = await ownerWithApp(s);
  const { url, cookie } = await challengeUrl(s, owner);
  const page = await openForm(s, url, cookie);
  assert.match(page.body, /認証アプリに表示されている6桁のセキュリティコード/);
  assert.match(page.body, /autocomplete="one-time-code" inputmode="numeric"/);
  const action = url.split("?")[0] ?? "";
  const right = oathtoolCode(owner.secret, s.clock.now());
  const wrong = await postForm(s, action, page, {
    _csrf: page.csrf,
    code: wrongCode(right),
    return_to: "/account",
  });
  assert.equal(wrong.statusCode, 400);
  assert.match(
    wrong.body,
    /<a href="#code">セキュリティコードが正しくありません。残り4回入力できます。<\/a>/,
  );
  assert.equal(cookieSetBy(wrong, s.config.sessionCookieName), undefined);
  for (let i = 0; i < 3; i++) await postForm(s, action, page, { _csrf: page.csrf, code: wrongCode(right) });
  // The fifth wrong code ends the challenge: back to sign-in, with the reason.
  const fifth = await postForm(s, action, page, {
    _csrf: page.csrf,
    code: wrongCode(right),
    return_to: "/account",
  });
  assert.equal(fifth.statusCode, 410);
  assert.match(fifth.body, /続けて間違えたため、この確認は終了しました/);
  assert.match(fifth.body, /href="\/sign-in\?return_to=%2Faccount">ログインに戻る/);
  const late = await postForm(s, action, page, { _csrf: page.csrf, code: right });
  assert.equal(late.statusCode, 410, "the right code no longer helps");
});

test("the trusted-device checkbox sets an HttpOnly cookie; the next sign-in on this browser skips the code", async (t) => {
  const s = await buildTestApp(t);
  const owner = await ownerWithApp(s);
  const { url, cookie } = await challengeUrl(s, owner, "/account/sessions");
  const page = await openForm(s, url, cookie);
  const plain = await postForm(s, url.split("?")[0] ?? "", page, {
    _csrf: page.csrf,
    code: oathtoolCode(owner.secret, s.clock.now()),
    return_to: "/account/sessions",
  });
  assert.equal(location(plain), "/account/sessions");
  assert.ok(cookieSetBy(plain, s.config.sessionCookieName), "signed in");
  assert.equal(cookieSetBy(plain, "mamori_trusted"), undefined, "not ticked: no trusted-device cookie");

  s.clock.advance(30);
  const second = await challengeUrl(s, owner);
  const secondPage = await openForm(s, second.url, second.cookie);
  const trusted = await postForm(s, second.action, secondPage, {
    _csrf: secondPage.csrf,
    code: oathtoolCode(owner.secret, s.clock.now()),
    trust_device: "1",
    return_to: "//evil.example/steal",
  });
  assert.equal(location(trusted), "/account", "an off-site return_to falls back to /account");
  const raw = trusted.headers["set-cookie"];
  const header = (Array.isArray(raw) ? raw : [String(raw)]).find((c) => c.startsWith("mamori_trusted="));
  assert.ok(header, "the trusted-device cookie is set");
  assert.match(header, /HttpOnly/i);
  assert.match(header, /Max-Age=2592000/);
  const device = header.split(";")[0] ?? "";

  // The next sign-in on this browser needs the password only; the security page lists the browser.
  const signIn = await openForm(s, "/sign-in", device);
  const skipped = await postForm(s, "/sign-in", signIn, {
    _csrf: signIn.csrf,
    identifier: owner.email,
    password: owner.password,
  });
  assert.equal(location(skipped), "/account");
  const session = cookieSetBy(skipped, s.config.sessionCookieName) ?? "";
  const security = await openForm(s, "/account/security", `${session}; ${device}`);
  assert.match(security.body, /コードを要求しないブラウザ/);
  assert.match(security.body, /<span class="tag">このブラウザ<\/span>/);
  const deviceId = /name="device" value="(dev_[0-9a-z]+)"/.exec(security.body)?.[1] ?? "";
  const forgot = await postForm(s, "/account/security/trusted-devices/forget", security, {
    _csrf: security.csrf,
    device: deviceId,
  });
  assert.equal(location(forgot), "/account/security?done=device");
  await challengeUrl(s, owner, "/account", device);
});

test("the password page appears when the sign-in is older than 10 minutes, and returns where the person was", async (t) => {
  const s = await buildTestApp(t);
  const owner = await s.registerAccount();
  s.clock.advance(11 * 60);
  const stale = await s.inject({ method: "GET", url: `${two}/setup`, headers: { cookie: owner.cookie } });
  const reauth = location(stale);
  assert.equal(reauth, "/account/security/reauthenticate?return_to=%2Faccount%2Fsecurity%2Ftwo-step%2Fsetup");
  const page = await openForm(s, reauth, owner.cookie);
  assert.match(page.body, /<h1>パスワードの再入力<\/h1>/);
  assert.match(page.body, /autocomplete="current-password"/);
  const wrong = await postForm(s, "/account/security/reauthenticate", page, {
    _csrf: page.csrf,
    password: "not-my-password-1",
    return_to: `${two}/setup`,
  });
  assert.equal(wrong.statusCode, 401);
  assert.match(wrong.body, /パスワードが正しくありません。/);
  const right = await postForm(s, "/account/security/reauthenticate", page, {
    _csrf: page.csrf,
    password: owner.password,
    return_to: `${two}/setup`,
  });
  assert.equal(location(right), `${two}/setup`);
  await openForm(s, `${two}/setup`, page.cookie);
  const offSite = await postForm(s, "/account/security/reauthenticate", page, {
    _csrf: page.csrf,
    password: owner.password,
    return_to: "https://evil.example/",
  });
  assert.equal(location(offSite), "/account/security");
});

test("a backup needs a code from the primary first when the second factor is older than 10 minutes", async (t) => {
  const s = await buildTestApp(t);
  const owner = await ownerWithApp(s);
  s.clock.advance(11 * 60);
  const password = location(
    await s.inject({ method: "GET", url: `${two}/backup`, headers: { cookie: owner.cookie } }),
  );
  const reauth = await openForm(s, password, owner.cookie);
  const back = await postForm(s, "/account/security/reauthenticate", reauth, {
    _csrf: reauth.csrf,
    password: owner.password,
    return_to: `${two}/backup`,
  });
  const stepUp = location(
    await s.inject({ method: "GET", url: location(back), headers: { cookie: owner.cookie } }),
  );
  assert.equal(stepUp, "/account/security/step-up?return_to=%2Faccount%2Fsecurity%2Ftwo-step%2Fbackup");
  const page = await openForm(s, stepUp, reauth.cookie);
  const methodId = /name="method_id" value="(mth_[0-9a-z]+)"/.exec(page.body)?.[1] ?? "";
  const fields = { _csrf: page.csrf, method_id: methodId, return_to: `${two}/backup` };
  const right = oathtoolCode(owner.secret, s.clock.now());
  const wrong = await postForm(s, "/account/security/step-up", page, { ...fields, code: wrongCode(right) });
  assert.equal(wrong.statusCode, 400);
  assert.match(wrong.body, /セキュリティコードが正しくありません。/);
  const ok = await postForm(s, "/account/security/step-up", page, { ...fields, code: right });
  assert.equal(location(ok), `${two}/backup`);
  const chooser = await openForm(s, `${two}/backup`, reauth.cookie);
  const again = await postForm(s, `${two}/backup`, chooser, { _csrf: chooser.csrf, method: "totp" });
  assert.equal(again.statusCode, 409, "a second app equal to the primary is refused");
  assert.match(again.body, /この方法は既に登録されています/);
});

test("turning two-step off needs the confirmation page's second POST, and a code from a method when the sign-in is old", async (t) => {
  const s = await buildTestApp(t);
  const owner = await ownerWithApp(s);
  const confirmPage = await openForm(s, `${two}/disable`, owner.cookie);
  assert.match(confirmPage.body, /2段階認証を無効にしますか？/);
  assert.match(confirmPage.body, /name="confirm" value="1"/);
  assert.doesNotMatch(confirmPage.body, /name="password"/, "a recent sign-in needs no password");
  // The first "Disable" alone (a form without the confirmation) only shows the confirmation again.
  const first = await postForm(s, `${two}/disable`, confirmPage, { _csrf: confirmPage.csrf });
  assert.equal(first.statusCode, 400);
  assert.match(first.body, /無効にするには、もう一度確認してください。/);
  assert.equal(await isTwoStepOn(s, owner.accountId), true);

  s.clock.advance(11 * 60);
  // An old sign-in: a password alone never turns two-step off, so the page sends the person to
  // the step-up page first, and the code from the app brings them back.
  const stepUp = location(
    await s.inject({ method: "GET", url: `${two}/disable`, headers: { cookie: confirmPage.cookie } }),
  );
  assert.equal(stepUp, "/account/security/step-up?return_to=%2Faccount%2Fsecurity%2Ftwo-step%2Fdisable");
  const stepUpPage = await openForm(s, stepUp, confirmPage.cookie);
  const methodId = /name="method_id" value="(mth_[0-9a-z]+)"/.exec(stepUpPage.body)?.[1] ?? "";
  const stepped = await postForm(s, "/account/security/step-up", stepUpPage, {
    _csrf: stepUpPage.csrf,
    method_id: methodId,
    return_to: `${two}/disable`,
    code: oathtoolCode(owner.secret, s.clock.now()),
  });
  assert.equal(location(stepped), `${two}/disable`);
  const confirmAgain = await openForm(s, `${two}/disable`, stepUpPage.cookie);
  assert.doesNotMatch(confirmAgain.body, /name="password"/, "the code proved it's the owner just now");
  const done = await postForm(s, `${two}/disable`, confirmAgain, { _csrf: confirmAgain.csrf, confirm: "1" });
  assert.equal(location(done), `${two}?done=disabled`);
  assert.equal(await isTwoStepOn(s, owner.accountId), false);
  const overview = await openForm(s, `${two}?done=disabled`, confirmAgain.cookie);
  assert.match(overview.body, /role="status">2段階認証を無効化しました。/);
  const security = await openForm(s, "/account/security", confirmAgain.cookie);
  assert.match(security.body, /<dt>2段階認証<\/dt><dd class="value">オフ/);
});

test("an expired challenge leads back to sign-in with the reason", async (t) => {
  const s = await buildTestApp(t);
  const owner = await ownerWithApp(s);
  const { url, cookie } = await challengeUrl(s, owner, "/account/sessions");
  s.clock.advance(11 * 60);
  const expired = await s.inject({ method: "GET", url, headers: { cookie } });
  assert.equal(expired.statusCode, 410);
  assert.match(expired.body, /確認の有効期限が切れました。もう一度ログインしてください。/);
  assert.match(expired.body, /href="\/sign-in\?return_to=%2Faccount%2Fsessions"/);
  const unknown = await s.inject({ method: "GET", url: "/sign-in/two-step/sif_nosuchchallenge" });
  assert.equal(unknown.statusCode, 404);
});

test("the two-step page opened without its browser cookie shows nothing and accepts nothing", async (t) => {
  // Attack: the challenge page's URL from a shared computer's history, tried with the owner's code.
  const s = await buildTestApp(t);
  const owner = await ownerWithApp(s);
  const { url, action, cookie } = await challengeUrl(s, owner);
  const elsewhere = await s.inject({ method: "GET", url });
  assert.equal(elsewhere.statusCode, 404);
  assert.doesNotMatch(elsewhere.body, /id="code"/);
  const other = await openForm(s, "/sign-in");
  const code = oathtoolCode(owner.secret, s.clock.now());
  const tried = await postForm(s, action, other, { _csrf: other.csrf, code, return_to: "/account" });
  assert.equal(tried.statusCode, 404);
  assert.equal(cookieSetBy(tried, s.config.sessionCookieName), undefined, "no session for another browser");
  const flow = await s.db
    .selectFrom("sign_in_flow")
    .select(["state", "attempts"])
    .where("id", "=", action.split("/").pop() ?? "")
    .executeTakeFirstOrThrow();
  assert.deepEqual(flow, { state: "second_factor_required", attempts: 0 }, "the code was not even tried");
  // The owner's browser still can, and its challenge cookie goes once the code passed.
  const page = await openForm(s, url, cookie);
  const signedIn = await postForm(s, action, page, { _csrf: page.csrf, code, return_to: "/account" });
  assert.equal(location(signedIn), "/account");
  assert.ok(cookieSetBy(signedIn, s.config.sessionCookieName));
  const challengeCookie = cookie.split("=")[0] ?? "";
  assert.equal(cookieSetBy(signedIn, challengeCookie), `${challengeCookie}=`);
});

test("two sign-ins begun in two tabs of one browser each keep their two-step page", async (t) => {
  const s = await buildTestApp(t);
  const owner = await ownerWithApp(s);
  const first = await challengeUrl(s, owner);
  const second = await challengeUrl(s, owner, "/account/sessions");
  assert.notEqual(first.action, second.action);
  // What the browser keeps: one cookie per name and path, the later replacing the earlier.
  const jar = new Map<string, { cookie: string; cookiePath: string }>();
  for (const tab of [first, second]) jar.set(`${tab.cookie.split("=")[0]} ${tab.cookiePath}`, tab);
  // And what it sends for a page: the cookies whose path is the page's or a folder above it.
  const cookieFor = (page: string) =>
    [...jar.values()]
      .filter(
        ({ cookiePath: path }) => page === path || page.startsWith(path.endsWith("/") ? path : `${path}/`),
      )
      .sort((a, b) => b.cookiePath.length - a.cookiePath.length)
      .map(({ cookie }) => cookie)
      .join("; ");
  const page = await openForm(s, first.url, cookieFor(first.action));
  assert.match(page.body, /id="code"/, "the first tab's page still shows its form");
  const code = oathtoolCode(owner.secret, s.clock.now());
  const signedIn = await postForm(s, first.action, page, { _csrf: page.csrf, code, return_to: "/account" });
  assert.equal(location(signedIn), "/account");
  assert.ok(cookieSetBy(signedIn, s.config.sessionCookieName), "signed in from the first tab");
  const secondPage = await openForm(s, second.url, cookieFor(second.action));
  assert.match(secondPage.body, /id="code"/, "the second tab's page is there too");
});
