import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { wordlist as bip39Japanese } from "@scure/bip39/wordlists/japanese.js";
import { generate } from "./generation.ts";
import { hepburn, romajiPassphraseWords, romajiWordList, romajiWordListPath } from "./generator-romaji.ts";

describe("Japanese passphrase words in Hepburn romaji", () => {
  it("hiragana is written in modified Hepburn: shi chi tsu fu ji zu, digraphs, っ doubling, ん as n", () => {
    const cases: [string, string][] = [
      ["あいさつ", "aisatsu"],
      ["しんぶん", "shinbun"],
      ["ちから", "chikara"],
      ["ふとん", "futon"],
      ["じかん", "jikan"],
      ["ちぢむ", "chijimu"],
      ["つづく", "tsuzuku"],
      ["きゃく", "kyaku"],
      ["あかちゃん", "akachan"],
      ["おしゃれ", "oshare"],
      ["えんしゅう", "enshuu"],
      ["いじょう", "ijou"],
      ["りょこう", "ryokou"],
      ["びょういん", "byouin"],
      ["がっこう", "gakkou"],
      ["いっしゅん", "isshun"],
      ["ぎっちり", "gitchiri"],
      ["いっぽう", "ippou"],
      ["はろうぃん", "harowin"],
      ["こんや", "konya"],
      ["ぜんあく", "zenaku"],
      ["わをん", "waon"],
    ];
    for (const [kana, roman] of cases) assert.equal(hepburn(kana), roman, kana);
    // BIP39 stores its words decomposed (か + U+3099 for が): the same spelling.
    assert.equal(hepburn("がっこう".normalize("NFKD")), "gakkou");
    // Not hiragana, or っ where Hepburn has no spelling for it: no romaji, never a guess.
    for (const bad of ["カタカナ", "abc", "あっ", "あっあ", ""]) {
      assert.equal(hepburn(bad), bad === "" ? "" : null, bad);
    }
  });

  it("the romanised BIP39 list has no duplicates, so each word is one of 2,048: log2(2,048) = 11 bits a word", () => {
    assert.equal(bip39Japanese.length, 2048);
    const list = romajiWordList();
    assert.equal(new Set(list).size, list.length, "no two words are spelled alike");
    // No collision had to be dropped from this list: every BIP39 word keeps its place.
    assert.equal(list.length, 2048);
    for (const word of list) assert.match(word, /^[a-z]{3,}$/, word);
    // A collision is dropped, never drawn twice as likely: じ and ぢ are both ji.
    assert.deepEqual(romajiWordList(["はじ", "はぢ", "さくら"]), ["haji", "sakura"]);
    const phrase = generate(
      {
        mode: "passphrase",
        wordList: "romaji",
        count: 1,
        words: 5,
        separator: "-",
        capitalize: false,
        includeNumber: false,
      },
      { passwordMinLength: 8 },
    );
    assert.ok(phrase.ok);
    assert.equal(phrase.generated.entropyBits, 5 * Math.log2(list.length));
    assert.equal(phrase.generated.entropyBits, 55);
  });

  it("the served list (public/bip39-japanese-romaji.txt) equals the romanisation of the package's list", () => {
    const served = readFileSync(romajiWordListPath, "utf8");
    assert.equal(served, `${romajiWordList(bip39Japanese).join("\n")}\n`);
    assert.deepEqual(romajiPassphraseWords(), romajiWordList());
  });
});
