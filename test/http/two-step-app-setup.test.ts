import assert from "node:assert/strict";
import { after, test } from "node:test";
import type { LightMyRequestResponse } from "fastify";
import QRCode from "qrcode";
import { buildTestApp, type RegisteredAccount, type TestApp } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import { location, openForm, postForm, wrongCode } from "../support/forms.ts";
import { call, oathtoolCode } from "../support/two-step.ts";

// Setting up the authenticator app keeps one key from start to finish. A customer scans the QR
// code, mistypes the first code, or reloads, or presses 「もう一度表示」: the page must show the key
// the app already holds, never a new one, or the entry just scanned is dead and every code from it
// "wrong". Only 「最初からやり直す」 or an expired set-up draws a new key. These run on SQLite, and
// on PostgreSQL with MAMORI_TEST_DATABASE=postgres.

after(stopSharedPostgres);

const two = "/account/security/two-step";
const methodsApi = "/api/v1/security/two-step/methods";

/** What an app set-up page shows: its URL, the key, the QR image, the otpauth:// link. */
type AppPage = { url: string; key: string; qr: string; otpauth: string; body: string };

function unescapeAttribute(value: string): string {
  return value.replaceAll("&amp;", "&").replaceAll("&quot;", '"').replaceAll("&#39;", "'");
}

function readAppPage(url: string, body: string): AppPage {
  const key = /<code id="totp-key">([A-Z2-7 ]+)<\/code>/.exec(body)?.[1];
  const qr = /<div class="qr"><img src="(data:image\/svg\+xml;base64,[A-Za-z0-9+/=]+)"/.exec(body)?.[1];
  const otpauth = /<a href="(otpauth:\/\/totp\/[^"]+)">/.exec(body)?.[1];
  assert.ok(key && qr && otpauth, `the set-up page shows the key, the QR code and the link: ${body}`);
  return { url, key, qr, otpauth: unescapeAttribute(otpauth), body };
}

/** The key the QR code carries: its SVG is the one drawn from the otpauth:// URI the page links to. */
async function keyInQrCode(page: AppPage): Promise<string> {
  const svg = Buffer.from(page.qr.slice("data:image/svg+xml;base64,".length), "base64").toString("utf8");
  const drawn = await QRCode.toString(page.otpauth, { type: "svg", errorCorrectionLevel: "M", margin: 2 });
  assert.equal(svg, drawn, "the QR code encodes the otpauth:// URI the page links to");
  return new URL(page.otpauth).searchParams.get("secret") ?? "";
}

async function startAppSetup(s: TestApp, owner: RegisteredAccount, extra: Record<string, string> = {}) {
  const chooser = await openForm(s, `${two}/setup`, owner.cookie);
  const started = await postForm(s, `${two}/setup`, chooser, {
    _csrf: chooser.csrf,
    method: "totp",
    ...extra,
  });
  const url = location(started);
  assert.match(url, /^\/account\/security\/two-step\/methods\/mth_[0-9a-z]+$/);
  const page = await openForm(s, url, owner.cookie);
  return { form: chooser, page: readAppPage(url, page.body) };
}

async function reshow(s: TestApp, owner: RegisteredAccount, url: string): Promise<AppPage> {
  const page = await openForm(s, url, owner.cookie);
  return readAppPage(url, page.body);
}

function enrollmentOf(response: LightMyRequestResponse): { id: string; secret: string; otpauthUri: string } {
  assert.equal(response.statusCode, 201, response.body);
  return response.json<{ enrollment: { id: string; secret: string; otpauthUri: string } }>().enrollment;
}

