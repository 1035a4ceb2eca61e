import { ZxcvbnFactory, type ZxcvbnResult } from "@zxcvbn-ts/core";
import * as common from "@zxcvbn-ts/language-common";
import * as en from "@zxcvbn-ts/language-en";
import * as ja from "@zxcvbn-ts/language-ja";

let factory: ZxcvbnFactory | undefined;
let commonPasswords: Set<string> | undefined;

// The dictionaries take tens of MiB and a few hundred ms to rank, so they load on first use,
// not at start-up: a process that only checks sessions never pays for them.
function zxcvbn(): ZxcvbnFactory {
  factory ??= new ZxcvbnFactory({
    translations: en.translations,
    graphs: common.adjacencyGraphs,
    dictionary: { ...common.dictionary, ...en.dictionary, ...prefixKeys("ja", ja.dictionary) },
    // Off: with the ja/en/common dictionaries, edit-distance matching took 300–950 ms of event-loop
    // time per password (5–40 ms without), stalling every other request while someone registered.
    useLevenshteinDistance: false,
  });
  return factory;
}

function prefixKeys(prefix: string, dictionary: Record<string, string[]>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(dictionary).map(([name, words]) => [`${prefix}-${name}`, words]));
}

/** The offline breached/common list: zxcvbn-ts's `passwords-common` (the most used leaked passwords). */
export function isCommonPassword(password: string): boolean {
  commonPasswords ??= new Set(common.dictionary["passwords-common"].map((p) => p.toLowerCase()));
  return commonPasswords.has(password.toLowerCase());
}

export type StrengthEstimate = Pick<ZxcvbnResult, "score" | "guessesLog10" | "feedback" | "crackTimes">;

// zxcvbn's matching grows with length; past 100 characters a password is strong in any case.
const maxScoredLength = 100;

export function estimateStrength(password: string, userInputs: readonly string[]): StrengthEstimate {
  const result = zxcvbn().check(password.slice(0, maxScoredLength), [...userInputs]);
  return {
    score: result.score,
    guessesLog10: result.guessesLog10,
    feedback: result.feedback,
    crackTimes: result.crackTimes,
  };
}
