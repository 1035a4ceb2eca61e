import assert from "node:assert/strict";
import { test } from "node:test";
import type { LightMyRequestResponse } from "fastify";
import { activityLabel } from "../../src/account/activity-page.ts";
import { buildTestApp, type RegisteredAccount, sessionCookieHeader, type TestApp } from "../support/app.ts";
import { flowCookieSetBy, location, openForm, postForm } from "../support/forms.ts";
import { call } from "../support/two-step.ts";

// "Sign-in activity" and "this wasn't me" as plain HTML forms, driven the way a browser without
// JavaScript drives them (see test/support/forms.ts).

const activityPath = "/account/security/activity";
const notMePath = "/account/security/not-me";
const firefoxOnWindows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0";

/** The owner signs in from Google's public resolver address with Firefox: a place Intl can name. */
async function signInFromAbroad(s: TestApp, owner: RegisteredAccount): Promise<LightMyRequestResponse> {
  const response = await s.inject({
    method: "POST",
    url: "/api/v1/sign-in",
    remoteAddress: "8.8.8.8",
    headers: { "user-agent": firefoxOnWindows },
    payload: { identifier: owner.email, password: owner.password },
  });
  assert.equal(response.statusCode, 200, response.body);
  return response;
}

/** Each row of the list as text: tags dropped, spaces squeezed. */
function rows(body: string): string[] {
  const list = /<ul class="activity">([\s\S]*?)<\/ul>/.exec(body)?.[1] ?? "";
  return [...list.matchAll(/<li class="[^"]*">([\s\S]*?)<\/li>/g)].map((m) =>
    (m[1] ?? "")
      .replace(/<[^>]+>/g, " ")
      .replace(/&#39;/g, "'")
      .replace(/\s+/g, " ")
      .trim(),
  );
}

async function liveSessions(s: TestApp, accountId: string): Promise<number> {
  const rows = await s.db
    .selectFrom("session")
    .select("id")
    .where("account_id", "=", accountId)
    .where("revoked_at", "is", null)
    .execute();
  return rows.length;
}

async function resetCodesSent(s: TestApp, email: string): Promise<number> {
  return (await s.messagesTo(email)).filter((m) => m.template === "password_reset_code").length;
}

test("the list names a sign-in's browser, country and IP in Japan time, newest first, without strangers' failed guesses", async (t) => {
  const s = await buildTestApp(t);
  const owner = await s.registerAccount();
  s.clock.advance(60);
  await signInFromAbroad(s, owner);
  s.clock.advance(60);
  // Someone else guessing the password is not something the owner did.
  const guess = await s.signIn({ identifier: owner.email, password: "wrong-guess-1" });
  assert.equal(guess.statusCode, 401);
  const failed = await s.db
    .selectFrom("audit_event")
    .select("id")
    .where("account_id", "=", owner.accountId)
    .where("type", "=", "sign_in.failed")
    .execute();
  assert.equal(failed.length, 1, "the failed guess is in the account's audit log");
  s.clock.advance(60);
  const changed = await call(s, "PUT", "/api/v1/security/password", owner.cookie, {
    currentPassword: owner.password,
    newPassword: "Yozora-Hotaru-2468-Kitsune",
  });
  assert.equal(changed.statusCode, 200, changed.body);

  const page = await openForm(s, activityPath, owner.cookie);
  assert.match(page.body, /<h1>ログイン履歴<\/h1>/);
  const usa = new Intl.DisplayNames(["ja"], { type: "region" }).of("US");
  assert.deepEqual(rows(page.body), [
    "パスワードの変更 2031/04/01 18:03 不明なブラウザ · IPアドレス: 127.0.0.1",
    `ログイン 2031/04/01 18:01 Firefox (Windows) · ${usa} · IPアドレス: 8.8.8.8 これは私ではありません`,
    "アカウントの作成 2031/04/01 18:00 不明なブラウザ · IPアドレス: 127.0.0.1",
  ]);
  assert.doesNotMatch(page.body, /ログインの失敗|wrong-guess/);
  assert.match(page.body, /<time datetime="2031-04-01T09:01:00.000Z">2031\/04\/01 18:01<\/time>/);
  // One button on the sign-in row, naming its event and described by its row, and one for the page.
  const signIn = await s.db
    .selectFrom("audit_event")
    .select("id")
    .where("type", "=", "sign_in.succeeded")
    .executeTakeFirstOrThrow();
  assert.equal(
    [...page.body.matchAll(/<form method="post" action="\/account\/security\/not-me">/g)].length,
    2,
  );
  assert.match(
    page.body,
    new RegExp(
      `<input type="hidden" name="event" value="${signIn.id}"><button type="submit" class="secondary" aria-describedby="event-${signIn.id}">`,
    ),
  );
});

test("the English list says United States and Sign-in, and an unknown event type gets a generic label", async (t) => {
  const s = await buildTestApp(t);
  const owner = await s.registerAccount({ locale: "en", name: "Alice Smith" });
  s.clock.advance(60);
  await signInFromAbroad(s, owner);
  const page = await openForm(s, activityPath, owner.cookie);
  assert.match(page.body, /<h1>Sign-in activity<\/h1>/);
  const usa = new Intl.DisplayNames(["en"], { type: "region" }).of("US");
  assert.equal(
    rows(page.body)[0],
    `Sign-in 1 Apr 2031, 18:01 Firefox (Windows) · ${usa} · IP address 8.8.8.8 This wasn't me`,
  );
  assert.equal(activityLabel("en", "two_step.enabled"), "Two-step verification turned on");
  assert.equal(activityLabel("ja", "two_step.enabled"), "2段階認証をオン");
  assert.equal(activityLabel("ja", "some.future_event"), "セキュリティに関する操作");
  assert.equal(activityLabel("en", "toString"), "Security activity", "no inherited property is a label");
});

test("Login & security links to the activity page; signed out, the page asks to sign in and comes back", async (t) => {
  const s = await buildTestApp(t);
  const owner = await s.registerAccount();
  const security = await call(s, "GET", "/account/security", owner.cookie);
  assert.match(
    security.body,
    /<dt>ログイン履歴<\/dt><dd class="value">最近のログインと設定の変更<\/dd><dd class="action"><a class="edit" href="\/account\/security\/activity" aria-label="ログイン履歴を確認">確認<\/a>/,
  );
  const signedOut = await s.inject({ method: "GET", url: activityPath });
  assert.equal(location(signedOut), "/sign-in?return_to=%2Faccount%2Fsecurity%2Factivity");
});

test("'this wasn't me' needs the form's CSRF token: without it nothing ends and no code is sent", async (t) => {
  const s = await buildTestApp(t);
  const owner = await s.registerAccount();
  // Attack: another site's page posts the confirmed form, hoping to sign the owner out and start a
  // reset. The browser sends the session cookie but the attacker cannot read the CSRF token.
  const page = await openForm(s, activityPath, owner.cookie);
  const withoutToken: Record<string, string>[] = [{ confirm: "1" }, { confirm: "1", _csrf: "forged" }, {}];
  for (const fields of withoutToken) {
    const response = await postForm(s, notMePath, page, fields);
    assert.equal(response.statusCode, 403, JSON.stringify(fields));
    assert.match(response.body, /フォームの有効期限が切れました/);
  }
  const crossSite = await s.inject({
    method: "POST",
    url: notMePath,
    headers: {
      origin: "https://evil.example",
      cookie: page.cookie,
      "content-type": "application/x-www-form-urlencoded",
    },
    payload: new URLSearchParams({ _csrf: page.csrf, confirm: "1" }).toString(),
  });
  assert.equal(crossSite.statusCode, 403);
  assert.equal(await liveSessions(s, owner.accountId), 1, "the session goes on");
  assert.equal(await resetCodesSent(s, owner.email), 0);
});

test("'this wasn't me': a confirmation first, then every session ends and this browser lands on the reset code page", async (t) => {
  const s = await buildTestApp(t);
  const owner = await s.registerAccount();
  const elsewhere = await signInFromAbroad(s, owner);
  const otherCookie = sessionCookieHeader(elsewhere, s.config);
  const stranger = await s.registerAccount();
  const strangersEvent = await s.db
    .selectFrom("audit_event")
    .select("id")
    .where("account_id", "=", stranger.accountId)
    .executeTakeFirstOrThrow();
  const page = await openForm(s, activityPath, owner.cookie);
  const eventId = /name="event" value="([^"]+)"/.exec(page.body)?.[1];
  assert.ok(eventId);

  // The button only asks: what will happen, this browser's sign-out included.
  const asked = await postForm(s, notMePath, page, { _csrf: page.csrf, event: eventId });
  assert.equal(asked.statusCode, 200, asked.body);
  assert.match(asked.body, /<h1>心当たりのないログイン<\/h1>/);
  assert.match(asked.body, /報告するログイン[\s\S]*Firefox \(Windows\)[\s\S]*8\.8\.8\.8/);
  assert.match(asked.body, /この端末を含む、すべての端末からログアウトします。/);
  assert.match(asked.body, /ブラウザの登録をすべて解除します。/);
  assert.match(
    asked.body,
    new RegExp(
      `パスワードを再設定するためのセキュリティコードを<strong>${owner.email}</strong>に送信します。`,
    ),
  );
  assert.match(asked.body, /<input type="hidden" name="confirm" value="1">/);
  assert.equal(await liveSessions(s, owner.accountId), 2, "asking ends nothing");
  assert.equal(await resetCodesSent(s, owner.email), 0);
  // Another account's event id shows nothing of that account.
  const foreign = await postForm(s, notMePath, page, { _csrf: page.csrf, event: strangersEvent.id });
  assert.equal(foreign.statusCode, 200);
  assert.doesNotMatch(foreign.body, /報告するログイン/);

  const done = await postForm(s, notMePath, page, { _csrf: page.csrf, confirm: "1" });
  const codeUrl = location(done);
  assert.match(codeUrl, /^\/password-reset\/pwr_[0-9a-z]+\?from=not_me$/);
  assert.match(String(done.headers["set-cookie"]), /mamori_session=;/, "this browser forgets its session");
  const binding = flowCookieSetBy(done, "mamori_reset");
  assert.ok(binding, "the reset is tied to this browser");
  assert.equal(await liveSessions(s, owner.accountId), 0, "every session ended, this one too");
  assert.equal(await resetCodesSent(s, owner.email), 1, "a reset code was mailed");
  for (const cookie of [owner.cookie, otherCookie]) {
    const account = await s.inject({ method: "GET", url: "/account", headers: { cookie } });
    assert.equal(location(account), "/sign-in?return_to=%2Faccount");
  }

  // The code page opens in this browser, saying what happened; another browser sees no reset.
  const browserCookie = `${page.cookie
    .split("; ")
    .filter((c) => !c.startsWith("mamori_session="))
    .join("; ")}; ${binding}`;
  const codePage = await openForm(s, codeUrl, browserCookie);
  assert.match(codePage.body, /<p class="notice" role="status">すべての端末からログアウトしました。/);
  assert.match(codePage.body, /autocomplete="one-time-code"/);
  const otherBrowser = await s.inject({ method: "GET", url: codeUrl });
  assert.equal(otherBrowser.statusCode, 404);

  // The mailed code moves the reset on to the new password.
  const code = await s.latestCode(owner.email, "password_reset_code");
  assert.ok(code);
  const codePath = codeUrl.split("?")[0] ?? "";
  const verified = await postForm(s, codePath, codePage, { _csrf: codePage.csrf, code });
  assert.equal(location(verified), `${codePath}/new`);
  const audit = await s.db
    .selectFrom("audit_event")
    .select("type")
    .where("account_id", "=", owner.accountId)
    .where("type", "=", "security.not_me")
    .execute();
  assert.equal(audit.length, 1);
});

