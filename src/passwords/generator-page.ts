import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Locale } from "../config/config.ts";
import type { Deps } from "../deps.ts";
import { ensureCsrfToken } from "../http/csrf.ts";
import { errorMessage } from "../http/errors.ts";
import { checkFormToken, sendFormExpired, sendPage } from "../http/pages.ts";
import {
  type GeneratorText,
  generatorText,
  policyMessage,
  problemMessage,
  strengthName,
} from "../i18n/generator-text.ts";
import { format } from "../i18n/locale.ts";
import { csrfField } from "../views/forms.ts";
import { html, type SafeHtml } from "../views/html.ts";
import {
  allowGeneration,
  defaultCharacterRequest,
  defaultPassphraseRequest,
  type Generated,
  generate,
  passphraseWords,
  type WordListName,
} from "./generation.ts";
import { type CsvWording, formatPasswordList, generatorLimits } from "./generator/index.ts";
import { type GenerationOptions, optionsFromStrings, withDefaults } from "./generator-request.ts";

export const generatorPagePath = "/tools/password-generator";

type PageState = {
  options: GenerationOptions;
  generated?: Generated;
  error?: string;
  /** Opened from a new-password field ("?use=1"): rows get "Use this password". */
  forForm: boolean;
};

function checkbox(name: string, label: string, checked: boolean | undefined): SafeHtml {
  return html`<div class="checkbox"><input type="checkbox" id="${name}" name="${name}" value="on"${checked ? html` checked` : null}><label for="${name}">${label}</label></div>`;
}

function numberField(
  name: string,
  label: string,
  value: number | undefined,
  min: number,
  max: number,
): SafeHtml {
  return html`<div class="field"><label for="${name}">${label}</label><input id="${name}" name="${name}" type="number" inputmode="numeric" min="${min}" max="${max}" value="${value ?? ""}"></div>`;
}

function textField(name: string, label: string, value: string | undefined, maxlength: number): SafeHtml {
  return html`<div class="field"><label for="${name}">${label}</label><input id="${name}" name="${name}" type="text" autocomplete="off" spellcheck="false" maxlength="${maxlength}" value="${value ?? ""}"></div>`;
}

function radio(name: string, value: string, label: string, checked: boolean): SafeHtml {
  return html`<div class="checkbox"><input type="radio" id="${name}-${value}" name="${name}" value="${value}"${checked ? html` checked` : null}><label for="${name}-${value}">${label}</label></div>`;
}

/** Bits a word of a list of `count`, as said on the page: 11 for 2,048, 12.9 for 7,776. */
function bitsPerWord(count: number): number {
  return Number(Math.log2(count).toFixed(1));
}

/** Japanese words on the Japanese page, English on the English one, unless chosen. */
function wordListChoice(text: GeneratorText, chosen: WordListName): SafeHtml {
  const lists = [
    ["romaji", text.wordListRomaji, passphraseWords("romaji").length],
    ["english", text.wordListEnglish, passphraseWords("english").length],
  ] as const;
  return html`<fieldset class="choices"><legend>${text.wordList}</legend>
    ${lists.map(([name, label, count]) => radio("wordList", name, format(label, { count: count.toLocaleString("en"), bits: bitsPerWord(count) }), chosen === name))}
  </fieldset>`;
}

