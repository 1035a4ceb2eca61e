import { Type } from "typebox";
import {
  defaultCharacterRequest,
  defaultPassphraseRequest,
  type GenerationRequest,
  type WordListName,
  wordListNames,
} from "./generation.ts";
import type { OptionsProblem } from "./generator/index.ts";

// The generator's options as the API, the page's form and the CLI give them: JSON with real
// types, or strings (a query string, a form post). Absent options take the page's defaults.

const whole = (description: string) => Type.Optional(Type.Integer({ description }));
const flag = (description: string) => Type.Optional(Type.Boolean({ description }));

export const GenerationBody = Type.Object(
  {
    mode: Type.Optional(
      Type.Union([Type.Literal("characters"), Type.Literal("passphrase")], { default: "characters" }),
    ),
    count: whole("How many, 1–100 (default 10)"),
    length: whole("Characters, 4–128 (default 16)"),
    uppercase: flag("A–Z (default true)"),
    lowercase: flag("a–z (default true)"),
    digits: flag("0–9 (default true)"),
    symbols: flag("Symbols from `symbolSet` (default true)"),
    symbolSet: Type.Optional(
      Type.String({
        maxLength: 64,
        description: "ASCII punctuation to draw symbols from (default `!#$%&()*+,-./:;<=>?@[]^_{|}~`)",
      }),
    ),
    minDigits: whole("At least this many digits (default 1 when digits are on)"),
    minSymbols: whole("At least this many symbols (default 1 when symbols are on)"),
    excludeAmbiguous: flag("Leave out 0 O o 1 l I |"),
    exclude: Type.Optional(Type.String({ maxLength: 256, description: "Characters never to use" })),
    words: whole("Passphrase words, 3–20 (default 6)"),
    wordList: Type.Optional(
      Type.Union([Type.Literal("english"), Type.Literal("romaji")], {
        description:
          "Passphrase words: `english` (EFF, 7,776 words, 12.9 bits each; default) or `romaji` " +
          "(BIP39's Japanese words in Hepburn romaji, 2,048 words, 11 bits each)",
      }),
    ),
    separator: Type.Optional(Type.String({ maxLength: 16, description: 'Between words (default "-")' })),
    capitalize: flag("Capitalise each word"),
    includeNumber: flag("Append one digit to one word"),
  },
  { additionalProperties: false },
);

export type GenerationOptions = {
  mode?: "characters" | "passphrase" | undefined;
  count?: number | undefined;
  length?: number | undefined;
  uppercase?: boolean | undefined;
  lowercase?: boolean | undefined;
  digits?: boolean | undefined;
  symbols?: boolean | undefined;
  symbolSet?: string | undefined;
  minDigits?: number | undefined;
  minSymbols?: number | undefined;
  excludeAmbiguous?: boolean | undefined;
  exclude?: string | undefined;
  words?: number | undefined;
  wordList?: WordListName | undefined;
  separator?: string | undefined;
  capitalize?: boolean | undefined;
  includeNumber?: boolean | undefined;
};

/** The options with every absent one at its default. A class turned off drops its default minimum. */
export function withDefaults(options: GenerationOptions): GenerationRequest {
  if (options.mode === "passphrase") {
    const d = defaultPassphraseRequest;
    return {
      mode: "passphrase",
      count: options.count ?? d.count,
      wordList: options.wordList ?? d.wordList,
      words: options.words ?? d.words,
      separator: options.separator ?? d.separator,
      capitalize: options.capitalize ?? d.capitalize,
      includeNumber: options.includeNumber ?? d.includeNumber,
    };
  }
  const d = defaultCharacterRequest;
  const digits = options.digits ?? d.digits;
  const symbols = options.symbols ?? d.symbols;
  return {
    mode: "characters",
    count: options.count ?? d.count,
    length: options.length ?? d.length,
    uppercase: options.uppercase ?? d.uppercase,
    lowercase: options.lowercase ?? d.lowercase,
    digits,
    symbols,
    symbolSet: options.symbolSet ?? d.symbolSet,
    minDigits: options.minDigits ?? (digits ? d.minDigits : 0),
    minSymbols: options.minSymbols ?? (symbols ? d.minSymbols : 0),
    excludeAmbiguous: options.excludeAmbiguous ?? d.excludeAmbiguous,
    exclude: options.exclude ?? d.exclude,
  };
}

const numberFields = ["count", "length", "minDigits", "minSymbols", "words"] as const;
const flagFields = [
  "uppercase",
  "lowercase",
  "digits",
  "symbols",
  "excludeAmbiguous",
  "capitalize",
  "includeNumber",
] as const;
const textFields = ["symbolSet", "exclude", "separator"] as const;

export type ParsedOptions = { ok: true; options: GenerationOptions } | { ok: false; problem: OptionsProblem };

/**
 * Options from strings (a query string or a form). Flags read "true"/"on"/"1" as on and
 * "false"/"off"/"0" as off; `form` is a form post, where an unticked box is simply absent, so an
 * absent flag is off (the form always sends `mode`).
 */
export function optionsFromStrings(values: Record<string, string | undefined>, form = false): ParsedOptions {
  const options: GenerationOptions = {};
  const mode = values.mode;
  if (mode !== undefined && mode !== "characters" && mode !== "passphrase") {
    return { ok: false, problem: { reason: "invalid_value", field: "mode" } };
  }
  options.mode = mode;
  const wordList = values.wordList;
  if (wordList !== undefined) {
    const known = wordListNames.find((name) => name === wordList);
    if (known === undefined) return { ok: false, problem: { reason: "invalid_value", field: "wordList" } };
    options.wordList = known;
  }
  for (const field of numberFields) {
    const text = values[field]?.trim();
    if (text === undefined || text === "") continue;
    if (!/^\d{1,6}$/.test(text)) return { ok: false, problem: { reason: "invalid_number", field } };
    options[field] = Number(text);
  }
  for (const field of flagFields) {
    const text = values[field];
    if (text === undefined) {
      if (form) options[field] = false;
      continue;
    }
    if (["true", "on", "1"].includes(text)) options[field] = true;
    else if (["false", "off", "0"].includes(text)) options[field] = false;
    else return { ok: false, problem: { reason: "invalid_value", field } };
  }
  for (const field of textFields) {
    const text = values[field];
    if (text !== undefined) options[field] = text;
  }
  // A form always sends its minimum fields: a minimum of a class left unticked is moot there.
  if (form && options.digits === false) options.minDigits = undefined;
  if (form && options.symbols === false) options.minSymbols = undefined;
  return { ok: true, options };
}
