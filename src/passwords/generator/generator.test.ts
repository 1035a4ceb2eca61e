import assert from "node:assert/strict";
import { createCipheriv } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  ambiguousCharacters,
  CharacterGenerator,
  type CharacterOptions,
  type CharacterPlan,
  countPasswords,
  defaultSymbols,
  digitCharacters,
  formatPasswordList,
  log2,
  PassphraseGenerator,
  planCharacters,
  planPassphrase,
  type RandomFill,
  RandomPool,
} from "./index.ts";

/** A deterministic CSPRNG stream (AES-256-CTR over zeros) so a statistical test gives the same verdict every run. */
function seededFill(seed: number): RandomFill {
  const key = Buffer.alloc(32);
  key.writeUInt32BE(seed);
  const cipher = createCipheriv("aes-256-ctr", key, Buffer.alloc(16));
  return (bytes) => {
    bytes.set(cipher.update(Buffer.alloc(bytes.length)));
  };
}

const all: CharacterOptions = { length: 16, uppercase: true, lowercase: true, digits: true, symbols: true };

function plan(options: CharacterOptions): CharacterPlan {
  const result = planCharacters(options);
  assert.ok(result.ok, `options should be possible: ${JSON.stringify(result)}`);
  return result.plan;
}

/** The upper 0.1% point of chi-square with `df` degrees of freedom (Wilson–Hilferty, within 0.5% for df > 30). */
function chiSquareCritical999(df: number): number {
  const z = 3.0902; // the standard normal's 99.9th percentile
  return df * (1 - 2 / (9 * df) + z * Math.sqrt(2 / (9 * df))) ** 3;
}

/**
 * Chi-square of the characters of `total` characters' worth of passwords against the exact
 * probability of each character at a position: for a character of class c that is the number of
 * allowed passwords starting with it (c's minimum one lower, one character shorter) over all of them.
 */
function chiSquareOfCharacters(
  p: CharacterPlan,
  fill: RandomFill,
  total: number,
): { chi: number; df: number } {
  const generator = new CharacterGenerator(p, new RandomPool(fill));
  const observed = new Map<string, number>();
  for (let drawn = 0; drawn < total; ) {
    for (const password of generator.many(1000)) {
      for (const character of password) observed.set(character, (observed.get(character) ?? 0) + 1);
      drawn += password.length;
    }
  }
  const drawnCharacters = [...observed.values()].reduce((a, b) => a + b, 0);
  const totalPasswords = countPasswords(p.classes, p.length);
  let chi = 0;
  let cells = 0;
  for (const [index, characterClass] of p.classes.entries()) {
    const rest = p.classes.map((c, i) => (i === index ? { ...c, minimum: Math.max(0, c.minimum - 1) } : c));
    const probability = Number((countPasswords(rest, p.length - 1) * 1_000_000_000n) / totalPasswords) / 1e9;
    for (const character of characterClass.characters) {
      const expected = probability * drawnCharacters;
      chi += ((observed.get(character) ?? 0) - expected) ** 2 / expected;
      cells++;
    }
  }
  return { chi, df: cells - 1 };
}