function optionsForm(text: GeneratorText, locale: Locale, state: PageState, csrfToken: string): SafeHtml {
  const o = state.options;
  const c = { ...defaultCharacterRequest, ...withDefaults({ ...o, mode: "characters" }) };
  const p = { ...defaultPassphraseRequest, ...withDefaults({ ...o, mode: "passphrase" }) };
  const passphrase = o.mode === "passphrase";
  const { minLength, maxLength, maxCount, minWords, maxWords, maxSeparatorLength } = generatorLimits;
  return html`<form method="post" action="${generatorPagePath}${state.forForm ? "?use=1" : ""}" id="generator-form" novalidate>
  ${csrfField(csrfToken)}
  <fieldset class="choices"><legend>${text.mode}</legend>
    <div class="checkbox"><input type="radio" id="mode-characters" name="mode" value="characters"${passphrase ? null : html` checked`}><label for="mode-characters">${text.modeCharacters}</label></div>
    <div class="checkbox"><input type="radio" id="mode-passphrase" name="mode" value="passphrase"${passphrase ? html` checked` : null}><label for="mode-passphrase">${text.modePassphrase}</label></div>
  </fieldset>
  <fieldset class="choices" id="characters-options"><legend>${text.modeCharacters}</legend>
    ${numberField("length", format(text.length, { min: minLength, max: maxLength }), c.length, minLength, maxLength)}
    ${checkbox("uppercase", text.uppercase, c.uppercase)}
    ${checkbox("lowercase", text.lowercase, c.lowercase)}
    ${checkbox("digits", text.digits, c.digits)}
    ${numberField("minDigits", text.minDigits, c.minDigits, 0, maxLength)}
    ${checkbox("symbols", text.symbols, c.symbols)}
    ${textField("symbolSet", text.symbolSet, c.symbolSet, 64)}
    ${numberField("minSymbols", text.minSymbols, c.minSymbols, 0, maxLength)}
    ${checkbox("excludeAmbiguous", text.excludeAmbiguous, c.excludeAmbiguous)}
    ${textField("exclude", text.exclude, c.exclude, 256)}
  </fieldset>
  <fieldset class="choices" id="passphrase-options"><legend>${text.modePassphrase}</legend>
    ${wordListChoice(text, o.wordList ?? (locale === "ja" ? "romaji" : "english"))}
    ${numberField("words", format(text.words, { min: minWords, max: maxWords }), p.words, minWords, maxWords)}
    ${textField("separator", text.separator, p.separator, maxSeparatorLength)}
    ${checkbox("capitalize", text.capitalize, p.capitalize)}
    ${checkbox("includeNumber", text.includeNumber, p.includeNumber)}
  </fieldset>
  ${numberField("count", format(text.count, { max: maxCount }), o.count ?? defaultCharacterRequest.count, 1, maxCount)}
  <button type="submit" class="wide">${text.generate}</button>
</form>`;
}

function dataUrl(content: string, type: string): string {
  return `data:${type};charset=utf-8,${encodeURIComponent(content)}`;
}

/** The page's CSV: its language's column names and strength words, with a byte order mark for Excel. */
export function pageCsvWording(locale: Locale): CsvWording {
  return {
    headers: generatorText(locale).csvHeaders,
    strengthName: (label) => strengthName(label, locale),
    byteOrderMark: true,
  };
}

/** "How hard to guess: Very strong (about 104 bits)", then what bits mean in plain words. */
function strengthSummary(text: GeneratorText, locale: Locale, generated: Generated): SafeHtml {
  const label = strengthName(generated.strength, locale);
  const bits = Math.round(generated.entropyBits);
  return html`<p class="strength-summary">${format(text.entropy, { label, bits })}</p>
<p class="hint">${text.entropyExplained}</p>`;
}

/**
 * The list: one password a row, never broken across lines, and the downloads. Rows get their
 * buttons (copy, "use this password") from the script: without JavaScript neither would work.
 */
function results(text: GeneratorText, locale: Locale, state: PageState): SafeHtml | null {
  const generated = state.generated;
  if (!generated) return null;
  const csv = formatPasswordList(generated.passwords, generated.entropyBits, "csv", pageCsvWording(locale));
  return html`<h2 id="results-title">${text.results}</h2>
${strengthSummary(text, locale, generated)}
<p class="${generated.policy.ok ? "notice" : "note"}">${policyMessage(generated.policy, locale)}</p>
<table class="passwords" aria-labelledby="results-title">
<thead><tr><th scope="col">${text.password}</th></tr></thead>
<tbody>
${generated.passwords.map((password) => html`<tr class="password-row"><td class="password-cell"><code class="password">${password}</code></td></tr>`)}
</tbody>
</table>
<p class="downloads"><a download="passwords.txt" href="${dataUrl(formatPasswordList(generated.passwords, generated.entropyBits, "txt"), "text/plain")}">${text.downloadTxt}</a>
<a download="passwords.csv" href="${dataUrl(csv, "text/csv")}">${text.downloadCsv}</a></p>`;
}

