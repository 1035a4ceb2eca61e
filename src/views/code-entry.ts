import type { Locale } from "../config/config.ts";
import type { ErrorCode } from "../http/errors.ts";
import { format } from "../i18n/locale.ts";
import { formatDateTime, pageText } from "../i18n/page-text.ts";
import { csrfField, errorSummary, type FieldErrors, field } from "./forms.ts";
import { html, type SafeHtml } from "./html.ts";

/**
 * The "enter the security code" card that recovery flows share: what was sent and where, the
 * 6-digit field (numeric keyboard, one-time-code autofill, the expiry in its hint), a resend form,
 * and a way to start again. Each flow gives its own words for what was sent.
 */
export type CodeEntry = {
  locale: Locale;
  csrfToken: string;
  /** Where the code is posted; the resend form posts to `${action}/resend`. */
  action: string;
  expiresAt: string;
  /** "We sent a code to your email / by SMS…" */
  intro: string;
  /** "Didn't get the mail / the text?" */
  resendHint: string;
  startAgainPath: string;
  errors: FieldErrors;
  general?: string | undefined;
  /** The general error's code, for the summary's heading (a cooldown is not a typing slip). */
  problem?: ErrorCode | undefined;
};

export function codeEntryCard(entry: CodeEntry): SafeHtml {
  const text = pageText(entry.locale).passwordReset;
  const hint = format(text.codeHint, { time: formatDateTime(entry.expiresAt, entry.locale) });
  return html`<div class="card">
<h1>${text.codeTitle}</h1>
${errorSummary(entry.locale, entry.errors, entry.general, undefined, entry.problem)}
<p>${entry.intro}</p>
<form method="post" action="${entry.action}" novalidate>
  ${csrfField(entry.csrfToken)}
  ${field({ name: "code", label: text.code, hint, autocomplete: "one-time-code", inputmode: "numeric", required: true, autofocus: true, maxlength: 12, errors: entry.errors })}
  <button type="submit" class="wide">${text.codeSubmit}</button>
</form>
<form method="post" action="${entry.action}/resend" class="links">
  ${csrfField(entry.csrfToken)}
  <p class="hint">${entry.resendHint}</p>
  <button type="submit" class="secondary">${text.resend}</button>
</form>
<div class="links"><p><a href="${entry.startAgainPath}">${text.startAgain}</a></p></div>
</div>`;
}
