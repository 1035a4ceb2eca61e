// What a person asks the generator for, its bounds, and why options can be impossible.

export type CharacterOptions = {
  length: number;
  uppercase: boolean;
  lowercase: boolean;
  digits: boolean;
  symbols: boolean;
  /** The symbols to draw from (ASCII punctuation); `defaultSymbols` when absent. */
  symbolSet?: string | undefined;
  minDigits?: number | undefined;
  minSymbols?: number | undefined;
  /** Leave out characters that read alike: `0 O o 1 l I |`. */
  excludeAmbiguous?: boolean | undefined;
  /** Characters never to use. */
  exclude?: string | undefined;
};

export type PassphraseOptions = {
  words: number;
  separator: string;
  capitalize: boolean;
  /** One digit appended to one of the words. */
  includeNumber: boolean;
};

export const generatorLimits = {
  minLength: 4,
  maxLength: 128,
  maxCount: 100,
  minWords: 3,
  maxWords: 20,
  maxSeparatorLength: 5,
} as const;

export const uppercaseLetters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
export const lowercaseLetters = "abcdefghijklmnopqrstuvwxyz";
export const digitCharacters = "0123456789";
/** Every ASCII punctuation character: what a symbol set may hold. */
export const asciiSymbols = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
/** The default set leaves out quotes, backslash and backtick, which break CSV files, shells and some sites' forms. */
export const defaultSymbols = "!#$%&()*+,-./:;<=>?@[]^_{|}~";
export const ambiguousCharacters = "0Oo1lI|";
/** Why options cannot be met; the server and the page word each reason in Japanese and English. */
export type OptionsProblem =
  | { reason: "length_out_of_range"; min: number; max: number }
  | { reason: "no_character_class" }
  | { reason: "minimum_without_class"; characterClass: "digits" | "symbols" }
  | { reason: "minimums_over_length"; minimums: number; length: number }
  | { reason: "class_emptied"; characterClass: CharacterClassName }
  | { reason: "symbol_not_allowed"; character: string }
  | { reason: "words_out_of_range"; min: number; max: number }
  | { reason: "separator_too_long"; max: number }
  | { reason: "count_out_of_range"; min: number; max: number }
  | { reason: "invalid_number"; field: string }
  | { reason: "invalid_value"; field: string };

export type CharacterClassName = "uppercase" | "lowercase" | "digits" | "symbols";

export type PlanResult<P> = { ok: true; plan: P } | { ok: false; problem: OptionsProblem };

export function isWholeNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0;
}
