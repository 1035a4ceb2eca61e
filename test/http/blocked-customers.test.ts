import assert from "node:assert/strict";
import { after, test } from "node:test";
import { changeAccountStatus } from "../../src/operations/account-admin.ts";
import { setMaintenanceMode } from "../../src/operations/maintenance.ts";
import { assertApiError, buildTestApp, type TestApp } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import { openForm, postForm } from "../support/forms.ts";
import { call } from "../support/two-step.ts";

// No dead ends for blocked customers: a suspended or closed account, a country the shop does not
// allow and maintenance each get a page that says why, with the shop's support contact
// (MAMORI_SUPPORT_*). Runs on SQLite, and on PostgreSQL with MAMORI_TEST_DATABASE=postgres.

after(stopSharedPostgres);

const support = {
  MAMORI_SUPPORT_URL: "https://shop.example.jp/help",
  MAMORI_SUPPORT_PHONE: "0120-987-654",
  MAMORI_SUPPORT_HOURS: "平日 10:00〜18:00",
};
const abroad = "8.8.8.8";

function assertSupportShown(body: string): void {
  assert.match(body, /https:\/\/shop\.example\.jp\/help/);
  assert.match(body, /0120-987-654/);
  assert.match(body, /平日 10:00〜18:00/);
}

test("a suspended customer who is signed in sees why, with the support contact, not a sign-in page", async (t) => {
  const s = await buildTestApp(t, { env: support });
  const owner = await s.registerAccount();
  const suspended = await changeAccountStatus(s.deps, owner.email, "suspended", "unpaid orders");
  assert.equal(suspended.ok, true);
  for (const url of ["/account", "/account/security"]) {
    const page = await s.inject({ method: "GET", url, headers: { cookie: owner.cookie } });
    assert.equal(page.statusCode, 403, `${url}: ${page.statusCode} ${String(page.headers.location)}`);
    assert.match(page.body, /このアカウントは一時停止されています/);
    assertSupportShown(page.body);
    assert.doesNotMatch(page.body, /name="password"/, "not a bare sign-in form");
  }
  assertApiError(await call(s, "GET", "/api/v1/session", owner.cookie), 403, "account_suspended");
  // The home page sends the holder of the refused session to the page that says why.
  const home = await s.inject({ method: "GET", url: "/", headers: { cookie: owner.cookie } });
  assert.equal(home.headers.location, "/account");
  // A made-up cookie of the same session id learns nothing: it is sent to sign in.
  const forged = `${s.config.sessionCookieName}=${owner.cookie.split("=")[1]?.split(".")[0]}.forged`;
  const stranger = await s.inject({ method: "GET", url: "/account", headers: { cookie: forged } });
  assert.equal(stranger.statusCode, 303);
  assertApiError(await call(s, "GET", "/api/v1/session", forged), 401, "unauthenticated");

  // Signing in on the page with the right password: the refusal page, not the form again.
  const form = await openForm(s, "/sign-in");
  const signIn = await postForm(s, "/sign-in", form, {
    _csrf: form.csrf,
    identifier: owner.email,
    password: owner.password,
  });
  assert.equal(signIn.statusCode, 403);
  assert.match(signIn.body, /このアカウントは一時停止されています/);
  assertSupportShown(signIn.body);
});

test("a closed customer's sign-in with the right password gets the closed page with the support contact", async (t) => {
  const s = await buildTestApp(t, { env: support });
  const owner = await s.registerAccount();
  assert.equal(
    (await call(s, "POST", "/api/v1/security/close", owner.cookie, { confirm: true })).statusCode,
    200,
  );
  const form = await openForm(s, "/sign-in");
  const signIn = await postForm(s, "/sign-in", form, {
    _csrf: form.csrf,
    identifier: owner.email,
    password: owner.password,
  });
  assert.equal(signIn.statusCode, 403);
  assert.match(signIn.body, /このアカウントは閉鎖されています/);
  assertSupportShown(signIn.body);
  // A wrong password still says nothing about the account.
  const wrong = await postForm(s, "/sign-in", form, {
    _csrf: form.csrf,
    identifier: owner.email,
    password: "Wrong-Password-1234-xyz",
  });
  assert.equal(wrong.statusCode, 401);
  assert.doesNotMatch(wrong.body, /閉鎖/);
});

