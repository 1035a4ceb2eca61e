import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Locale } from "../config/config.ts";
import type { Deps } from "../deps.ts";
import { ensureCsrfToken } from "../http/csrf.ts";
import { errorStatuses } from "../http/errors.ts";
import { checkFormToken, formField, sendFormExpired, sendPage } from "../http/pages.ts";
import { requestMeta } from "../http/request-context.ts";
import { format } from "../i18n/locale.ts";
import { profileText } from "../i18n/profile-text.ts";
import { csrfField } from "../views/forms.ts";
import { html, type SafeHtml } from "../views/html.ts";
import { findUndo, undoEmailChange } from "./email-change.ts";

const undoPath = "/account/email/undo";

/** The link in the old address's mail: a page that asks (mail scanners open links), then the undo. */
export function registerEmailUndoPage(app: FastifyInstance, deps: Deps): void {
  function render(reply: FastifyReply, locale: Locale, status: number, body: SafeHtml): FastifyReply {
    return sendPage(reply, status, { locale, title: profileText(locale).undo.title, path: undoPath, body });
  }

  function invalid(reply: FastifyReply, locale: Locale, status: number): FastifyReply {
    const t = profileText(locale).undo;
    return render(
      reply,
      locale,
      status,
      html`<div class="card"><h1>${t.title}</h1><p>${t.invalid}</p>
<div class="links"><p><a href="/sign-in">${t.signIn}</a></p></div></div>`,
    );
  }

  app.get(undoPath, async (request: FastifyRequest<{ Querystring: { token?: string } }>, reply) => {
    const locale = request.locale;
    const token = String(request.query.token ?? "").slice(0, 128);
    const found = token ? await findUndo(deps, token) : undefined;
    if (!found?.ok) return invalid(reply, locale, 410);
    const csrf = ensureCsrfToken(request, reply, deps.config, deps.random);
    const t = profileText(locale).undo;
    reply.header("referrer-policy", "no-referrer");
    return render(
      reply,
      locale,
      200,
      html`<div class="card">
<h1>${t.title}</h1>
<p>${format(t.intro, { newEmail: found.newEmail })}</p>
<p>${format(t.effects, { oldEmail: found.oldEmail })}</p>
<form method="post" action="${undoPath}">
  ${csrfField(csrf)}
  <input type="hidden" name="token" value="${token}">
  <button type="submit" class="wide danger">${t.submit}</button>
</form>
</div>`,
    );
  });

  app.post(undoPath, async (request, reply) => {
    const locale = request.locale;
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, locale, "/sign-in");
    const result = await undoEmailChange(
      deps,
      formField(request, "token").slice(0, 128),
      requestMeta(request),
    );
    if (!result.ok) return invalid(reply, locale, errorStatuses[result.code]);
    const t = profileText(locale).undo;
    return render(
      reply,
      locale,
      200,
      html`<div class="card">
<h1>${t.title}</h1>
<p>${format(t.done, { email: result.email })}</p>
<a class="button wide" href="/password-reset">${t.reset}</a>
</div>`,
    );
  });
}
