import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Locale } from "../../config/config.ts";
import type { Deps } from "../../deps.ts";
import { findMethod, type MethodRow } from "../../factors/two-step/methods.ts";
import { errorMessage, errorStatuses } from "../../http/errors.ts";
import { checkFormToken, formField, sendFormExpired } from "../../http/pages.ts";
import { renewCookieSession } from "../../http/request-context.ts";
import { format } from "../../i18n/locale.ts";
import { twoStepText } from "../../i18n/two-step-text.ts";
import { isRecentlyAuthenticated } from "../../session/sessions.ts";
import { csrfField, errorSummary, field } from "../../views/forms.ts";
import { html } from "../../views/html.ts";
import { reauthenticateWithPassword } from "../reauthentication/reauthentication.ts";
import { requireStepUp, type SettingsContext } from "./guards.ts";
import {
  type FormState,
  guardRedirect,
  methodName,
  methodPath,
  pageGuard,
  type SettingsPage,
  sendSettingsPage,
  settingsPage,
  twoStepPath,
  withRetryAfter,
} from "./pages-shared.ts";
import { disableTwoStep, removeMethod } from "./two-step-settings.ts";

/**
 * Removing a backup (a confirmation page, then the POST) and turning two-step off: "Disable" on
 * the settings page -> this confirmation page -> "Disable" again, with the password when the
 * sign-in is older than the reauthentication window -> "Two-step verification is off".
 */
type IdRequest = FastifyRequest<{ Params: { id: string } }>;

const disablePath = `${twoStepPath}/disable`;

function removePath(id: string): string {
  return `${methodPath(id)}/remove`;
}

function renderRemove(
  reply: FastifyReply,
  locale: Locale,
  page: SettingsPage,
  status: number,
  view: { method: MethodRow; form: FormState },
): FastifyReply {
  const t = twoStepText(locale).remove;
  const action = removePath(view.method.id);
  const body = html`<div class="card">
<h1>${t.title}</h1>
${errorSummary(locale, view.form.errors, view.form.general, undefined, view.form.problem)}
<p>${format(t.question, { method: methodName(locale, view.method) })}</p>
<p class="hint">${t.note}</p>
<form method="post" action="${action}">
  ${csrfField(page.csrfToken)}
  <button type="submit" class="danger wide">${t.submit}</button>
</form>
<div class="links"><p><a href="${twoStepPath}">${t.cancel}</a></p></div>
</div>`;
  return sendSettingsPage(reply, page, locale, status, { title: t.title, path: action, body });
}

/** The confirmation page: what turning off removes, and the password when the sign-in is old. */
function renderDisable(
  reply: FastifyReply,
  locale: Locale,
  page: SettingsPage,
  status: number,
  view: { needsPassword: boolean; form: FormState },
): FastifyReply {
  const t = twoStepText(locale).disable;
  const body = html`<div class="card">
<h1>${t.title}</h1>
${errorSummary(locale, view.form.errors, view.form.general, undefined, view.form.problem)}
<p><strong>${t.question}</strong></p>
<p>${t.consequences}</p>
<form method="post" action="${disablePath}" novalidate>
  ${csrfField(page.csrfToken)}
  <input type="hidden" name="confirm" value="1">
  ${view.needsPassword ? field({ name: "password", label: t.password, hint: t.passwordHint, type: "password", locale, autocomplete: "current-password", required: true, autofocus: true, maxlength: 4096, errors: view.form.errors }) : null}
  <button type="submit" class="danger wide">${t.submit}</button>
</form>
<div class="links"><p><a href="${twoStepPath}">${t.cancel}</a></p></div>
</div>`;
  return sendSettingsPage(reply, page, locale, status, { title: t.title, path: disablePath, body });
}

