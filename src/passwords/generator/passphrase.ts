import { generatorLimits, isWholeNumber, type PassphraseOptions, type PlanResult } from "./options.ts";
import type { RandomPool } from "./random.ts";

/** Validated passphrase options and their entropy. */
export type PassphrasePlan = { kind: "passphrase"; options: PassphraseOptions; entropyBits: number };

export function planPassphrase(options: PassphraseOptions, wordCount: number): PlanResult<PassphrasePlan> {
  if (!isWholeNumber(options.words))
    return { ok: false, problem: { reason: "invalid_number", field: "words" } };
  const { minWords: min, maxWords: max, maxSeparatorLength } = generatorLimits;
  if (options.words < min || options.words > max) {
    return { ok: false, problem: { reason: "words_out_of_range", min, max } };
  }
  if ([...options.separator].length > maxSeparatorLength) {
    return { ok: false, problem: { reason: "separator_too_long", max: maxSeparatorLength } };
  }
  // Each word is one of wordCount; the number is one of 10 digits on one of the words.
  const numberBits = options.includeNumber ? Math.log2(10 * options.words) : 0;
  const entropyBits = options.words * Math.log2(wordCount) + numberBits;
  return { ok: true, plan: { kind: "passphrase", options, entropyBits } };
}
/** Draws passphrases: each word uniformly from the list, the digit and its word uniformly too. */
export class PassphraseGenerator {
  #options: PassphraseOptions;
  #pool: RandomPool;
  #words: readonly string[];

  constructor(plan: PassphrasePlan, pool: RandomPool, words: readonly string[]) {
    this.#options = plan.options;
    this.#pool = pool;
    this.#words = words;
  }

  next(): string {
    const { words: count, separator, capitalize, includeNumber } = this.#options;
    const chosen: string[] = [];
    for (let i = 0; i < count; i++) {
      const word = this.#words[this.#pool.below(this.#words.length)] as string;
      chosen.push(capitalize ? word.charAt(0).toUpperCase() + word.slice(1) : word);
    }
    if (includeNumber) {
      const index = this.#pool.below(count);
      chosen[index] = `${chosen[index]}${this.#pool.below(10)}`;
    }
    return chosen.join(separator);
  }
}
