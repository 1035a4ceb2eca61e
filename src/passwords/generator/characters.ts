import {
  ambiguousCharacters,
  asciiSymbols,
  type CharacterClassName,
  type CharacterOptions,
  defaultSymbols,
  digitCharacters,
  generatorLimits,
  isWholeNumber,
  lowercaseLetters,
  type PlanResult,
  uppercaseLetters,
} from "./options.ts";
import type { RandomPool } from "./random.ts";

type CharacterClass = { name: CharacterClassName; characters: string; minimum: number };

/** Validated options, ready to draw from: the classes left after exclusions and their minimums. */
export type CharacterPlan = {
  kind: "characters";
  length: number;
  classes: readonly CharacterClass[];
  /** log2 of the number of passwords these options allow: every one is equally likely. */
  entropyBits: number;
};
/** Checks character options and works out the alphabet, per-class minimums and entropy. */
export function planCharacters(options: CharacterOptions): PlanResult<CharacterPlan> {
  const { length } = options;
  if (!isWholeNumber(length)) return { ok: false, problem: { reason: "invalid_number", field: "length" } };
  if (length < generatorLimits.minLength || length > generatorLimits.maxLength) {
    const { minLength: min, maxLength: max } = generatorLimits;
    return { ok: false, problem: { reason: "length_out_of_range", min, max } };
  }
  for (const field of ["minDigits", "minSymbols"] as const) {
    const value = options[field];
    if (value !== undefined && !isWholeNumber(value))
      return { ok: false, problem: { reason: "invalid_number", field } };
  }
  const minDigits = options.minDigits ?? 0;
  const minSymbols = options.minSymbols ?? 0;
  if (minDigits > 0 && !options.digits) {
    return { ok: false, problem: { reason: "minimum_without_class", characterClass: "digits" } };
  }
  if (minSymbols > 0 && !options.symbols) {
    return { ok: false, problem: { reason: "minimum_without_class", characterClass: "symbols" } };
  }
  const symbolSet = options.symbolSet ?? defaultSymbols;
  if (options.symbols) {
    for (const character of symbolSet) {
      if (!asciiSymbols.includes(character))
        return { ok: false, problem: { reason: "symbol_not_allowed", character } };
    }
  }
  const excluded = (options.exclude ?? "") + (options.excludeAmbiguous ? ambiguousCharacters : "");
  const wanted: [CharacterClassName, boolean, string, number][] = [
    ["uppercase", options.uppercase, uppercaseLetters, 1],
    ["lowercase", options.lowercase, lowercaseLetters, 1],
    ["digits", options.digits, digitCharacters, Math.max(1, minDigits)],
    ["symbols", options.symbols, symbolSet, Math.max(1, minSymbols)],
  ];
  const classes: CharacterClass[] = [];
  for (const [name, chosen, characters, minimum] of wanted) {
    if (!chosen) continue;
    const kept = [...new Set(characters)].filter((c) => !excluded.includes(c)).join("");
    if (kept === "") return { ok: false, problem: { reason: "class_emptied", characterClass: name } };
    classes.push({ name, characters: kept, minimum });
  }
  if (classes.length === 0) return { ok: false, problem: { reason: "no_character_class" } };
  const minimums = classes.reduce((sum, c) => sum + c.minimum, 0);
  if (minimums > length) return { ok: false, problem: { reason: "minimums_over_length", minimums, length } };
  const table = waysTable(classes, length);
  const entropyBits = log2(table[classes.length]?.[length] ?? 0n);
  const plan: CharacterPlan = { kind: "characters", length, classes, entropyBits };
  tables.set(plan, table);
  return { ok: true, plan };
}

// The counting table of a plan, made once when the plan is (it is the costly part: up to ~30 ms
// of BigInt work for 128 characters), kept for the generator that draws from it.
const tables = new WeakMap<CharacterPlan, bigint[][]>();

/**
 * waysTable[c][n]: how many strings of n characters use only the first c classes with each at
 * its minimum or more (the positions are part of the string). Exact, in BigInt.
 */
