import { readFileSync } from "node:fs";
import { wordlist as bip39Japanese } from "@scure/bip39/wordlists/japanese.js";

// The Japanese passphrase words: BIP39's Japanese list (2,048 hiragana words, chosen to be common
// and unambiguous) written in Hepburn romaji, so a Japanese customer can remember a phrase as words
// and type it on any keyboard. The page's browser draws from the same list, served as
// public/bip39-japanese-romaji.txt; `npm exec -- node src/passwords/generator-romaji.ts` writes it
// from the package, and generator-romaji.test.ts holds the file to the package's list.

/** Kana not in a two-kana table below: one syllable each. */
// biome-ignore format: a kana table reads best as the table it is
const single: Record<string, string> = {
  あ: "a", い: "i", う: "u", え: "e", お: "o",
  か: "ka", き: "ki", く: "ku", け: "ke", こ: "ko",
  が: "ga", ぎ: "gi", ぐ: "gu", げ: "ge", ご: "go",
  さ: "sa", し: "shi", す: "su", せ: "se", そ: "so",
  ざ: "za", じ: "ji", ず: "zu", ぜ: "ze", ぞ: "zo",
  た: "ta", ち: "chi", つ: "tsu", て: "te", と: "to",
  だ: "da", ぢ: "ji", づ: "zu", で: "de", ど: "do",
  な: "na", に: "ni", ぬ: "nu", ね: "ne", の: "no",
  は: "ha", ひ: "hi", ふ: "fu", へ: "he", ほ: "ho",
  ば: "ba", び: "bi", ぶ: "bu", べ: "be", ぼ: "bo",
  ぱ: "pa", ぴ: "pi", ぷ: "pu", ぺ: "pe", ぽ: "po",
  ま: "ma", み: "mi", む: "mu", め: "me", も: "mo",
  や: "ya", ゆ: "yu", よ: "yo",
  ら: "ra", り: "ri", る: "ru", れ: "re", ろ: "ro",
  わ: "wa", を: "o", ん: "n",
};

/** A kana and a small ゃゅょ (or ぃ): Hepburn's digraphs (しゃ sha, ちゅ chu, じょ jo, うぃ wi). */
const digraphs: Record<string, string> = {
  うぃ: "wi",
  てぃ: "ti",
  でぃ: "di",
};
for (const [kana, roman] of Object.entries(single)) {
  if (!roman.endsWith("i") || kana === "い" || kana === "ん") continue;
  // き kyа, し sha, ち cha, じ ja, ぢ ja: drop the i, then y unless the consonant is sh, ch or j.
  const stem = roman.slice(0, -1);
  const glide = stem === "sh" || stem === "ch" || stem === "j" ? "" : "y";
  digraphs[`${kana}ゃ`] = `${stem}${glide}a`;
  digraphs[`${kana}ゅ`] = `${stem}${glide}u`;
  digraphs[`${kana}ょ`] = `${stem}${glide}o`;
}

/**
 * Hiragana to modified Hepburn as Japanese type it: し shi, ち chi, つ tsu, ふ fu, じ/ぢ ji, ず/づ zu,
 * the digraphs (きゃ kya, しょ sho), っ doubling the next consonant (っち tchi), and long vowels
 * spelled as the kana are (おう ou, not ō, which keyboards lack). ん is always n, without Hepburn's
 * apostrophe before a vowel or y (the apostrophe is hard to type on a phone); the few words that
 * then read alike are dropped from the list (`romajiWordList`). Returns null for anything else.
 */
export function hepburn(word: string): string | null {
  const kana = word.normalize("NFC");
  let out = "";
  let double = false;
  for (let i = 0; i < kana.length; ) {
    const pair = kana.slice(i, i + 2);
    const one = kana.charAt(i);
    if (one === "っ") {
      if (double) return null;
      double = true;
      i += 1;
      continue;
    }
    const syllable = digraphs[pair] ?? single[one];
    if (syllable === undefined) return null;
    i += digraphs[pair] === undefined ? 1 : 2;
    if (double) {
      // っ before a vowel, or at the end, is not in Hepburn's words.
      if (/^[aiueon]/.test(syllable)) return null;
      out += syllable.startsWith("ch") ? "t" : syllable.charAt(0);
      double = false;
    }
    out += syllable;
  }
  return double ? null : out;
}

/**
 * BIP39's Japanese words in romaji, in the list's order, each spelling once: when two words read
 * alike in romaji (じ and ぢ are both ji; きねん and きんえん both kinen), the first keeps it and the
 * later ones are dropped, so every phrase is typed one way only and the entropy is log2 of what
 * is left, per word.
 */
export function romajiWordList(words: readonly string[] = bip39Japanese): string[] {
  const seen = new Set<string>();
  const list: string[] = [];
  for (const word of words) {
    const roman = hepburn(word);
    if (roman === null) throw new Error(`no Hepburn spelling for ${word}`);
    if (seen.has(roman)) continue;
    seen.add(roman);
    list.push(roman);
  }
  return list;
}

/** In public/, so the page's browser gets the same file at /assets/bip39-japanese-romaji.txt. */
export const romajiWordListPath = new URL("../../public/bip39-japanese-romaji.txt", import.meta.url);

let romaji: readonly string[] | undefined;

/** The served list, read once: what the server's passphrases draw from, as the browser's do. */
export function romajiPassphraseWords(): readonly string[] {
  romaji ??= readFileSync(romajiWordListPath, "utf8").trim().split("\n");
  return romaji;
}

if (import.meta.main) {
  const { writeFileSync } = await import("node:fs");
  const list = romajiWordList();
  writeFileSync(romajiWordListPath, `${list.join("\n")}\n`);
  console.log(`${list.length} words (${Math.log2(list.length).toFixed(2)} bits each)`);
}
