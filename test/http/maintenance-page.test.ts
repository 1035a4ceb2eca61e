import assert from "node:assert/strict";
import { after, test } from "node:test";
import { setMaintenanceMode } from "../../src/operations/maintenance.ts";
import { expectedEndText } from "../../src/operations/maintenance-page.ts";
import { assertApiError, buildTestApp, type TestApp } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";

// The maintenance page (`mamori maintenance on --message M --message-en M --retry-after S`): an
// apology, the operator's message in the reader's language, the expected end in Japan time, a way to
// try again, and Retry-After counting down to that end. Run on SQLite, and on PostgreSQL with
// MAMORI_TEST_DATABASE=postgres. The test clock starts at 2031-04-01 09:00 UTC (18:00 in Japan).

after(stopSharedPostgres);

const japanese = "システムを点検しています。";
const english = "We are upgrading our systems.";

async function maintenanceFor(s: TestApp, seconds: number, messageEn = english): Promise<void> {
  await setMaintenanceMode(
    s.db,
    { on: true, message: japanese, messageEn, retryAfterSeconds: seconds },
    s.clock.now(),
  );
}

function page(s: TestApp, locale: "ja" | "en") {
  return s.inject({ method: "GET", url: "/sign-in", headers: { "accept-language": locale } });
}

test("the maintenance page apologises, says the operator's message in the reader's language and when it should end, in Japan time", async (t) => {
  const s = await buildTestApp(t);
  await maintenanceFor(s, 1800);

  const ja = await page(s, "ja");
  assert.equal(ja.statusCode, 503);
  assert.equal(ja.headers["retry-after"], "1800");
  assert.match(ja.body, /ご不便をおかけして申し訳ございません。/);
  assert.match(ja.body, new RegExp(`<p lang="ja">${japanese}</p>`));
  assert.match(ja.body, /終了予定: 4月1日の18:30ごろ（日本時間）/);
  assert.match(ja.body, /<a class="button wide" href="\/sign-in">もう一度試す<\/a>/);
  assert.doesNotMatch(ja.body, new RegExp(english));

  const en = await page(s, "en");
  assert.equal(en.statusCode, 503);
  assert.match(en.body, /We are sorry for the inconvenience\./);
  assert.match(en.body, new RegExp(`<p lang="en">${english}</p>`));
  assert.match(en.body, /Expected to end: around 18:30 on 1 April \(Japan time\)/);
  assert.match(en.body, /<a class="button wide" href="\/sign-in">Try again<\/a>/);
  assert.doesNotMatch(en.body, new RegExp(japanese));

  // Retry-After counts down to the expected end; the end shown stays the same.
  s.clock.advance(600);
  const later = await page(s, "ja");
  assert.equal(later.headers["retry-after"], "1200");
  assert.match(later.body, /終了予定: 4月1日の18:30ごろ/);

  // Past the expected end and still on: it says so, and asks clients back within five minutes.
  s.clock.advance(1300);
  const overdue = await page(s, "ja");
  assert.equal(overdue.statusCode, 503);
  assert.equal(overdue.headers["retry-after"], "300");
  assert.match(overdue.body, /予定の時刻（4月1日の18:30ごろ）を過ぎていますが、まだ作業を続けています。/);
  const overdueEn = await page(s, "en");
  assert.match(overdueEn.body, /The planned end \(around 18:30 on 1 April\) has passed/);
});

test("without an English message, the English page keeps the Japanese one (marked as Japanese); without any, the default words", async (t) => {
  const s = await buildTestApp(t);
  await maintenanceFor(s, 600, "");
  const en = await page(s, "en");
  assert.match(en.body, new RegExp(`<p lang="ja">${japanese}</p>`));
  await setMaintenanceMode(s.db, { on: true, message: "", retryAfterSeconds: 600 }, s.clock.now());
  const plain = await page(s, "en");
  assert.match(plain.body, /<p lang="en">We are down for maintenance\. Please try again later\.<\/p>/);
  assert.match(plain.body, /Expected to end: around 18:10 on 1 April/);
});

test("the API's maintenance answer speaks the caller's language and counts Retry-After down to the expected end", async (t) => {
  const s = await buildTestApp(t);
  await maintenanceFor(s, 900);
  const signIn = (locale: "ja" | "en") =>
    s.signIn(
      { identifier: "someone@example.jp", password: "Whatever-1234-abcd" },
      { "accept-language": locale },
    );
  const en = await signIn("en");
  assert.equal(assertApiError(en, 503, "maintenance").message, english);
  assert.equal(en.headers["retry-after"], "900");
  const ja = await signIn("ja");
  assert.equal(assertApiError(ja, 503, "maintenance").message, japanese);
  s.clock.advance(300);
  assert.equal((await signIn("ja")).headers["retry-after"], "600");
});

test("the expected end is Japan time, rounded up to five minutes, across midnight and the year", () => {
  assert.equal(expectedEndText("ja", "2026-12-06T12:30:00.000Z"), "12月6日の21:30ごろ");
  assert.equal(expectedEndText("ja", "2026-12-06T12:26:01.000Z"), "12月6日の21:30ごろ");
  assert.equal(expectedEndText("ja", "2031-12-31T15:00:00.000Z"), "1月1日の00:00ごろ");
  assert.equal(expectedEndText("ja", "2031-12-31T14:58:00.000Z"), "1月1日の00:00ごろ");
  assert.equal(expectedEndText("en", "2026-12-06T12:30:00.000Z"), "around 21:30 on 6 December");
});