function waysTable(classes: readonly CharacterClass[], length: number): bigint[][] {
  const binomial = binomialRows(length);
  const table: bigint[][] = [Array.from({ length: length + 1 }, (_, n) => (n === 0 ? 1n : 0n))];
  for (const characterClass of classes) {
    const previous = table[table.length - 1] as bigint[];
    const size = BigInt(characterClass.characters.length);
    const powers = [1n];
    for (let k = 1; k <= length; k++) powers.push((powers[k - 1] as bigint) * size);
    const row: bigint[] = [];
    for (let n = 0; n <= length; n++) {
      let ways = 0n;
      for (let k = characterClass.minimum; k <= n; k++) {
        ways += (binomial[n]?.[k] ?? 0n) * (powers[k] as bigint) * (previous[n - k] ?? 0n);
      }
      row.push(ways);
    }
    table.push(row);
  }
  return table;
}

function binomialRows(length: number): bigint[][] {
  const rows: bigint[][] = [[1n]];
  for (let n = 1; n <= length; n++) {
    const above = rows[n - 1] as bigint[];
    rows.push(Array.from({ length: n + 1 }, (_, k) => (above[k - 1] ?? 0n) + (above[k] ?? 0n)));
  }
  return rows;
}

/** How many passwords of `length` characters meet every class minimum. */
export function countPasswords(classes: readonly CharacterClass[], length: number): bigint {
  return waysTable(classes, length)[classes.length]?.[length] ?? 0n;
}

/** log2 of a positive BigInt, to double precision. */
export function log2(value: bigint): number {
  const bits = value.toString(2).length;
  if (bits <= 53) return Math.log2(Number(value));
  return bits - 53 + Math.log2(Number(value >> BigInt(bits - 53)));
}

/**
 * Draws passwords uniformly from every string the plan allows. When most strings over the whole
 * alphabet already meet the minimums (the usual case), a string is drawn character by character
 * and drawn again if it misses one; otherwise the number of characters of each class is drawn
 * first, weighted by how many passwords have it, then their places, then the characters.
 * Either way each allowed password has probability 1 / (their number): the entropy shown is exact.
 */
export class CharacterGenerator {
  #plan: CharacterPlan;
  #pool: RandomPool;
  #alphabet: string;
  #classOf: Uint8Array;
  #table: bigint[][];
  /** powers[c][k]: class c's size to the k. */
  #powers: bigint[][];
  #byRejection: boolean;
  #codeOfByte = new Uint8Array(256);
  #classOfCode = new Uint8Array(128);
  #bitOfCode = new Uint8Array(128);