function sendGeneratorPage(
  request: FastifyRequest,
  reply: FastifyReply,
  deps: Deps,
  status: number,
  state: PageState,
): FastifyReply {
  const locale = request.locale;
  const text = generatorText(locale);
  const csrfToken = ensureCsrfToken(request, reply, deps.config, deps.random);
  // What the script needs to word its own results and refusals: the same words as the server's.
  const scriptText = {
    strength: text.strength,
    problems: text.problems,
    classNames: text.classNames,
    entropy: text.entropy,
    entropyExplained: text.entropyExplained,
    csvHeaders: text.csvHeaders,
    actions: text.actions,
    fitsPolicy: text.fitsPolicy,
    tooShort: text.tooShort,
    tooWeak: text.tooWeak,
    copy: text.copy,
    copied: text.copied,
    use: text.use,
    used: text.used,
    results: text.results,
    password: text.password,
    downloadTxt: text.downloadTxt,
    downloadCsv: text.downloadCsv,
  };
  const body = html`<div class="card generator" id="generator" data-text="${JSON.stringify(scriptText)}" data-policy-min-length="${deps.config.limits.passwordMinLength}"${state.forForm ? html` data-for-form="1"` : null}>
<h1>${text.title}</h1>
<p id="generator-in-browser" hidden>${format(text.intro, { shop: request.brand.name })}</p>
<p id="generator-no-script">${text.introNoScript}</p>
${state.error ? html`<div class="error-summary" role="alert" tabindex="-1" id="error-summary"><p>${state.error}</p></div>` : null}
${optionsForm(text, locale, state, csrfToken)}
<section id="generator-results" aria-live="polite">
${results(text, locale, state)}
</section>
<p class="hint" id="generator-copy-hint" hidden>${text.copyHint}</p>
</div>
<script type="module" src="/assets/password-generator-page.js"></script>`;
  return sendPage(reply, status, { locale, title: text.title, path: generatorPagePath, body });
}

/**
 * /tools/password-generator. With JavaScript the page generates in the browser (the form never
 * leaves it); without, the form posts here and the list comes back `no-store`, never logged.
 */
export function registerPasswordGeneratorPage(app: FastifyInstance, deps: Deps): void {
  app.get(generatorPagePath, async (request, reply) => {
    const forForm = (request.query as Record<string, unknown>).use === "1";
    return sendGeneratorPage(request, reply, deps, 200, { options: {}, forForm });
  });

  app.post(generatorPagePath, async (request, reply) => {
    if (!checkFormToken(request, deps.config))
      return sendFormExpired(reply, request.locale, generatorPagePath);
    const forForm = (request.query as Record<string, unknown>).use === "1";
    const body = (request.body ?? {}) as Record<string, unknown>;
    const values = Object.fromEntries(
      Object.entries(body).filter((entry): entry is [string, string] => typeof entry[1] === "string"),
    );
    const refused = await allowGeneration(deps, request.ip);
    if (refused) {
      const error = errorMessage(refused.code, request.locale, refused.details);
      reply.header("retry-after", String(refused.details.retryAfterSeconds ?? 60));
      return sendGeneratorPage(request, reply, deps, 429, { options: {}, error, forForm });
    }
    const parsed = optionsFromStrings(values, true);
    if (!parsed.ok) {
      const error = problemMessage(parsed.problem, request.locale);
      return sendGeneratorPage(request, reply, deps, 400, { options: {}, error, forForm });
    }
    const result = generate(withDefaults(parsed.options), deps.config.limits);
    if (!result.ok) {
      const error = problemMessage(result.problem, request.locale);
      return sendGeneratorPage(request, reply, deps, 400, { options: parsed.options, error, forForm });
    }
    return sendGeneratorPage(request, reply, deps, 200, {
      options: parsed.options,
      generated: result.generated,
      forForm,
    });
  });
}
