import { createRequire } from "node:module";
import type { ZxcvbnFactory, ZxcvbnResult } from "@zxcvbn-ts/core";
import type * as Dictionary from "@zxcvbn-ts/language-common";

// zxcvbn and its dictionaries (tens of MiB once ranked) are loaded synchronously on first use
// (the policy's check is synchronous), not at start: a process that only checks sessions and
// signs people in never holds them.
const load = createRequire(import.meta.url);
type Language = Pick<typeof Dictionary, "dictionary">;
const languages = () => ({
  common: load("@zxcvbn-ts/language-common") as typeof Dictionary,
  en: load("@zxcvbn-ts/language-en") as Language,
  ja: load("@zxcvbn-ts/language-ja") as Language,
});

let factory: ZxcvbnFactory | undefined;
let commonPasswords: Set<string> | undefined;

function zxcvbn(): ZxcvbnFactory {
  if (factory) return factory;
  const { common, en, ja } = languages();
  const { ZxcvbnFactory: Factory } = load("@zxcvbn-ts/core") as { ZxcvbnFactory: typeof ZxcvbnFactory };
  factory = new Factory({
    // No translations: feedback and crack times come back as zxcvbn's keys (`topTen`, `useWords`),
    // which i18n/strength-text.ts words in Japanese and English (the bundled Japanese reads poorly).
    graphs: common.adjacencyGraphs,
    dictionary: { ...common.dictionary, ...en.dictionary, ...prefixKeys("ja", ja.dictionary) },
    // Off: with the ja/en/common dictionaries, edit-distance matching took 300–950 ms of event-loop
    // time per password (5–40 ms without), stalling every other request while someone registered.
    useLevenshteinDistance: false,
    // Each l33t variant ("p@ss" -> "pass") is one more dictionary pass over the whole password.
    // zxcvbn-ts tries up to 100; a password of l33t characters ("4@8(<3&6#!…") then cost ~650 ms of
    // event loop, and the strength API would hand that to anyone. 16 variants gave the same scores
    // on a sample of l33t passwords (p@55w0rd123, m0nk3y!b@n@n@, c0rr3ct h0r53 b@tt3ry 5t@pl3, …).
    l33tMaxSubstitutions: 16,
  });
  return factory;
}

function prefixKeys(prefix: string, dictionary: Record<string, string[]>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(dictionary).map(([name, words]) => [`${prefix}-${name}`, words]));
}

/** The offline breached/common list: zxcvbn-ts's `passwords-common` (the most used leaked passwords). */
export function isCommonPassword(password: string): boolean {
  commonPasswords ??= new Set(languages().common.dictionary["passwords-common"].map((p) => p.toLowerCase()));
  return commonPasswords.has(password.toLowerCase());
}

export type StrengthEstimate = Pick<ZxcvbnResult, "score" | "guessesLog10" | "feedback" | "crackTimes">;

// zxcvbn's matching grows faster than the length (every substring up to the longest dictionary word,
// in every dictionary, once more for each l33t variant). Scoring 64 characters, one random
// 64-character password took ~96 ms of event loop on an idle 2-core box; scoring 32 takes about a
// third of it. Timed per call (`estimateStrength`, 120 random 4,096-character passwords of printable
// ASCII, digits, l33t symbols, letters and digits) on that box with other work keeping it busy
// (load average 3): 64 scored, median 208 ms and worst 420 ms; 32 scored, median 70 and worst 96.
// 32 is also well past where the score stops moving: passphrases of 50 to 1,000 most common English
// words, with or without spaces, reached 4 (zxcvbn's highest) within their first 14 to 21
// characters. Only this prefix is scored — by the meter and by the policy at sign-up, reset and
// change alike (both come here): a longer password can only add guesses, so scoring its start never
// makes it look stronger than it is; the breached list, the identifiers and the length rules still
// see the whole password (policy.ts).
export const maxScoredLength = 32;

/** zxcvbn's estimate of the first `maxScoredLength` characters (code units, as zxcvbn counts). */
export function estimateStrength(password: string, userInputs: readonly string[]): StrengthEstimate {
  const result = zxcvbn().check(password.slice(0, maxScoredLength), [...userInputs]);
  return {
    score: result.score,
    guessesLog10: result.guessesLog10,
    feedback: result.feedback,
    crackTimes: result.crackTimes,
  };
}
