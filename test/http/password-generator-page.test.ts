import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import type { LightMyRequestResponse } from "fastify";
import { buildTestApp, sameOrigin, type TestApp } from "../support/app.ts";
import { type Form, openForm, postForm } from "../support/forms.ts";

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
    "wordList",
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
  assert.match(response.body, /<a download="passwords.csv" href="data:text\/csv;charset=utf-8,%EF%BB%BF/);
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
  assert.match(response.body, /推測されにくさ: とても強い（約90ビット）/);
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

/** The text a customer sees without JavaScript: no scripts, nothing marked `hidden`, no tags. */
function visibleWithoutScript(body: string): string {
  return body
    .replace(/<script[\s\S]*?<\/script>/g, "")
    .replace(/<(\w+)(?:\s[^>]*)?\shidden(?:\s[^>]*)?>[\s\S]*?<\/\1>/g, "")
    .replace(/<[^>]+>/g, " ");
}

function csvDownload(body: string): string {
  const href = /<a download="passwords.csv" href="data:text\/csv;charset=utf-8,([^"]+)"/.exec(body)?.[1];
  assert.ok(href, "the page links its CSV");
  return decodeURIComponent(href.replaceAll("&amp;", "&"));
}

/** The form posted in a language (the page's language comes from Accept-Language). */
function postIn(
  s: TestApp,
  form: Form,
  fields: Record<string, string>,
  language: string,
): Promise<LightMyRequestResponse> {
  return s.inject({
    method: "POST",
    url: page,
    headers: {
      ...sameOrigin(s.config),
      cookie: form.cookie,
      "accept-language": language,
      "content-type": "application/x-www-form-urlencoded",
    },
    payload: new URLSearchParams({ _csrf: form.csrf, ...fields }).toString(),
  });
}

const characters = {
  mode: "characters",
  length: "16",
  count: "3",
  uppercase: "on",
  lowercase: "on",
  digits: "on",
};

test("generator labels are finished sentences: 数字の最低文字数 and Minimum number of digits", async (t) => {
  const s = await buildTestApp(t);
  const ja = await openForm(s, page);
  assert.match(ja.body, /<label for="minDigits">数字の最低文字数<\/label>/);
  assert.match(ja.body, /<label for="minSymbols">記号の最低文字数<\/label>/);
  const en = await openForm(s, page, "", { "accept-language": "en" });
  assert.match(en.body, /<label for="minDigits">Minimum number of digits<\/label>/);
  assert.match(en.body, /<label for="minSymbols">Minimum number of symbols<\/label>/);
});

test("a list's strength is said in plain words (推測されにくさ: とても強い（約95ビット）) with what bits mean", async (t) => {
  const s = await buildTestApp(t);
  const form = await openForm(s, page);
  const response = await postForm(s, page, form, { _csrf: form.csrf, ...characters });
  assert.equal(response.statusCode, 200, response.body);
  // 62 letters and digits, 16 of them, at least one digit: just under 95.3 bits.
  assert.match(response.body, /<p class="strength-summary">推測されにくさ: とても強い（約95ビット）<\/p>/);
  assert.match(response.body, /1秒間に1兆回試せるコンピューターでも、すべて試すのに約4万年かかります。/);
  assert.doesNotMatch(response.body, /<th scope="col">ビット<\/th>/, "no bare 'bits' column");
  const en = await openForm(s, page, "", { "accept-language": "en" });
  const english = await postIn(s, en, characters, "en");
  assert.match(english.body, /How hard to guess: Very strong \(about 95 bits\)/);
  assert.match(english.body, /a trillion passwords a second would need about 40,000 years/);
});

test("the CSV download has Japanese headers on the Japanese page (English on the English page) and a UTF-8 BOM for Excel", async (t) => {
  const s = await buildTestApp(t);
  const form = await openForm(s, page);
  const response = await postForm(s, page, form, { _csrf: form.csrf, ...characters });
  const passwords = passwordsIn(response.body);
  const ja = csvDownload(response.body);
  assert.ok(ja.startsWith("\uFEFF"), "Excel reads a UTF-8 file as Shift_JIS without the BOM");
  const [header, ...rows] = ja.slice(1).trimEnd().split("\r\n");
  assert.equal(header, "パスワード,ビット数,推測されにくさ");
  assert.deepEqual(
    rows.map((row) => row.split(",")[0]),
    passwords,
  );
  for (const row of rows) assert.match(row, /,95\.\d,とても強い$/);
  const enForm = await openForm(s, page, "", { "accept-language": "en" });
  const english = await postIn(s, enForm, characters, "en");
  const en = csvDownload(english.body);
  assert.ok(en.startsWith("\uFEFFpassword,entropy_bits,strength\r\n"), en);
  assert.match(en, /,95\.\d,Very strong\r\n/);
});

test("without JavaScript the page promises nothing it cannot do (no 'made in this browser', no copy or use buttons)", async (t) => {
  const s = await buildTestApp(t);
  for (const [language, inBrowser, server] of [
    ["ja", /ブラウザの中で作られ/, /JavaScriptが無効なため、パスワードはサーバーで作って表示します/],
    ["en", /made in this browser/, /JavaScript is off, so the server makes them/],
  ] as const) {
    const form = await openForm(s, page, "", { "accept-language": language });
    for (const body of [form.body, (await postIn(s, form, characters, language)).body]) {
      const seen = visibleWithoutScript(body);
      assert.doesNotMatch(seen, inBrowser, `${language}: the in-browser sentence shows without JavaScript`);
      assert.match(seen, server, language);
      assert.doesNotMatch(
        seen,
        /コピー|Copy|このパスワードを使う|Use this password|クリック|Click/,
        language,
      );
    }
  }
});

test("Japanese passphrases in romaji are offered beside the English list, with each list's entropy stated", async (t) => {
  const s = await buildTestApp(t);
  const ja = await openForm(s, page);
  assert.match(
    ja.body,
    /id="wordList-romaji" name="wordList" value="romaji" checked><label for="wordList-romaji">ローマ字の日本語（例: sakura-ringo-kyaku。2,048語から選び、1語あたり11ビット）<\/label>/,
  );
  assert.match(ja.body, /英単語（例: cactus-rumble-nimbly。7,776語から選び、1語あたり約12.9ビット）/);
  const en = await openForm(s, page, "", { "accept-language": "en" });
  assert.match(en.body, /id="wordList-english" name="wordList" value="english" checked>/);
  assert.match(en.body, /one of 2,048 each, 11 bits a word/);
  const response = await postForm(s, page, ja, {
    _csrf: ja.csrf,
    mode: "passphrase",
    wordList: "romaji",
    words: "5",
    separator: "-",
    count: "4",
  });
  assert.equal(response.statusCode, 200, response.body);
  const list = new Set(
    readFileSync(new URL("../../public/bip39-japanese-romaji.txt", import.meta.url), "utf8")
      .trim()
      .split("\n"),
  );
  const phrases = passwordsIn(response.body);
  assert.equal(phrases.length, 4);
  for (const phrase of phrases) {
    assert.match(phrase, /^[a-z]+(-[a-z]+){4}$/);
    for (const word of phrase.split("-")) assert.ok(list.has(word), word);
  }
  assert.match(response.body, /推測されにくさ: 普通（約55ビット）/);
  assert.match(
    response.body,
    /id="wordList-romaji" name="wordList" value="romaji" checked>/,
    "the choice stays",
  );
});
