import { readFileSync } from "node:fs";
import type { Limits } from "../config/config.ts";
import type { Deps } from "../deps.ts";
import { ApiError } from "../http/errors.ts";
import { ipThrottleSubject } from "../throttle/ip-subject.ts";
import {
  CharacterGenerator,
  type CharacterOptions,
  defaultSymbols,
  generatorLimits,
  type OptionsProblem,
  PassphraseGenerator,
  type PassphraseOptions,
  type PolicyFit,
  planCharacters,
  planPassphrase,
  policyFit,
  RandomPool,
  type StrengthLabel,
  strengthLabel,
  webCryptoFill,
} from "./generator/index.ts";
import { romajiPassphraseWords } from "./generator-romaji.ts";

/** What a person (page, API, CLI) asks for: either mode's options, with the defaults of the page. */
export type GenerationRequest =
  | ({ mode: "characters"; count: number } & CharacterOptions)
  | ({ mode: "passphrase"; count: number; wordList?: WordListName | undefined } & PassphraseOptions);

/** The passphrase lists: English words (EFF) or Japanese words in romaji (BIP39), English by default. */
export const wordListNames = ["english", "romaji"] as const;
export type WordListName = (typeof wordListNames)[number];

export const defaultCharacterRequest = {
  mode: "characters",
  count: 10,
  length: 16,
  uppercase: true,
  lowercase: true,
  digits: true,
  symbols: true,
  symbolSet: defaultSymbols,
  minDigits: 1,
  minSymbols: 1,
  excludeAmbiguous: false,
  exclude: "",
} as const satisfies GenerationRequest;

export const defaultPassphraseRequest = {
  mode: "passphrase",
  count: 10,
  wordList: "english",
  words: 6,
  separator: "-",
  capitalize: false,
  includeNumber: false,
} as const satisfies GenerationRequest;

/**
 * Counts one generation against the address's minute: a list costs at most ~30 ms of event loop
 * (128 characters under tight minimums), so the server's generator cannot become a way to stall it.
 * The page in the browser never asks.
 */
export async function allowGeneration(
  deps: Pick<Deps, "throttle" | "clock" | "config">,
  ip: string,
): Promise<ApiError | null> {
  const verdict = await deps.throttle.hit(
    `password-generation:ip:${ipThrottleSubject(ip)}`,
    { limit: deps.config.limits.passwordGenerationsPerIpPerMinute, windowSeconds: 60 },
    deps.clock.now(),
  );
  return verdict.allowed
    ? null
    : new ApiError("too_many_attempts", { retryAfterSeconds: verdict.retryAfterSeconds });
}

let words: readonly string[] | undefined;

/**
 * The EFF large word list (7,776 words, CC BY 3.0 US, Electronic Frontier Foundation), or BIP39's
 * Japanese words in Hepburn romaji (2,048, generator-romaji.ts).
 */
export function passphraseWords(list: WordListName = "english"): readonly string[] {
  if (list === "romaji") return romajiPassphraseWords();
  words ??= readFileSync(wordListPath, "utf8").trim().split("\n");
  return words;
}

/** In public/, so the page's browser gets the same file at /assets/eff-large-wordlist.txt. */
export const wordListPath = new URL("../../public/eff-large-wordlist.txt", import.meta.url);

export type Generated = {
  passwords: string[];
  entropyBits: number;
  strength: StrengthLabel;
  policy: PolicyFit;
};

export type GenerationResult = { ok: true; generated: Generated } | { ok: false; problem: OptionsProblem };

// One pool for the process: random bytes are drawn 64 KiB at a time and never reused.
let processPool: RandomPool | undefined;

function sharedPool(): RandomPool {
  processPool ??= new RandomPool(webCryptoFill);
  return processPool;
}

export function generate(
  request: GenerationRequest,
  limits: Pick<Limits, "passwordMinLength">,
  randomPool: RandomPool = sharedPool(),
): GenerationResult {
  if (!Number.isInteger(request.count) || request.count < 1 || request.count > generatorLimits.maxCount) {
    return { ok: false, problem: { reason: "count_out_of_range", min: 1, max: generatorLimits.maxCount } };
  }
  let passwords: string[];
  let entropyBits: number;
  if (request.mode === "characters") {
    const planned = planCharacters(request);
    if (!planned.ok) return planned;
    passwords = new CharacterGenerator(planned.plan, randomPool).many(request.count);
    entropyBits = planned.plan.entropyBits;
  } else {
    const list = passphraseWords(request.wordList);
    const planned = planPassphrase(request, list.length);
    if (!planned.ok) return planned;
    const generator = new PassphraseGenerator(planned.plan, randomPool, list);
    passwords = Array.from({ length: request.count }, () => generator.next());
    entropyBits = planned.plan.entropyBits;
  }
  return {
    ok: true,
    generated: {
      passwords,
      entropyBits,
      strength: strengthLabel(entropyBits),
      policy: policyFit(request, entropyBits, limits.passwordMinLength),
    },
  };
}