test("the maintenance page shows the support contact", async (t) => {
  const s = await buildTestApp(t, { env: support });
  await setMaintenanceMode(s.db, { on: true, message: "", retryAfterSeconds: 600 }, s.clock.now());
  const page = await s.inject({ method: "GET", url: "/sign-in" });
  assert.equal(page.statusCode, 503);
  assertSupportShown(page.body);
  // Without a configured contact, the page still says where to turn, in general words.
  const plain = await buildTestApp(t);
  await setMaintenanceMode(plain.db, { on: true, message: "", retryAfterSeconds: 600 }, plain.clock.now());
  const plainPage = await plain.inject({ method: "GET", url: "/sign-in" });
  assert.match(plainPage.body, /ショップのサポート窓口にお問い合わせください/);
});

/** What a reset request's answer looks like with its ids and tokens taken out. */
async function resetAnswer(s: TestApp, identifier: string): Promise<string> {
  const form = await openForm(s, "/password-reset");
  const posted = await postForm(s, "/password-reset", form, { _csrf: form.csrf, identifier });
  assert.equal(posted.statusCode, 303, posted.body);
  const next = String(posted.headers.location);
  const cookies = [
    form.cookie,
    ...[posted.headers["set-cookie"] ?? []].flat().map((c) => c.split(";")[0]),
  ].join("; ");
  const page = await s.inject({ method: "GET", url: next, headers: { cookie: cookies } });
  return `${posted.statusCode} ${next.replace(/pwr_[0-9a-z]+/g, "ID")}\n${page.statusCode} ${page.body
    .replace(/pwr_[0-9a-z]+/g, "ID")
    .replace(/name="_csrf" value="[^"]+"/g, "")}`;
}

test("forgot password for a suspended or closed account mails an honest explanation, and the page answers as for anyone", async (t) => {
  // Two rules at once. A blocked owner gets no code (a new password would not let them in) but a
  // mail that says why and where to turn, instead of silence. And the page must not become an
  // oracle: an attacker typing addresses must see the same answer for an active, a suspended, a
  // closed and an unknown account.
  const s = await buildTestApp(t, { env: support });
  const active = await s.registerAccount({ email: "active@example.jp" });
  const suspended = await s.registerAccount({ email: "suspended@example.jp" });
  const closed = await s.registerAccount({ email: "closed@example.jp" });
  await changeAccountStatus(s.deps, suspended.email, "suspended", "unpaid orders");
  assert.equal(
    (await call(s, "POST", "/api/v1/security/close", closed.cookie, { confirm: true })).statusCode,
    200,
  );
  s.clock.advance(1);

  const answers = new Set<string>();
  for (const email of [active.email, suspended.email, closed.email, "nobody@example.jp"])
    answers.add(await resetAnswer(s, email));
  assert.equal(answers.size, 1, [...answers].join("\n----\n"));
  const api = await Promise.all(
    [active.email, suspended.email, closed.email, "nobody@example.jp"].map((identifier) =>
      s.inject({ method: "POST", url: "/api/v1/password-resets", payload: { identifier } }),
    ),
  );
  const shapes = api.map(
    (r) => `${r.statusCode} ${Object.keys(r.json<{ passwordReset: object }>().passwordReset).sort()}`,
  );
  assert.equal(new Set(shapes).size, 1, shapes.join(" | "));
  assert.equal(api[0]?.statusCode, 202);

  for (const [owner, word] of [
    [suspended, "一時停止"],
    [closed, "閉鎖"],
  ] as const) {
    const mails = (await s.messagesTo(owner.email)).filter((m) => m.template.startsWith("password_reset"));
    assert.equal(mails.length, 2, "one explanation per request");
    for (const mail of mails) {
      assert.equal(mail.template, "password_reset_blocked");
      assert.match(mail.text_body, new RegExp(word));
      assert.doesNotMatch(mail.text_body, /\b\d{6}\b/, "no code");
      assert.match(mail.text_body, /0120-987-654/, "the support contact is in the mail");
    }
  }
  const activeMails = (await s.messagesTo(active.email)).filter((m) =>
    m.template.startsWith("password_reset"),
  );
  assert.ok(activeMails.every((m) => m.template === "password_reset_code"));
  assert.deepEqual(await s.messagesTo("nobody@example.jp"), []);
});

