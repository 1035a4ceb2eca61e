import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import { pino } from "pino";
import { assertApiError, buildTestApp, type TestApp } from "../support/app.ts";

// POST/GET /api/v1/passwords (shared/API.md, "Password generator and strength").

type Generated = {
  passwords: string[];
  entropyBits: number;
  strength: string;
  policy: { ok: boolean; message: string };
};

async function generate(s: TestApp, payload: Record<string, unknown>, language = "ja"): Promise<Generated> {
  const response = await s.inject({
    method: "POST",
    url: "/api/v1/passwords",
    payload,
    headers: { "accept-language": language },
  });
  assert.equal(response.statusCode, 200, response.body);
  assert.equal(response.headers["cache-control"], "no-store");
  return response.json<Generated>();
}

test("generates the count asked for with every chosen class, the exact entropy and the policy's verdict", async (t) => {
  const s = await buildTestApp(t);
  const answer = await generate(s, {
    mode: "characters",
    length: 20,
    count: 25,
    uppercase: true,
    lowercase: true,
    digits: true,
    symbols: true,
    minDigits: 3,
    minSymbols: 2,
  });
  assert.equal(answer.passwords.length, 25);
  assert.equal(new Set(answer.passwords).size, 25);
  for (const password of answer.passwords) {
    assert.equal(password.length, 20);
    assert.match(password, /[A-Z]/);
    assert.match(password, /[a-z]/);
    assert.ok((password.match(/\d/g) ?? []).length >= 3, password);
    assert.ok((password.match(/[^A-Za-z0-9]/g) ?? []).length >= 2, password);
  }
  assert.ok(answer.entropyBits > 120 && answer.entropyBits < 20 * Math.log2(94), `${answer.entropyBits}`);
  assert.equal(answer.strength, "very_strong");
  assert.deepEqual(answer.policy, { ok: true, message: "このサイトのパスワードの条件を満たしています。" });
});

test("defaults: 10 passwords of 16 characters from all four classes", async (t) => {
  const s = await buildTestApp(t);
  const answer = await generate(s, {});
  assert.equal(answer.passwords.length, 10);
  for (const password of answer.passwords)
    assert.match(password, /^(?=.*[A-Z])(?=.*[a-z])(?=.*\d)(?=.*[^A-Za-z\d]).{16}$/);
});

test("excluded and look-alike characters never appear", async (t) => {
  const s = await buildTestApp(t);
  const answer = await generate(s, { length: 64, count: 100, excludeAmbiguous: true, exclude: "abcXYZ#%" });
  const all = answer.passwords.join("");
  for (const character of "0Oo1lI|abcXYZ#%") assert.ok(!all.includes(character), `${character} appeared`);
});

test("passphrases: words from the 7,776-word list with the separator, capitals and a number", async (t) => {
  const s = await buildTestApp(t);
  const answer = await generate(s, {
    mode: "passphrase",
    words: 5,
    separator: " ",
    capitalize: true,
    includeNumber: true,
    count: 3,
  });
  assert.equal(answer.passwords.length, 3);
  for (const phrase of answer.passwords) {
    assert.equal(phrase.split(" ").length, 5, phrase);
    assert.match(phrase, /^([A-Z][a-z-]*\d? ?){5}$/);
    assert.equal((phrase.match(/\d/g) ?? []).length, 1);
  }
  assert.equal(answer.entropyBits, Math.round((5 * Math.log2(7776) + Math.log2(50)) * 10) / 10);
});

