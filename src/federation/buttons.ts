import type { Config, Locale } from "../config/config.ts";
import { federationText } from "../i18n/federation-text.ts";
import { html, type SafeHtml } from "../views/html.ts";

/**
 * The buttons for each configured provider, on the sign-in and sign-up pages: a form each (POST
 * with the form token, so no other site can start a trip to a provider in someone's browser).
 * Colours follow each provider's button rules (public/mamori.css: LINE green and Yahoo! JAPAN red,
 * each darkened to the 4.5:1 contrast its white label needs; Google's white with a grey border); the
 * wording is each provider's own.
 */
export function federationButtons(
  config: Pick<Config, "federation">,
  locale: Locale,
  csrfToken: string,
  returnTo: string,
  kind: "sign_in" | "sign_up" = "sign_in",
): SafeHtml {
  const providers = config.federation.providers;
  if (providers.length === 0) return html``;
  const text = federationText(locale);
  return html`<div class="federation" aria-label="${text.or}">
<p class="federation-or"><span>${text.or}</span></p>
${providers.map(
  (p) => html`<form method="post" action="/sign-in/federation/${p.name}" class="federation-form">
  <input type="hidden" name="_csrf" value="${csrfToken}">
  <input type="hidden" name="return_to" value="${returnTo}">
  <button type="submit" class="federation-button federation-${p.kind}" data-provider="${p.name}">${kind === "sign_in" ? text.button(p.label) : text.signUpButton(p.label)}</button>
</form>`,
)}
</div>`;
}
