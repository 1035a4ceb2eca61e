import type { CharacterOptions, PassphraseOptions } from "./options.ts";

/**
 * Whether a list may be used as a password here: a generated password is offered for this site
 * only when every one of its kind passes the policy. zxcvbn cannot run on each (7–75 ms a
 * password; the page generates in the browser, where it is not loaded), so the rule is one that
 * measured safe against it, with room to spare: at least 16 characters (and the policy's minimum)
 * and 64 bits for characters, 4 words and 50 bits for passphrases. At 12 characters zxcvbn refused
 * about one in 600 lists' passwords of letters and digits (it finds words, years and runs in
 * them: "kouki37915mq"); at 16 the least guessable of thousands was still 10^13 guesses, a
 * thousand times past its top score. `generator-policy.test.ts` draws from the smallest list of
 * every kind the rule offers and runs the live policy on every password.
 */
export type PolicyFit = { ok: true } | { ok: false; problem: "too_short" | "too_weak"; minLength: number };

export const policyFloor = { characters: 16, characterBits: 64, words: 4, passphraseBits: 50 } as const;

export function policyFit(
  request: ({ mode: "characters" } & CharacterOptions) | ({ mode: "passphrase" } & PassphraseOptions),
  entropyBits: number,
  policyMinLength: number,
): PolicyFit {
  const minLength = Math.max(policyMinLength, policyFloor.characters);
  if (request.mode === "characters") {
    if (request.length < minLength) return { ok: false, problem: "too_short", minLength };
    if (entropyBits < policyFloor.characterBits) return { ok: false, problem: "too_weak", minLength };
    return { ok: true };
  }
  // The shortest passphrase: words of 3 letters and the separators between them.
  const shortest = request.words * 3 + (request.words - 1) * [...request.separator].length;
  if (shortest < policyMinLength) return { ok: false, problem: "too_short", minLength };
  if (request.words < policyFloor.words || entropyBits < policyFloor.passphraseBits) {
    return { ok: false, problem: "too_weak", minLength };
  }
  return { ok: true };
}

/** How the page and the API name a password's strength: by its entropy, which the generator knows exactly. */
export type StrengthLabel = "weak" | "fair" | "strong" | "very_strong";

export function strengthLabel(entropyBits: number): StrengthLabel {
  if (entropyBits < 40) return "weak";
  if (entropyBits < 60) return "fair";
  if (entropyBits < 80) return "strong";
  return "very_strong";
}

/**
 * How a CSV names its columns and its strength: the API's machine names by default; the page's
 * download uses its language's words, and a byte order mark so that Excel reads it as UTF-8 (without
 * one, Excel in Japan opens a UTF-8 file as Shift_JIS and the Japanese headers come out garbled).
 */
export type CsvWording = {
  headers: readonly string[];
  strengthName: (label: StrengthLabel) => string;
  byteOrderMark: boolean;
};

const apiCsv: CsvWording = {
  headers: ["password", "entropy_bits", "strength"],
  strengthName: (label) => label,
  byteOrderMark: false,
};

/** A list as a download: one password a line, or CSV with its entropy and strength. */
export function formatPasswordList(
  passwords: readonly string[],
  entropyBits: number,
  format: "txt" | "csv",
  wording: CsvWording = apiCsv,
): string {
  if (format === "txt") return `${passwords.join("\r\n")}\r\n`;
  const bits = entropyBits.toFixed(1);
  const label = csvField(wording.strengthName(strengthLabel(entropyBits)));
  const rows = passwords.map((password) => `${csvField(password)},${bits},${label}`);
  const header = wording.headers.map(csvField).join(",");
  return `${wording.byteOrderMark ? "\uFEFF" : ""}${header}\r\n${rows.join("\r\n")}\r\n`;
}

// RFC 4180 quoting and nothing else: a password is written exactly as it is. (The usual guard
// against spreadsheet formulas, a leading apostrophe, would change the password; these are
// random strings from our own alphabet, not anyone's input, and password managers import CSV
// as text.)
function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}