test("when no reset code may be sent yet, 'this wasn't me' still signs out everywhere and says when to try", async (t) => {
  const s = await buildTestApp(t, { env: { MAMORI_PASSWORD_RESET_REQUESTS_PER_IDENTIFIER: "1" } });
  const owner = await s.registerAccount();
  const earlier = await s.inject({
    method: "POST",
    url: "/api/v1/password-resets",
    payload: { identifier: owner.email },
  });
  assert.equal(earlier.statusCode, 202, earlier.body);
  const page = await openForm(s, activityPath, owner.cookie);
  const done = await postForm(s, notMePath, page, { _csrf: page.csrf, confirm: "1" });
  assert.equal(done.statusCode, 429, done.body);
  assert.ok(Number(done.headers["retry-after"]) > 0);
  assert.match(done.body, /<h1>すべての端末からログアウトしました<\/h1>/);
  assert.match(done.body, /<a class="button wide" href="\/password-reset">パスワードを再設定<\/a>/);
  assert.match(String(done.headers["set-cookie"]), /mamori_session=;/);
  assert.equal(flowCookieSetBy(done, "mamori_reset"), undefined);
  assert.equal(await liveSessions(s, owner.accountId), 0);
});

test("a 'this wasn't me' press that finds the session gone asks to sign in, then asks again", async (t) => {
  const s = await buildTestApp(t);
  const owner = await s.registerAccount();
  const page = await openForm(s, activityPath, owner.cookie);
  const signedOut = {
    cookie: page.cookie
      .split("; ")
      .filter((c) => !c.startsWith("mamori_session="))
      .join("; "),
  };
  const response = await postForm(s, notMePath, signedOut, { _csrf: page.csrf, confirm: "1" });
  assert.equal(location(response), "/sign-in?return_to=%2Faccount%2Fsecurity%2Fnot-me");
  assert.equal(await resetCodesSent(s, owner.email), 0);
  const again = await openForm(s, notMePath, page.cookie);
  assert.match(again.body, /<h1>心当たりのないログイン<\/h1>/);
});