export function registerTwoStepManagePages(app: FastifyInstance, deps: Deps): void {
  const window = deps.config.limits.reauthenticationWindowSeconds;
  const isRecent = (page: SettingsPage): boolean =>
    isRecentlyAuthenticated(page.auth.session, deps.clock.now(), window);

  async function activeBackup(page: SettingsPage, id: string): Promise<MethodRow | undefined> {
    const row = await findMethod(deps.db, page.auth.account.id, id.slice(0, 64));
    return row?.state === "active" && row.role === "backup" ? row : undefined;
  }

  app.get(`${twoStepPath}/methods/:id/remove`, async (request: IdRequest, reply) => {
    const page = await settingsPage(deps, request, reply);
    if (!page) return reply;
    const method = await activeBackup(page, request.params.id);
    if (!method) return reply.redirect(twoStepPath, 303);
    const guard = pageGuard(page.ctx, removePath(method.id), true);
    if (guard) return reply.redirect(guard, 303);
    return renderRemove(reply, request.locale, page, 200, { method, form: { errors: {} } });
  });

  app.post(`${twoStepPath}/methods/:id/remove`, async (request: IdRequest, reply) => {
    if (!checkFormToken(request, deps.config))
      return sendFormExpired(reply, request.locale, removePath(request.params.id));
    const page = await settingsPage(deps, request, reply);
    if (!page) return reply;
    // The account's language, now that the session is loaded.
    const locale = request.locale;
    const method = await activeBackup(page, request.params.id);
    if (!method) return reply.redirect(twoStepPath, 303);
    const result = await removeMethod(page.ctx, method.id);
    if (result.ok) return reply.redirect(`${twoStepPath}?done=removed`, 303);
    const guard = guardRedirect(result, removePath(method.id));
    if (guard) return reply.redirect(guard, 303);
    return renderRemove(withRetryAfter(reply, result), locale, page, errorStatuses[result.code], {
      method,
      form: { errors: {}, general: errorMessage(result.code, locale, result) },
    });
  });

  app.get(disablePath, async (request, reply) => {
    const page = await settingsPage(deps, request, reply);
    if (!page) return reply;
    if (!page.auth.account.two_step_enabled_at) return reply.redirect(twoStepPath, 303);
    // A password alone never turns two-step off: a code (or a passkey) first, then the confirmation.
    const stepUp = requireStepUp(page.ctx);
    const guard = stepUp && guardRedirect(stepUp, disablePath);
    if (guard) return reply.redirect(guard, 303);
    return renderDisable(reply, request.locale, page, 200, {
      needsPassword: !isRecent(page),
      form: { errors: {} },
    });
  });

  app.post(disablePath, async (request, reply) => {
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, request.locale, disablePath);
    const page = await settingsPage(deps, request, reply);
    if (!page) return reply;
    // The account's language, now that the session is loaded.
    const locale = request.locale;
    if (!page.auth.account.two_step_enabled_at) return reply.redirect(twoStepPath, 303);
    const t = twoStepText(locale).disable;
    const needsPassword = !isRecent(page);
    const show = (status: number, form: FormState): FastifyReply =>
      renderDisable(reply, locale, page, status, { needsPassword, form });
    // The first "Disable" (on the settings page, or a form without the confirmation) only leads here.
    const confirmed = formField(request, "confirm") === "1";
    let ctx: SettingsContext = page.ctx;
    if (confirmed && needsPassword) {
      const password = formField(request, "password").slice(0, 4096);
      if (!password) return show(400, { errors: { password: t.passwordMissing } });
      const proven = await reauthenticateWithPassword(deps, page.auth, password, page.ctx.meta);
      if (proven.ok) await renewCookieSession(request, reply, deps);
      if (!proven.ok) {
        withRetryAfter(reply, proven);
        if (proven.code === "invalid_credentials")
          return show(errorStatuses[proven.code], { errors: { password: t.wrongPassword } });
        return show(errorStatuses[proven.code], {
          errors: {},
          general: errorMessage(proven.code, locale, proven),
        });
      }
      // The session row now says "just authenticated"; this request's copy is from before.
      ctx = {
        ...ctx,
        auth: { ...ctx.auth, session: { ...ctx.auth.session, authenticated_at: proven.authenticatedAt } },
      };
    }
    const result = await disableTwoStep(ctx, confirmed);
    if (result.ok) return reply.redirect(`${twoStepPath}?done=disabled`, 303);
    if (result.code === "two_step_not_enabled") return reply.redirect(twoStepPath, 303);
    if (result.code === "reauthentication_required") {
      // Only when the window closed between the page and the POST: ask for the password here.
      return renderDisable(reply, locale, page, 403, {
        needsPassword: true,
        form: { errors: {}, general: errorMessage(result.code, locale, result) },
      });
    }
    const general = errorMessage(result.code, locale, result);
    const guard = guardRedirect(result, disablePath);
    if (guard) return reply.redirect(guard, 303);
    return show(errorStatuses[result.code], { errors: {}, general });
  });
}
