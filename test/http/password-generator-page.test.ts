import assert from "node:assert/strict";
import { test } from "node:test";
import { buildTestApp } from "../support/app.ts";
import { openForm, postForm } from "../support/forms.ts";

// /tools/password-generator without JavaScript: the form posts to the server, which generates
// the list and shows it, never cached.

const page = "/tools/password-generator";

function passwordsIn(body: string): string[] {
  return [...body.matchAll(/<code class="password">([^<]*)<\/code>/g)].map((m) =>
    (m[1] as string)
      .replaceAll("&amp;", "&")
      .replaceAll("&lt;", "<")
      .replaceAll("&gt;", ">")
      .replaceAll("&quot;", '"')
      .replaceAll("&#39;", "'"),
  );
}

test("the page offers every option, in Japanese by default and in English", async (t) => {
  const s = await buildTestApp(t);
  const ja = await openForm(s, page);
  for (const name of [
    "mode",
    "length",
    "count",
    "uppercase",
    "lowercase",
    "digits",
    "symbols",
    "symbolSet",
    "minDigits",
    "minSymbols",
    "excludeAmbiguous",
    "exclude",
    "words",
    "separator",
    "capitalize",
    "includeNumber",
  ]) {
    assert.match(ja.body, new RegExp(`name="${name}"`), name);
  }
  assert.match(ja.body, /パスワード生成ツール/);
  assert.match(
    ja.body,
    /value="!#\$%&amp;\(\)\*\+,-\.\/:;&lt;=&gt;\?@\[\]\^_\{\|\}~"/,
    "the symbol set is shown, editable",
  );
  assert.match(ja.body, /<script type="module" src="\/assets\/password-generator-page.js"><\/script>/);
  const en = await openForm(s, page, "", { "accept-language": "en" });
  assert.match(en.body, /Password generator/);
});

test("without JavaScript the form posts to the server, which shows the list (no-store) with downloads", async (t) => {
  const s = await buildTestApp(t);
  const form = await openForm(s, page);
  const response = await postForm(s, page, form, {
    _csrf: form.csrf,
    mode: "characters",
    length: "24",
    count: "12",
    uppercase: "on",
    lowercase: "on",
    digits: "on",
    minDigits: "4",
    symbolSet: "!#",
    minSymbols: "1",
    excludeAmbiguous: "on",
    exclude: "",
    words: "6",
    separator: "-",
  });
  assert.equal(response.statusCode, 200, response.body);
  assert.equal(response.headers["cache-control"], "no-store");
  const passwords = passwordsIn(response.body);
  assert.equal(passwords.length, 12);
  for (const password of passwords) {
    assert.match(password, /^[A-Za-z0-9]{24}$/, "symbols were unticked");
    assert.ok((password.match(/\d/g) ?? []).length >= 4, password);
    assert.doesNotMatch(password, /[0Oo1lI|]/);
  }
  assert.match(response.body, /このサイトのパスワードの条件を満たしています。/);
  // The downloads hold the same list, in the page itself: no second trip to the server.
  const txt = /<a download="passwords.txt" href="data:text\/plain;charset=utf-8,([^"]+)"/.exec(
    response.body,
  )?.[1];
  assert.ok(txt);
  assert.deepEqual(decodeURIComponent(txt.replaceAll("&amp;", "&")).trimEnd().split("\r\n"), passwords);
  assert.match(
    response.body,
    /<a download="passwords.csv" href="data:text\/csv;charset=utf-8,password%2Centropy_bits%2Cstrength/,
  );
  // The options stay as chosen.
  assert.match(
    response.body,
    /id="length" name="length" type="number" inputmode="numeric" min="4" max="128" value="24"/,
  );
  assert.doesNotMatch(response.body, /id="symbols" name="symbols" value="on" checked/);
});

test("passphrase mode without JavaScript", async (t) => {
  const s = await buildTestApp(t);
  const form = await openForm(s, page, "", { "accept-language": "en" });
  const response = await postForm(s, page, form, {
    _csrf: form.csrf,
    mode: "passphrase",
    words: "7",
    separator: ".",
    count: "3",
    capitalize: "on",
  });
  assert.equal(response.statusCode, 200, response.body);
  const phrases = passwordsIn(response.body);
  assert.equal(phrases.length, 3);
  for (const phrase of phrases) assert.match(phrase, /^[A-Z][a-z-]+(\.[A-Z][a-z-]+){6}$/);
  assert.match(response.body, /強さの目安: 90\.5ビット \(とても強い\)/);
});

test("impossible options show the reason beside the form, and nothing is generated", async (t) => {
  const s = await buildTestApp(t);
  const form = await openForm(s, page, "", { "accept-language": "en" });
  const response = await postForm(s, page, form, {
    _csrf: form.csrf,
    mode: "characters",
    length: "16",
    count: "10",
  });
  assert.equal(response.statusCode, 400);
  assert.match(response.body, /role="alert"[^>]*><p>使う文字の種類を1つ以上選んでください。<\/p>/);
  assert.equal(passwordsIn(response.body).length, 0);
  const tooLong = await postForm(s, page, form, {
    _csrf: form.csrf,
    mode: "characters",
    length: "500",
    uppercase: "on",
  });
  assert.equal(tooLong.statusCode, 400);
  assert.match(tooLong.body, /文字数は4から128の間で指定してください。/);
});

test("a post without the form token is refused (CSRF)", async (t) => {
  const s = await buildTestApp(t);
  const form = await openForm(s, page);
  const response = await postForm(s, page, form, { mode: "characters", length: "16", uppercase: "on" });
  assert.notEqual(response.statusCode, 200);
  assert.equal(passwordsIn(response.body).length, 0);
});
