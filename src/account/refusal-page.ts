import type { FastifyReply } from "fastify";
import type { Locale } from "../config/config.ts";
import { type SupportContact, supportHours } from "../config/support-config.ts";
import { sendPage } from "../http/pages.ts";
import { closingText } from "../i18n/closing-text.ts";
import { formText } from "../i18n/form-text.ts";
import { format } from "../i18n/locale.ts";
import { html, type SafeHtml } from "../views/html.ts";

/**
 * No dead ends: a page that refuses someone says why and where to turn. Suspended and closed
 * accounts (a signed-in person whose session was just refused, or a sign-in with the right
 * password) and a sign-in from a country the shop does not allow each get their own page, with
 * the shop's support contact (MAMORI_SUPPORT_*), never a bare sign-in form.
 */
export type Refusal = "suspended" | "closed" | "country";

/** The support contact as a card: a link, a phone number to tap, the hours. */
export function supportCard(locale: Locale, support: SupportContact): SafeHtml {
  const t = closingText(locale).support;
  const hours = supportHours(support, locale === "ja");
  if (!support.url && !support.phone) return html`<div class="card support"><p>${t.none}</p></div>`;
  return html`<div class="card support">
<h2>${t.title}</h2>
<ul class="plain">
${support.url ? html`<li><a href="${support.url}" rel="noopener">${t.url}</a></li>` : null}
${support.phone ? html`<li><a href="tel:${support.phone.replace(/[^\d+]/g, "")}">${format(t.phone, { phone: support.phone })}</a></li>` : null}
${hours ? html`<li>${format(t.hours, { hours })}</li>` : null}
</ul>
</div>`;
}

export function sendRefusalPage(
  reply: FastifyReply,
  locale: Locale,
  support: SupportContact,
  refusal: Refusal,
  options: { path: string; place?: string | undefined } = { path: "/sign-in" },
): FastifyReply {
  const t = closingText(locale).blocked;
  const [title, text] =
    refusal === "suspended"
      ? [t.suspendedTitle, t.suspendedBody]
      : refusal === "closed"
        ? [t.closedTitle, t.closedBody]
        : [t.countryTitle, t.countryBody];
  const body = html`<div class="card refusal">
<h1>${title}</h1>
<p>${text}</p>
${refusal === "country" && options.place ? html`<p class="hint">${format(t.countryPlace, { place: options.place })}</p>` : null}
</div>
${supportCard(locale, support)}
<p><a href="/help/sign-in#${refusal === "country" ? "country" : "suspended"}">${formText(locale).helpLink}</a></p>
<p><a href="/sign-in">${t.signIn}</a></p>`;
  return sendPage(reply, 403, { locale, title, path: options.path, body });
}
