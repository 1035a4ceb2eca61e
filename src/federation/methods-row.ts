import type { Locale } from "../config/config.ts";
import { federationText } from "../i18n/federation-text.ts";
import { html, type SafeHtml } from "../views/html.ts";

/** Login & security's row for ログイン方法 (./methods-page.ts). */
export function signInMethodsRow(locale: Locale): SafeHtml {
  const t = federationText(locale);
  return html`<div><dt>${t.methodsTitle}</dt><dd>${t.methodsSummary} <a class="edit" href="/account/security/sign-in-methods" aria-label="${t.manageLabel}">${t.manage}</a></dd></div>`;
}