test("a country refusal speaks of where the customer is connecting from and offers the support contact", async (t) => {
  const s = await buildTestApp(t, { env: { ...support, MAMORI_ALLOWED_COUNTRIES: "JP" } });
  const owner = await s.registerAccount();
  s.clock.advance(1);
  const form = await openForm(s, "/sign-in");
  const refused = await s.inject({
    method: "POST",
    url: "/sign-in",
    remoteAddress: abroad,
    headers: {
      origin: s.config.publicUrl.origin,
      cookie: form.cookie,
      "content-type": "application/x-www-form-urlencoded",
    },
    payload: new URLSearchParams({
      _csrf: form.csrf,
      identifier: owner.email,
      password: owner.password,
    }).toString(),
  });
  assert.equal(refused.statusCode, 403);
  assert.match(refused.body, /現在の場所からはログインできません/);
  assert.match(refused.body, /いまアクセスしている国・地域/);
  assert.match(refused.body, /アメリカ合衆国/, "the place the connection comes from");
  assert.doesNotMatch(refused.body, /お住まい(の国|から)/);
  assertSupportShown(refused.body);
  const mails = await s.messagesTo(owner.email);
  assert.equal(mails[0]?.template, "sign_in_country_refused", "the owner is told");
  assert.match(mails[0]?.text_body ?? "", /アメリカ合衆国/);
});

test("the mail about a sign-in refused from abroad is sent at most once a day, however many attempts", async (t) => {
  // Attack: the refusal comes before any password check, so anyone abroad who knows an address
  // can cause it. Without a cap, a script would fill the owner's mailbox with "sign-in from abroad
  // refused" mails (and the shop's mail reputation with them).
  const s = await buildTestApp(t, { env: { MAMORI_ALLOWED_COUNTRIES: "JP" } });
  const owner = await s.registerAccount();
  const attempt = (password: string) =>
    s.inject({
      method: "POST",
      url: "/api/v1/sign-in",
      remoteAddress: abroad,
      payload: { identifier: owner.email, password },
    });
  const answers = await Promise.all(Array.from({ length: 15 }, (_, i) => attempt(`Guess-${i}-Kumo-7381`)));
  assert.ok(answers.every((a) => a.statusCode === 403));
  const countRefusalMails = async (): Promise<number> =>
    (await s.messagesTo(owner.email)).filter((m) => m.template === "sign_in_country_refused").length;
  assert.equal(await countRefusalMails(), 1);
  s.clock.advance(3600);
  await attempt(owner.password);
  assert.equal(await countRefusalMails(), 1, "still one within the day");
  s.clock.advance(86_400);
  await attempt(owner.password);
  assert.equal(await countRefusalMails(), 2, "a new day, a new mail");
  // An unknown address gets the same answer and mails nobody.
  const unknown = await s.inject({
    method: "POST",
    url: "/api/v1/sign-in",
    remoteAddress: abroad,
    payload: { identifier: "nobody@example.jp", password: "Guess-Kumo-7381" },
  });
  assert.deepEqual(unknown.json(), answers[0]?.json());
  assert.deepEqual(await s.messagesTo("nobody@example.jp"), []);
});