test("after a wrong code the app set-up keeps the same QR code and key beside the error, and a code from the first key finishes it", async (t) => {
  const s = await buildTestApp(t);
  const owner = await s.registerAccount();
  const { form, page: first } = await startAppSetup(s, owner);
  const firstKey = first.key.replace(/ /g, "");
  assert.equal(await keyInQrCode(first), firstKey, "the QR code carries the key shown for typing");

  // The customer scanned the QR code, then mistyped the code.
  const right = oathtoolCode(first.key, s.clock.now());
  const wrong = await postForm(s, first.url, form, { _csrf: form.csrf, code: wrongCode(right) });
  assert.equal(wrong.statusCode, 400);
  assert.match(wrong.body, /<div class="error-summary"/);
  assert.match(wrong.body, /セキュリティコードが正しくありません。/);
  const afterWrong = readAppPage(first.url, wrong.body);
  assert.equal(afterWrong.key, first.key, "the same key after a wrong code");
  assert.equal(afterWrong.qr, first.qr, "the same QR code after a wrong code");
  assert.equal(await keyInQrCode(afterWrong), firstKey);

  // 「もう一度表示」: the set-up's page again (a reload, the link, the back button).
  const again = await reshow(s, owner, first.url);
  assert.equal(again.key, first.key, "the same key when shown again");
  assert.equal(again.qr, first.qr, "the same QR code when shown again");

  // Choosing the app again on the chooser (a second tab, the form sent twice) answers the same set-up.
  const { page: chosenAgain } = await startAppSetup(s, owner);
  assert.equal(chosenAgain.url, first.url);
  assert.equal(chosenAgain.key, first.key);

  // The app holds the FIRST key: its code still finishes the set-up.
  s.clock.advance(30);
  const done = await postForm(s, first.url, form, {
    _csrf: form.csrf,
    code: oathtoolCode(firstKey, s.clock.now()),
  });
  assert.equal(location(done), `${two}/enable`);
});

test("a new key only when the customer starts over, or the set-up expired", async (t) => {
  const s = await buildTestApp(t);
  const owner = await s.registerAccount();
  const { form, page: first } = await startAppSetup(s, owner);
  assert.match(first.body, /最初からやり直す/);

  // 「最初からやり直す」: a new set-up and key; the old key's codes no longer finish anything.
  const { page: restarted } = await startAppSetup(s, owner, { restart: "1" });
  assert.notEqual(restarted.url, first.url);
  assert.notEqual(restarted.key, first.key);
  const oldCode = oathtoolCode(first.key, s.clock.now());
  const refused = await postForm(s, restarted.url, form, { _csrf: form.csrf, code: oldCode });
  assert.equal(refused.statusCode, 400, "a code from the replaced key is wrong");
  assert.equal(readAppPage(restarted.url, refused.body).key, restarted.key);
  const gone = await s.inject({ method: "GET", url: first.url, headers: { cookie: owner.cookie } });
  assert.equal(gone.statusCode, 404, "the replaced set-up is over");

  // Past its 30 minutes the set-up is over: choosing the app again draws a new key.
  s.clock.advance(31 * 60);
  // The sign-in is old by then: the password again, as the settings ask after 10 minutes.
  const reauthenticated = await call(s, "POST", "/api/v1/session/reauthenticate", owner.cookie, {
    password: owner.password,
  });
  assert.equal(reauthenticated.statusCode, 200, reauthenticated.body);
  const expired = await s.inject({ method: "GET", url: restarted.url, headers: { cookie: owner.cookie } });
  assert.equal(expired.statusCode, 410);
  assert.doesNotMatch(expired.body, new RegExp(restarted.key), "an expired key is not shown again");
  const { page: fresh } = await startAppSetup(s, owner);
  assert.notEqual(fresh.url, restarted.url);
  assert.notEqual(fresh.key, restarted.key);
});

test("the API's repeated start answers the pending app set-up with the same key; deleting it starts over", async (t) => {
  const s = await buildTestApp(t);
  const owner = await s.registerAccount();
  const body = { role: "primary", method: "totp" };
  const first = enrollmentOf(await call(s, "POST", methodsApi, owner.cookie, body));
  const second = enrollmentOf(await call(s, "POST", methodsApi, owner.cookie, body));
  assert.equal(second.id, first.id);
  assert.equal(second.secret, first.secret);
  assert.equal(second.otpauthUri, first.otpauthUri);

  const wrong = await call(s, "POST", `${methodsApi}/${first.id}/verify`, owner.cookie, {
    code: wrongCode(oathtoolCode(first.secret, s.clock.now())),
  });
  assert.equal(wrong.statusCode, 400);
  const third = enrollmentOf(await call(s, "POST", methodsApi, owner.cookie, body));
  assert.equal(third.secret, first.secret, "the same key after a wrong code");

  // Starting over through the API: remove the unfinished set-up, then start again.
  const removed = await call(s, "DELETE", `${methodsApi}/${first.id}`, owner.cookie);
  assert.equal(removed.statusCode, 204, removed.body);
  const fresh = enrollmentOf(await call(s, "POST", methodsApi, owner.cookie, body));
  assert.notEqual(fresh.id, first.id);
  assert.notEqual(fresh.secret, first.secret);
  const verified = await call(s, "POST", `${methodsApi}/${fresh.id}/verify`, owner.cookie, {
    code: oathtoolCode(fresh.secret, s.clock.now()),
  });
  assert.equal(verified.statusCode, 200, verified.body);
});