test("impossible options are refused with invalid_options and the reason, in the request's language", async (t) => {
  const s = await buildTestApp(t);
  const cases: [Record<string, unknown>, string, string][] = [
    [
      { uppercase: false, lowercase: false, digits: false, symbols: false },
      "no_character_class",
      "使う文字の種類",
    ],
    [{ length: 3 }, "length_out_of_range", "4から128"],
    [{ length: 129 }, "length_out_of_range", "4から128"],
    [{ length: 8, minDigits: 5, minSymbols: 5 }, "minimums_over_length", "12文字"],
    [{ digits: false, minDigits: 2 }, "minimum_without_class", "数字"],
    [{ count: 101 }, "count_out_of_range", "1から100"],
    [{ count: 0 }, "count_out_of_range", "1から100"],
    [{ mode: "passphrase", words: 2 }, "words_out_of_range", "3から20"],
    [{ symbolSet: "!あ" }, "symbol_not_allowed", "あ"],
    [{ exclude: "0123456789" }, "class_emptied", "数字"],
  ];
  for (const [payload, reason, words] of cases) {
    const response = await s.inject({
      method: "POST",
      url: "/api/v1/passwords",
      payload,
      headers: { "accept-language": "ja" },
    });
    const error = assertApiError(response, 400, "invalid_options");
    assert.equal(error.reason, reason, JSON.stringify(payload));
    assert.ok(error.message.includes(words), `${error.message} should mention ${words}`);
  }
  const english = await s.inject({
    method: "POST",
    url: "/api/v1/passwords",
    payload: { length: 2 },
    headers: { "accept-language": "en" },
  });
  assert.equal(assertApiError(english, 400, "invalid_options").message, "Choose a length from 4 to 128.");
  // Wrong types are the schema's invalid_request, not a 500.
  const wrongType = await s.inject({ method: "POST", url: "/api/v1/passwords", payload: { length: "16" } });
  assertApiError(wrongType, 400, "invalid_request");
});

test("a list too short for this site's policy is still made, marked as not for this site", async (t) => {
  const s = await buildTestApp(t);
  const answer = await generate(
    s,
    { length: 6, digits: true, uppercase: false, lowercase: false, symbols: false },
    "en",
  );
  assert.equal(answer.passwords.length, 10);
  assert.equal(answer.strength, "weak");
  assert.equal(answer.policy.ok, false);
  assert.match(answer.policy.message, /Too short to use on this site \(use at least 16 characters\)/);
});

test("GET downloads the list as txt or csv (an attachment, never cached)", async (t) => {
  const s = await buildTestApp(t);
  const txt = await s.inject({
    method: "GET",
    url: "/api/v1/passwords?length=24&count=7&symbols=false&format=txt",
  });
  assert.equal(txt.statusCode, 200, txt.body);
  assert.equal(txt.headers["content-disposition"], 'attachment; filename="passwords.txt"');
  assert.match(String(txt.headers["content-type"]), /^text\/plain/);
  assert.equal(txt.headers["cache-control"], "no-store");
  const lines = txt.body.trimEnd().split("\r\n");
  assert.equal(lines.length, 7);
  for (const line of lines) assert.match(line, /^[A-Za-z0-9]{24}$/);

  const csv = await s.inject({
    method: "GET",
    url: "/api/v1/passwords?mode=passphrase&words=4&count=2&format=csv",
  });
  assert.equal(csv.statusCode, 200, csv.body);
  assert.equal(csv.headers["content-disposition"], 'attachment; filename="passwords.csv"');
  const [header, ...rows] = csv.body.trimEnd().split("\r\n");
  assert.equal(header, "password,entropy_bits,strength");
  assert.equal(rows.length, 2);
  for (const row of rows) assert.match(row, /^[a-z-]+(-[a-z-]+){3},51\.7,fair$/);

  const bad = await s.inject({ method: "GET", url: "/api/v1/passwords?symbols=maybe&format=txt" });
  assert.equal(assertApiError(bad, 400, "invalid_options").reason, "invalid_value");
  const unknown = await s.inject({ method: "GET", url: "/api/v1/passwords?format=pdf" });
  assertApiError(unknown, 400, "invalid_request");
});

test("generated passwords are never logged and never stored", async (t) => {
  let logged = "";
  const log = pino(
    { level: "trace" },
    new Writable({
      write(chunk, _encoding, done) {
        logged += String(chunk);
        done();
      },
    }),
  );
  const s = await buildTestApp(t, { log });
  const answer = await generate(s, { count: 100, length: 32 });
  const download = await s.inject({ method: "GET", url: "/api/v1/passwords?count=50&format=txt" });
  const passwords = [...answer.passwords, ...download.body.trimEnd().split("\r\n")];
  assert.equal(passwords.length, 150);
  assert.ok(logged.includes("/api/v1/passwords"), "the log was captured");
  for (const password of passwords) assert.ok(!logged.includes(password), "a password reached the log");
  for (const table of ["outbox_message", "audit_event", "throttle_counter"] as const) {
    const rows = await s.db.selectFrom(table).selectAll().execute();
    const stored = JSON.stringify(rows);
    for (const password of passwords)
      assert.ok(!stored.includes(password), `a password was stored in ${table}`);
  }
});

