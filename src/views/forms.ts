import type { Locale } from "../config/config.ts";
import type { ErrorCode } from "../http/errors.ts";
import { formText, problemHeading } from "../i18n/form-text.ts";
import { generatorText } from "../i18n/generator-text.ts";
import { pageText } from "../i18n/page-text.ts";
import { strengthText } from "../i18n/strength-text.ts";
import { html, type SafeHtml } from "./html.ts";

/** A field's error, as shown beside it and in the summary at the top of the form. */
export type FieldErrors = Record<string, string>;

export type FieldOptions = TextFieldOptions | PasswordFieldOptions;

type TextFieldOptions = CommonFieldOptions & { type?: "text" | "email" | "tel" };

/** A password field: mamori.js adds its 表示 toggle, in the page's language. */
type PasswordFieldOptions = CommonFieldOptions & {
  type: "password";
  locale: Locale;
  /**
   * Typed back into the field when the form is shown again (never for a password that was just
   * refused as wrong): the new password of a change refused for a wrong current one.
   */
  keepValue?: boolean;
};

type CommonFieldOptions = {
  name: string;
  label: string;
  value?: string;
  hint?: string;
  autocomplete?: string;
  inputmode?: "numeric" | "email" | "tel" | "text";
  required?: boolean;
  autofocus?: boolean;
  maxlength?: number;
  pattern?: string;
  errors: FieldErrors;
  /** A new password: mamori.js adds a live strength meter (the server's policy still decides). */
  strength?: StrengthMeterOptions;
};

export type StrengthMeterOptions = {
  locale: Locale;
  /** Other fields of the form whose values count as the person's words (name, email). */
  fields?: readonly string[];
  /** The person's words the page already knows (a signed-in person's name and email). */
  userInputs?: readonly string[];
};

/** A labelled input with its hint and error tied to it by aria-describedby. */
export function field(o: FieldOptions): SafeHtml {
  const error = o.errors[o.name];
  const hintId = `${o.name}-hint`;
  const errorId = `${o.name}-error`;
  const describedBy = [o.hint ? hintId : "", error ? errorId : ""].filter(Boolean).join(" ");
  const password = o.type === "password" ? o : undefined;
  const shown = o.value !== undefined && (password === undefined || password.keepValue === true);
  return html`<div class="field${error ? " has-error" : ""}">
  <label for="${o.name}">${o.label}</label>
  ${o.hint ? html`<p class="hint" id="${hintId}">${o.hint}</p>` : null}
  ${error ? html`<p class="error" id="${errorId}">${error}</p>` : null}
  <input id="${o.name}" name="${o.name}" type="${o.type ?? "text"}"${shown ? html` value="${o.value}"` : null}${o.autocomplete ? html` autocomplete="${o.autocomplete}"` : null}${o.inputmode ? html` inputmode="${o.inputmode}"` : null}${o.required ? html` required` : null}${o.autofocus && !error ? html` autofocus` : null}${o.maxlength ? html` maxlength="${o.maxlength}"` : null}${o.pattern ? html` pattern="${o.pattern}"` : null}${describedBy ? html` aria-describedby="${describedBy}"` : null}${error ? html` aria-invalid="true"` : null}${o.strength ? strengthAttributes(o.name, o.strength) : null}${o.strength && password ? html` data-generated-notice="${formText(password.locale).generatedSave}"` : null}>
  ${password ? passwordToggle(password.locale, o.name) : null}
  ${o.strength ? strengthMeter(o.name, o.strength.locale) : null}
  ${o.strength ? html`<p class="generator-link"><a href="/tools/password-generator?use=1" target="_blank">${generatorText(o.strength.locale).link}</a></p>` : null}
</div>`;
}

/**
 * The 表示 button of a password field (the markup every password field shares, the staff console's
 * too): hidden until mamori.js wires it, so without JavaScript there is no button that does
 * nothing. A toggle button: its name stays 「パスワードを表示」 and aria-pressed says whether the
 * password shows (type=text) or not (type=password).
 */
export function passwordToggle(locale: Locale, inputId: string): SafeHtml {
  const t = formText(locale);
  return html`<button type="button" class="secondary password-toggle" data-password-toggle="${inputId}" aria-controls="${inputId}" aria-pressed="false" aria-label="${t.showPassword}" hidden>${t.show}</button>`;
}

function strengthAttributes(name: string, options: StrengthMeterOptions): SafeHtml {
  return html` data-strength="${name}-strength"${options.fields?.length ? html` data-strength-fields="${options.fields.join(" ")}"` : null}${options.userInputs?.length ? html` data-strength-inputs="${JSON.stringify(options.userInputs)}"` : null}`;
}

/**
 * Where mamori.js shows a password's strength: a bar (its width and colour are the classes
 * .strength-0 … .strength-4, never an inline style) and one polite live region with the label,
 * the crack time and the first advice. Empty without JavaScript; the words come from here, so
 * the script holds no language of its own.
 */
function strengthMeter(name: string, locale: Locale): SafeHtml {
  const text = strengthText(locale);
  return html`<div class="strength" id="${name}-strength" data-labels="${JSON.stringify(text.labels)}" data-refused="${text.refused}" data-crack-time="${text.crackTime}">
    <div class="strength-bar" hidden><span></span></div>
    <div class="strength-text" aria-live="polite" aria-atomic="true"></div>
  </div>`;
}

/**
 * The error summary at the top of a form: focused first, each error links to its field. A general
 * error (not about one field) links to `generalField` when given, e.g. "email or password is
 * incorrect" to the password field, which is empty again and must be filled in.
 * Its heading says what happened: 「入力内容を確認してください」 only for a mistake in what was
 * typed; `problem` (the general error's code) gives a lockout, a cooldown, a suspension or a
 * country refusal its own heading (src/i18n/form-text.ts).
 */
export function errorSummary(
  locale: Locale,
  errors: FieldErrors,
  general?: string,
  generalField?: string,
  problem?: ErrorCode,
): SafeHtml | null {
  const entries = Object.entries(errors);
  if (entries.length === 0 && !general) return null;
  return html`<div class="error-summary" role="alert" tabindex="-1" id="error-summary">
  <h2>${problemHeading(locale, problem) ?? pageText(locale).errorSummaryTitle}</h2>
  <ul>
    ${general ? html`<li>${generalField ? html`<a href="#${generalField}">${general}</a>` : general}</li>` : null}
    ${entries.map(([name, message]) => html`<li><a href="#${name}">${message}</a></li>`)}
  </ul>
</div>`;
}

export function csrfField(token: string): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${token}">`;
}