  constructor(plan: CharacterPlan, pool: RandomPool) {
    this.#plan = plan;
    this.#pool = pool;
    this.#alphabet = plan.classes.map((c) => c.characters).join("");
    this.#classOf = Uint8Array.from(plan.classes.flatMap((c, index) => [...c.characters].map(() => index)));
    this.#table = tables.get(plan) ?? waysTable(plan.classes, plan.length);
    this.#powers = plan.classes.map((c) => {
      const powers = [1n];
      for (let k = 1; k <= plan.length; k++)
        powers.push((powers[k - 1] as bigint) * BigInt(c.characters.length));
      return powers;
    });
    const all = BigInt(this.#alphabet.length) ** BigInt(plan.length);
    // A draw over the whole alphabet is kept at least one time in 16.
    this.#byRejection = (this.#table[plan.classes.length]?.[plan.length] ?? 0n) * 16n >= all;
    const size = this.#alphabet.length;
    for (let byte = 0; byte < 256 - (256 % size); byte++) {
      const index = byte % size;
      this.#codeOfByte[byte] = this.#alphabet.charCodeAt(index);
      this.#classOfCode[this.#alphabet.charCodeAt(index)] = this.#classOf[index] as number;
      this.#bitOfCode[this.#alphabet.charCodeAt(index)] = 1 << (this.#classOf[index] as number);
    }
  }

  next(): string {
    return this.many(1)[0] as string;
  }

  /** `count` passwords, each drawn independently. */
  many(count: number): string[] {
    if (!this.#byRejection) return Array.from({ length: count }, () => this.#nextByComposition());
    const { length } = this.#plan;
    const text = asciiText(this.#drawByRejection(count));
    const passwords: string[] = new Array(count);
    for (let i = 0; i < count; i++) passwords[i] = text.slice(i * length, (i + 1) * length);
    return passwords;
  }

  /**
   * The hot path (a million passwords a second): random bytes map through a 256-entry table
   * straight to a character code, or to 0 for a byte at or above the largest multiple of the
   * alphabet's size (drawn again: no `% n` bias). A password missing a class minimum is drawn
   * again whole.
   */
  #drawByRejection(count: number): Uint8Array {
    const { length, classes } = this.#plan;
    const codeOfByte = this.#codeOfByte;
    const bitOfCode = this.#bitOfCode;
    const classOfCode = this.#classOfCode;
    const onlyOneEach = classes.every((c) => c.minimum === 1);
    const allClasses = (1 << classes.length) - 1;
    const counts = new Uint8Array(classes.length);
    const out = new Uint8Array(count * length);
    let block = this.#pool.take();
    let at = 0;
    let written = 0;
    while (written < count) {
      const start = written * length;
      const end = start + length;
      let next = start;
      let seen = 0;
      while (next < end) {
        if (at === block.length) {
          block = this.#pool.take();
          at = 0;
        }
        const code = codeOfByte[block[at++] as number] as number;
        // Without a branch (a rejected byte is ~27% of them, at random): code 0 is written and
        // then overwritten, adds no class, and does not advance (1–127 + 255 >> 8 is 1; 0 gives 0).
        out[next] = code;
        seen |= bitOfCode[code] as number;
        next += (code + 255) >> 8;
      }
      if (seen !== allClasses) continue;
      if (!onlyOneEach) {
        counts.fill(0);
        for (let i = start; i < end; i++) {
          const characterClass = classOfCode[out[i] as number] as number;
          counts[characterClass] = (counts[characterClass] as number) + 1;
        }
        if (!classes.every((c, index) => (counts[index] as number) >= c.minimum)) continue;
      }
      written++;
    }
    this.#pool.putBack(block.length - at);
    return out;
  }

  #nextByComposition(): string {
    const { classes } = this.#plan;
    // How many characters of each class, from the last class back, each count weighted by the
    // number of passwords that have it.
    const counts: number[] = new Array(classes.length).fill(0);
    let remaining = this.#plan.length;
    for (let c = classes.length; c >= 1; c--) {
      const characterClass = classes[c - 1] as CharacterClass;
      const previous = this.#table[c - 1] as bigint[];
      const powers = this.#powers[c - 1] as bigint[];
      const total = this.#table[c]?.[remaining] ?? 0n;
      let pick = this.#pool.bigBelow(total);
      let binomial = 1n;
      for (let k = 0; k <= remaining; k++) {
        if (k > 0) binomial = (binomial * BigInt(remaining - k + 1)) / BigInt(k);
        if (k < characterClass.minimum) continue;
        const ways = binomial * (powers[k] as bigint) * (previous[remaining - k] ?? 0n);
        if (pick < ways) {
          counts[c - 1] = k;
          break;
        }
        pick -= ways;
      }
      remaining -= counts[c - 1] as number;
    }
    // Their places: a uniform shuffle of the class labels (Fisher–Yates).
    const labels = counts.flatMap((count, index) => new Array<number>(count).fill(index));
    for (let i = labels.length - 1; i > 0; i--) {
      const j = this.#pool.below(i + 1);
      [labels[i], labels[j]] = [labels[j] as number, labels[i] as number];
    }
    return labels
      .map((index) => {
        const characters = (classes[index] as CharacterClass).characters;
        return characters[this.#pool.below(characters.length)];
      })
      .join("");
  }
}

const latin1 = new TextDecoder("latin1");

// Every character of every alphabet is ASCII, where latin1 and ASCII agree.
function asciiText(codes: Uint8Array): string {
  return latin1.decode(codes);
}
