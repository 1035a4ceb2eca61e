import type { FastifyInstance } from "fastify";
import { supportCard } from "../account/refusal-page.ts";
import type { Deps } from "../deps.ts";
import { sendPage } from "../http/pages.ts";
import { helpText } from "../i18n/help-text.ts";
import { html } from "../views/html.ts";

export const signInHelpPath = "/help/sign-in";

/**
 * "Why can't I log in?": one section per reason (wrong password, forgotten email or password, no
 * phone for two-step, suspended or closed, maintenance, country, too many attempts), each with what
 * to do and the page that does it, and the shop's support contact. The sign-in page links here,
 * and its error messages link to their own section (#wrong-password, #too-many-attempts).
 */
export function registerSignInHelpPage(app: FastifyInstance, deps: Deps): void {
  app.get(signInHelpPath, async (request, reply) => {
    const locale = request.locale;
    const text = helpText(locale);
    const body = html`<h1>${text.title}</h1>
<p>${text.intro}</p>
<nav aria-label="${text.title}"><ul class="plain">
${text.sections.map((section) => html`<li><a href="#${section.id}">${section.title}</a></li>`)}
</ul></nav>
${text.sections.map(
  (section) => html`<section class="card" id="${section.id}" aria-labelledby="${section.id}-title">
<h2 id="${section.id}-title">${section.title}</h2>
<p>${section.body}</p>
${section.link ? html`<p><a href="${section.link.href}">${section.link.text}</a></p>` : null}
</section>`,
)}
<p>${text.support}</p>
${supportCard(locale, deps.config.support)}
<p><a href="/sign-in">${text.back}</a></p>`;
    return sendPage(reply, 200, { locale, title: text.title, path: signInHelpPath, body });
  });
}