test("the browser gets this same generator with its types stripped, and the word list", async (t) => {
  const s = await buildTestApp(t);
  const get = (file: string) => s.inject({ method: "GET", url: `/assets/generator/${file}` });
  const index = await get("index.ts");
  assert.equal(index.statusCode, 200);
  assert.match(String(index.headers["content-type"]), /^text\/javascript/);
  // Every file index.ts re-exports is served, stripped of its types, and runs as plain JavaScript.
  const files = [...index.body.matchAll(/from "\.\/([a-z-]+\.ts)"/g)].map((m) => m[1] as string);
  assert.deepEqual(files.sort(), ["characters.ts", "options.ts", "output.ts", "passphrase.ts", "random.ts"]);
  for (const file of files) {
    const script = await get(file);
    assert.equal(script.statusCode, 200, file);
    assert.doesNotMatch(script.body, /: RandomFill|as number|: string\b|import type/, file);
    // Plain JavaScript: with its relative imports taken out, it compiles as a module.
    const standalone = script.body.replace(/^import [^;]+;$/gm, "");
    await assert.doesNotReject(
      () => import(`data:text/javascript;base64,${Buffer.from(standalone).toString("base64")}`),
      file,
    );
  }
  const characters = await get("characters.ts");
  assert.match(characters.body, /export class CharacterGenerator/);
  // Only the module's own files: not its tests, not the rest of src/.
  for (const other of [
    "generator.test.ts",
    "..%2Fgeneration.ts",
    "..%2F..%2Fconfig%2Fconfig.ts",
    "nothing.ts",
  ]) {
    assert.equal((await get(other)).statusCode, 404, other);
  }
  const words = await s.inject({ method: "GET", url: "/assets/eff-large-wordlist.txt" });
  assert.equal(words.statusCode, 200);
  assert.equal(words.body.trim().split("\n").length, 7776);
});

test("generation on the server is limited per address (the page in the browser never asks)", async (t) => {
  const s = await buildTestApp(t, { env: { MAMORI_PASSWORD_GENERATIONS_PER_IP_PER_MINUTE: "3" } });
  const ask = (remoteAddress: string) =>
    s.inject({ method: "POST", url: "/api/v1/passwords", payload: {}, remoteAddress });
  for (let i = 0; i < 3; i++) assert.equal((await ask("203.0.113.7")).statusCode, 200);
  const refused = await ask("203.0.113.7");
  assertApiError(refused, 429, "too_many_attempts");
  assert.ok(Number(refused.headers["retry-after"]) > 0);
  const download = await s.inject({
    method: "GET",
    url: "/api/v1/passwords?format=txt",
    remoteAddress: "203.0.113.7",
  });
  assertApiError(download, 429, "too_many_attempts");
  assert.equal((await ask("198.51.100.9")).statusCode, 200, "another address is not held back");
  s.clock.advance(61);
  assert.equal((await ask("203.0.113.7")).statusCode, 200, "the next minute");
});

test("passphrases from Japanese words in romaji (wordList: romaji): 11 bits a word, the list served for the page", async (t) => {
  const s = await buildTestApp(t);
  const served = await s.inject({ method: "GET", url: "/assets/bip39-japanese-romaji.txt" });
  assert.equal(served.statusCode, 200);
  const list = new Set(served.body.trim().split("\n"));
  assert.equal(list.size, 2048);
  const answer = await generate(s, { mode: "passphrase", wordList: "romaji", words: 5, count: 20 });
  assert.equal(answer.entropyBits, 55);
  for (const phrase of answer.passwords) {
    const words = phrase.split("-");
    assert.equal(words.length, 5, phrase);
    for (const word of words) assert.ok(list.has(word), `${word} is not on the romaji list`);
  }
  assert.equal(
    (await generate(s, { mode: "passphrase", words: 5, count: 1 })).entropyBits,
    64.6,
    "English by default",
  );
  const viaQuery = await s.inject({
    method: "GET",
    url: "/api/v1/passwords?mode=passphrase&wordList=romaji&words=4",
  });
  assert.equal(viaQuery.json<Generated>().entropyBits, 44);
  const unknown = await s.inject({
    method: "POST",
    url: "/api/v1/passwords",
    payload: { mode: "passphrase", wordList: "klingon" },
  });
  assertApiError(unknown, 400, "invalid_request");
  const unknownQuery = await s.inject({
    method: "GET",
    url: "/api/v1/passwords?mode=passphrase&wordList=klingon",
  });
  assertApiError(unknownQuery, 400, "invalid_options");
});
