import { parseArgs } from "node:util";
import { loadConfig, readConfigSource } from "../config/config.ts";
import { policyMessage, problemMessage } from "../i18n/generator-text.ts";
import { generate } from "../passwords/generation.ts";
import { formatPasswordList } from "../passwords/generator/index.ts";
import { type GenerationOptions, withDefaults } from "../passwords/generator-request.ts";

export const passwordsUsage = `Usage: mamori passwords [options]

  Characters (default: 16 of upper case, lower case, digits and symbols):
    --length N            4–128
    --no-uppercase --no-lowercase --no-digits --no-symbols
    --min-digits N        at least N digits      --min-symbols N   at least N symbols
    --symbol-set CHARS    the symbols to use (ASCII punctuation)
    --exclude-ambiguous   leave out 0 O o 1 l I |
    --exclude CHARS       never use these characters
  Passphrase:
    --passphrase          words from the EFF list of 7,776
    --words N             3–20 (default 6)      --separator S     (default -)
    --capitalize          --include-number
  Output:
    --count N             1–100 (default 1)
    --format txt|csv|json (default txt: one a line)

Exit status: 0 printed, 1 impossible options (the reason on stderr), 2 usage.
Passwords come from the system's CSPRNG; they are printed, never stored or logged.
`;

type Output = { out(text: string): void; err(text: string): void };

const options = {
  length: { type: "string" },
  count: { type: "string" },
  uppercase: { type: "boolean" },
  lowercase: { type: "boolean" },
  digits: { type: "boolean" },
  symbols: { type: "boolean" },
  "min-digits": { type: "string" },
  "min-symbols": { type: "string" },
  "symbol-set": { type: "string" },
  "exclude-ambiguous": { type: "boolean" },
  exclude: { type: "string" },
  passphrase: { type: "boolean" },
  words: { type: "string" },
  separator: { type: "string" },
  capitalize: { type: "boolean" },
  "include-number": { type: "boolean" },
  format: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

class UsageProblem extends Error {}

function wholeNumber(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,6}$/.test(text)) throw new UsageProblem(`--${name} must be a whole number`);
  return Number(text);
}

/** `mamori passwords …`: needs no database; the policy's minimum length comes from the configuration. */
export function runPasswordsCli(
  argv: readonly string[],
  output: Output,
  env: NodeJS.ProcessEnv = process.env,
): number {
  const locale = (env.LANG ?? "").startsWith("ja") ? "ja" : "en";
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options,
      allowNegative: true,
      strict: true,
      allowPositionals: true,
    });
    if (values.help) {
      output.out(passwordsUsage);
      return 0;
    }
    if (positionals.length > 0) throw new UsageProblem(`unexpected arguments: ${positionals.join(" ")}`);
    const format = values.format ?? "txt";
    if (format !== "txt" && format !== "csv" && format !== "json")
      throw new UsageProblem("--format must be txt, csv or json");
    const request: GenerationOptions = {
      mode: values.passphrase ? "passphrase" : "characters",
      count: wholeNumber("count", values.count) ?? 1,
      length: wholeNumber("length", values.length),
      uppercase: values.uppercase,
      lowercase: values.lowercase,
      digits: values.digits,
      symbols: values.symbols,
      minDigits: wholeNumber("min-digits", values["min-digits"]),
      minSymbols: wholeNumber("min-symbols", values["min-symbols"]),
      symbolSet: values["symbol-set"],
      excludeAmbiguous: values["exclude-ambiguous"],
      exclude: values.exclude,
      words: wholeNumber("words", values.words),
      separator: values.separator,
      capitalize: values.capitalize,
      includeNumber: values["include-number"],
    };
    const config = loadConfig({ ...readConfigSource(env), LOG_LEVEL: "warn" });
    const result = generate(withDefaults(request), config.limits);
    if (!result.ok) {
      output.err(problemMessage(result.problem, locale));
      return 1;
    }
    const { passwords, entropyBits, strength, policy } = result.generated;
    if (format === "json") {
      output.out(
        JSON.stringify({
          passwords,
          entropyBits,
          strength,
          policy: { ok: policy.ok, message: policyMessage(policy, locale) },
        }),
      );
    } else {
      output.out(formatPasswordList(passwords, entropyBits, format).trimEnd().replaceAll("\r\n", "\n"));
      if (!policy.ok) output.err(policyMessage(policy, locale));
    }
    return 0;
  } catch (error) {
    if (error instanceof UsageProblem || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      output.err(`${(error as Error).message}\n\n${passwordsUsage}`);
      return 2;
    }
    throw error;
  }
}