test("many app set-up starts and re-shows sent at once all get the same key", async (t) => {
  const s = await buildTestApp(t);
  const owner = await s.registerAccount();
  const burst = 20;
  const body = { role: "primary", method: "totp" };
  // Attack on the customer's own set-up, by accident: a double-clicked button or two tabs sent
  // together each drew a key and replaced the others' set-up, so the QR code on screen could be
  // one whose set-up was already gone. Starts that arrive together now share one set-up.
  const starts = await Promise.all(
    Array.from({ length: burst }, () => call(s, "POST", methodsApi, owner.cookie, body)),
  );
  const enrollments = starts.map(enrollmentOf);
  assert.equal(new Set(enrollments.map((e) => e.id)).size, 1, "one set-up");
  assert.equal(new Set(enrollments.map((e) => e.secret)).size, 1, "one key");
  const first = enrollments[0];
  assert.ok(first);

  // Re-shows of its page, all at once, and more starts among them.
  const url = `${two}/methods/${first.id}`;
  const [pages, more] = await Promise.all([
    Promise.all(
      Array.from({ length: burst }, () =>
        s.inject({ method: "GET", url, headers: { cookie: owner.cookie } }),
      ),
    ),
    Promise.all(Array.from({ length: burst }, () => call(s, "POST", methodsApi, owner.cookie, body))),
  ]);
  for (const page of pages) {
    assert.equal(page.statusCode, 200, page.body);
    assert.equal(readAppPage(url, page.body).key, first.secret);
  }
  for (const response of more) assert.equal(enrollmentOf(response).secret, first.secret);
  const rows = await s.db
    .selectFrom("two_step_method")
    .select("id")
    .where("account_id", "=", owner.accountId)
    .execute();
  assert.deepEqual(
    rows.map((r) => r.id),
    [first.id],
  );
  const verified = await call(s, "POST", `${methodsApi}/${first.id}/verify`, owner.cookie, {
    code: oathtoolCode(first.secret, s.clock.now()),
  });
  assert.equal(verified.statusCode, 200, verified.body);
});

test("the key has a copy button (without spaces, 「コピーしました」 said politely) and an otpauth:// link for this device", async (t) => {
  const s = await buildTestApp(t);
  const owner = await s.registerAccount();
  const { page } = await startAppSetup(s, owner);
  const key = page.key.replace(/ /g, "");
  // Without JavaScript the button is hidden (it could do nothing); mamori.js shows it.
  const button =
    /<button type="button" class="secondary" data-copy="([A-Z2-7]+)" data-copied="コピーしました" data-copy-status="totp-key-copied" hidden>キーをコピー<\/button>/.exec(
      page.body,
    );
  assert.equal(button?.[1], key, "the key is copied without its spaces");
  assert.match(
    page.body,
    /<span id="totp-key-copied" class="hint" role="status" aria-live="polite"><\/span>/,
  );
  assert.match(page.body, /<a href="otpauth:\/\/totp\/[^"]+">この端末の認証アプリで設定する<\/a>/);
  const uri = new URL(page.otpauth);
  assert.equal(uri.searchParams.get("secret"), key);
  assert.equal(uri.searchParams.get("digits"), "6");
  assert.equal(uri.searchParams.get("period"), "30");

  const english = await s.registerAccount({ locale: "en" });
  const { page: en } = await startAppSetup(s, english);
  assert.match(en.body, /data-copied="Copied"/);
  assert.match(en.body, />Set up in the authenticator app on this device<\/a>/);
  assert.match(en.body, />Start over<\/button>/);
});
