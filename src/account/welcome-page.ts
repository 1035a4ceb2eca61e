import type { FastifyInstance } from "fastify";
import type { Deps } from "../deps.ts";
import { passkeysPath } from "../flows/passkeys/pages.ts";
import { sendPage, signedInPage } from "../http/pages.ts";
import { format } from "../i18n/locale.ts";
import { profileText } from "../i18n/profile-text.ts";
import { html } from "../views/html.ts";

/** After registration: the next safe steps (2段階認証, a passkey, the mobile number), each skippable. */
export function registerWelcomePage(app: FastifyInstance, deps: Deps): void {
  app.get("/account/welcome", async (request, reply) => {
    const page = await signedInPage(deps, request, reply);
    if (!page) return reply;
    const locale = request.locale;
    const t = profileText(locale).welcome;
    const account = page.auth.account;
    const body = html`<h1>${t.title}</h1>
<p>${format(t.hello, { name: account.name })}</p>
<p>${t.intro}</p>
<div class="card menu">
  ${account.two_step_enabled_at ? null : html`<a href="/account/security/two-step">${t.twoStep}<p>${t.twoStepHint}</p></a>`}
  <a href="${passkeysPath}">${t.passkey}<p>${t.passkeyHint}</p></a>
  ${account.phone_verified_at ? null : html`<a href="/account/security/phone">${t.phone}<p>${t.phoneHint}</p></a>`}
</div>
<p><a href="/account">${t.later}</a></p>`;
    return sendPage(reply, 200, {
      locale,
      title: t.title,
      path: "/account/welcome",
      body,
      signedIn: { name: account.name, csrfToken: page.csrfToken },
    });
  });
}
