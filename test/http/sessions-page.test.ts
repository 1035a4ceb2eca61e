import assert from "node:assert/strict";
import { after, test } from "node:test";
import { buildTestApp } from "../support/app.ts";
import { stopSharedPostgres } from "../support/databases.ts";
import { openForm } from "../support/forms.ts";

// The signed-in devices page (/account/sessions) names each device as the sign-in activity does,
// and leads back to Login & security. Runs on SQLite, and on PostgreSQL with
// MAMORI_TEST_DATABASE=postgres.

after(stopSharedPostgres);

const safariOnIphone =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";

/** The list's rows as text: tags dropped, spaces squeezed. */
function rows(body: string): string[] {
  const list = /<ul class="sessions">([\s\S]*?)<\/ul>/.exec(body)?.[1] ?? "";
  return [...list.matchAll(/<li>([\s\S]*?)<\/li>/g)].map((m) =>
    (m[1] ?? "")
      .replace(/<[^>]+>/g, " ")
      .replace(/\s+/g, " ")
      .trim(),
  );
}

test("the signed-in devices page names each device by browser and country, never by its raw User-Agent, and links back to Login & security", async (t) => {
  const s = await buildTestApp(t);
  const owner = await s.registerAccount();
  // A second sign-in from Safari on an iPhone, at Google's public resolver address (a country Intl can name).
  const phone = await s.inject({
    method: "POST",
    url: "/api/v1/sign-in",
    remoteAddress: "8.8.8.8",
    headers: { "user-agent": safariOnIphone },
    payload: { identifier: owner.email, password: owner.password },
  });
  assert.equal(phone.statusCode, 200, phone.body);

  const page = await openForm(s, "/account/sessions", owner.cookie);
  const country = new Intl.DisplayNames(["ja"], { type: "region" }).of("US");
  const listed = rows(page.body);
  assert.equal(listed.length, 2, page.body);
  assert.ok(
    listed.some((row) => row.startsWith(`Safari (iPhone) · ${country} `)),
    `the phone is named by browser and country: ${listed.join(" | ")}`,
  );
  // The registering request sent no browser's User-Agent (inject's "lightMyRequest"): named as unknown.
  assert.ok(
    listed.some((row) => row.startsWith("不明なブラウザ この端末")),
    listed.join(" | "),
  );
  assert.doesNotMatch(page.body, /Mozilla\/5\.0|AppleWebKit|lightMyRequest/, "no raw User-Agent on the page");
  assert.match(page.body, /<a href="\/account\/security">ログインとセキュリティへ戻る<\/a>/);

  const english = await s.registerAccount({ locale: "en" });
  const en = await openForm(s, "/account/sessions", english.cookie);
  assert.match(en.body, /<a href="\/account\/security">Back to Login &amp; security<\/a>/);
});