describe("password generator", () => {
  it("draws characters uniformly: chi-square over 1,000,000 characters does not reject at p = 0.001", () => {
    const { chi, df } = chiSquareOfCharacters(plan(all), seededFill(1), 1_000_000);
    assert.ok(chi < chiSquareCritical999(df), `chi-square ${chi.toFixed(1)} with ${df} df`);
  });

  it("draws characters uniformly when the minimums force the class counts first (composition path)", () => {
    const p = plan({ ...all, length: 10, minDigits: 6, minSymbols: 2 });
    const { chi, df } = chiSquareOfCharacters(p, seededFill(2), 1_000_000);
    assert.ok(chi < chiSquareCritical999(df), `chi-square ${chi.toFixed(1)} with ${df} df`);
  });

  it("the uniformity test can fail: a `% n` biased draw is rejected", () => {
    // The same count of characters, drawn with the bias this generator avoids: byte % 94.
    const p = plan(all);
    const alphabet = p.classes.map((c) => c.characters).join("");
    const counts = new Map<string, number>();
    const bytes = new Uint8Array(1_000_000);
    seededFill(3)(bytes);
    for (const byte of bytes) {
      const character = alphabet[byte % alphabet.length] as string;
      counts.set(character, (counts.get(character) ?? 0) + 1);
    }
    const expected = bytes.length / alphabet.length;
    const chi = [...alphabet].reduce((sum, c) => sum + ((counts.get(c) ?? 0) - expected) ** 2 / expected, 0);
    assert.ok(chi > chiSquareCritical999(alphabet.length - 1), `biased chi-square ${chi.toFixed(1)}`);
  });

  it("rejection sampling: bytes at or above the largest multiple of n are drawn again", () => {
    // One byte of every value: for n = 94 the bytes 0–187 give each value exactly twice.
    let next = 0;
    const counting: RandomFill = (bytes) => {
      for (let i = 0; i < bytes.length; i++) bytes[i] = next++ % 256;
    };
    const pool = new RandomPool(counting, 256);
    const seen = new Array<number>(94).fill(0);
    for (let i = 0; i < 188; i++) {
      const value = pool.below(94);
      seen[value] = (seen[value] ?? 0) + 1;
    }
    assert.deepEqual(new Set(seen), new Set([2]));
    // The next draw skips bytes 188–255 and starts over at 0.
    assert.equal(pool.below(94), 0);
  });

  it("bytes a list leaves unread are handed back: the next list uses them once, none twice, none wasted", () => {
    let fills = 0;
    const seeded = seededFill(5);
    const counting: RandomFill = (bytes) => {
      fills++;
      seeded(bytes);
    };
    const generator = new CharacterGenerator(plan({ ...all, length: 8 }), new RandomPool(counting, 4096));
    const passwords = Array.from({ length: 20 }, () => generator.next());
    assert.equal(fills, 1, "twenty short passwords fit in one block");
    // Bytes used twice would make a password twice (the same bytes give the same password).
    assert.equal(new Set(passwords).size, 20, "no byte was used twice");
  });

  it("honours every minimum and class, and never uses an excluded character (property)", () => {
    fc.assert(
      fc.property(
        fc.record({
          length: fc.integer({ min: 4, max: 40 }),
          uppercase: fc.boolean(),
          lowercase: fc.boolean(),
          digits: fc.boolean(),
          symbols: fc.boolean(),
          minDigits: fc.integer({ min: 0, max: 6 }),
          minSymbols: fc.integer({ min: 0, max: 6 }),
          excludeAmbiguous: fc.boolean(),
          exclude: fc.string({ maxLength: 10 }),
          seed: fc.nat(),
        }),
        (options) => {
          const request: CharacterOptions = {
            ...options,
            minDigits: options.digits ? options.minDigits : 0,
            minSymbols: options.symbols ? options.minSymbols : 0,
          };
          const result = planCharacters(request);
          if (!result.ok) return; // impossible options are tested below
          const generator = new CharacterGenerator(result.plan, new RandomPool(seededFill(options.seed)));
          const excluded = options.exclude + (options.excludeAmbiguous ? ambiguousCharacters : "");
          for (const password of generator.many(20)) {
            assert.equal(password.length, options.length);
            for (const c of password) assert.ok(!excluded.includes(c), `excluded ${c} in ${password}`);
            const count = (set: string) => [...password].filter((c) => set.includes(c)).length;
            if (options.uppercase) assert.ok(count("ABCDEFGHIJKLMNOPQRSTUVWXYZ") >= 1, password);
            if (options.lowercase) assert.ok(count("abcdefghijklmnopqrstuvwxyz") >= 1, password);
            if (options.digits)
              assert.ok(count(digitCharacters) >= Math.max(1, request.minDigits ?? 0), password);
            if (options.symbols)
              assert.ok(count(defaultSymbols) >= Math.max(1, request.minSymbols ?? 0), password);
            if (!options.digits) assert.equal(count(digitCharacters), 0, password);
            if (!options.symbols) assert.equal(count(defaultSymbols), 0, password);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("refuses impossible options with the reason", () => {
    const reason = (options: CharacterOptions) => {
      const result = planCharacters(options);
      return result.ok ? "ok" : result.problem.reason;
    };
    const none = { uppercase: false, lowercase: false, digits: false, symbols: false };
    assert.equal(reason({ ...all, ...none }), "no_character_class");
    assert.equal(reason({ ...all, length: 3 }), "length_out_of_range");
    assert.equal(reason({ ...all, length: 129 }), "length_out_of_range");
    assert.equal(reason({ ...all, length: 8.5 }), "invalid_number");
    assert.equal(reason({ ...all, length: 8, minDigits: 4, minSymbols: 4 }), "minimums_over_length");
    assert.equal(reason({ ...all, digits: false, minDigits: 2 }), "minimum_without_class");
    assert.equal(reason({ ...all, exclude: digitCharacters }), "class_emptied");
    assert.equal(reason({ ...all, symbolSet: "!a" }), "symbol_not_allowed");
    assert.equal(reason({ ...all, length: 4 }), "ok");
  });

  it("computes entropy from the actual alphabet and constraints (checked by counting every string)", () => {
    // A tiny alphabet so every string can be listed: A, b, 2, 3, ! with a digit twice at least.
    const options: CharacterOptions = {
      length: 5,
      uppercase: true,
      lowercase: true,
      digits: true,
      symbols: true,
      symbolSet: "!",
      minDigits: 2,
      exclude: "BCDEFGHIJKLMNOPQRSTUVWXYZacdefghijklmnopqrstuvwxyz01456789",
    };
    const alphabet = "Ab23!";
    let valid = 0;
    for (let n = 0; n < 5 ** 5; n++) {
      const s = [0, 1, 2, 3, 4].map((i) => alphabet[Math.floor(n / 5 ** i) % 5]).join("");
      const has = (set: string) => [...s].filter((c) => set.includes(c)).length;
      if (has("A") >= 1 && has("b") >= 1 && has("23") >= 2 && has("!") >= 1) valid++;
    }
    assert.equal(plan(options).entropyBits.toFixed(9), Math.log2(valid).toFixed(9));
    const lowercaseOnly = plan({ ...all, uppercase: false, digits: false, symbols: false, length: 20 });
    assert.ok(Math.abs(lowercaseOnly.entropyBits - 20 * Math.log2(26)) < 1e-9);
  });

  it("log2 of numbers past double precision", () => {
    assert.equal(log2(1n), 0);
    assert.equal(log2(2n ** 200n), 200);
    assert.ok(Math.abs(log2(94n ** 128n) - 128 * Math.log2(94)) < 1e-9);
  });

  it("passphrases: words from the list, separator, capitals, one number; entropy from the list size", () => {
    const words = readFileSync(new URL("../../../public/eff-large-wordlist.txt", import.meta.url), "utf8")
      .trim()
      .split("\n");
    assert.equal(new Set(words).size, 7776);
    const result = planPassphrase(
      { words: 6, separator: " ", capitalize: true, includeNumber: true },
      words.length,
    );
    assert.ok(result.ok);
    assert.equal(result.plan.entropyBits, 6 * Math.log2(7776) + Math.log2(60));
    const generator = new PassphraseGenerator(result.plan, new RandomPool(seededFill(4)), words);
    const list = new Set(words);
    for (let i = 0; i < 200; i++) {
      const phrase = generator.next();
      assert.equal((phrase.match(/\d/g) ?? []).length, 1, phrase);
      const parts = phrase.split(" ");
      assert.equal(parts.length, 6, phrase);
      for (const part of parts) {
        assert.ok(/^[A-Z]/.test(part), phrase);
        assert.ok(list.has(part.replace(/\d$/, "").toLowerCase()), `${part} is not on the list`);
      }
    }
    const bad = (words: number, separator = " ") =>
      planPassphrase({ words, separator, capitalize: false, includeNumber: false }, 7776);
    assert.deepEqual(bad(2), { ok: false, problem: { reason: "words_out_of_range", min: 3, max: 20 } });
    assert.deepEqual(bad(21).ok, false);
    assert.deepEqual(bad(5, "------").ok, false);
  });

  it("downloads: txt one a line, CSV quoted by RFC 4180 with the password unchanged", () => {
    assert.equal(formatPasswordList(["a,b", 'c"d', "=e"], 80, "txt"), 'a,b\r\nc"d\r\n=e\r\n');
    assert.equal(
      formatPasswordList(["a,b", 'c"d', "=e"], 80, "csv"),
      'password,entropy_bits,strength\r\n"a,b",80.0,very_strong\r\n"c""d",80.0,very_strong\r\n=e,80.0,very_strong\r\n',
    );
  });
});
