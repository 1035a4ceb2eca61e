import type { FastifyInstance, FastifyReply } from "fastify";
import type { Locale } from "../config/config.ts";
import type { Deps } from "../deps.ts";
import {
  guardRedirect,
  pageGuard,
  type SettingsPage,
  sendSettingsPage,
  settingsPage,
} from "../flows/two-step-settings/pages-shared.ts";
import { errorMessage, errorStatuses } from "../http/errors.ts";
import { checkFormToken, formField, sendFormExpired, sendPage } from "../http/pages.ts";
import { clearSessionCookie } from "../http/request-context.ts";
import { closingText } from "../i18n/closing-text.ts";
import { format } from "../i18n/locale.ts";
import { formatDateTime } from "../i18n/page-text.ts";
import { csrfField, errorSummary, type FieldErrors } from "../views/forms.ts";
import { html, type SafeHtml } from "../views/html.ts";
import { settingRow } from "../views/setting-row.ts";
import { closeOwnAccount } from "./closing.ts";
import { exportForOwner } from "./closing-routes.ts";
import { renderDataExportHtml } from "./data-export-html.ts";
import { supportCard } from "./refusal-page.ts";

/**
 * Login & security -> データのダウンロード and アカウントの閉鎖 (no JavaScript needed): each page
 * first sends the person through the password page (a sign-in older than the window) and, for
 * closing while two-step is on, the step-up page, then comes back. Closing shows what it does and
 * needs a ticked confirmation; the account closes at once and the browser is signed out.
 */
export const closePath = "/account/security/close";
export const dataPath = "/account/security/data";
const jsonPath = `${dataPath}/export.json`;
const htmlPath = `${dataPath}/export.html`;

/** The two rows this flow adds to Login & security. */
export function closingRows(locale: Locale): SafeHtml {
  const t = closingText(locale).rows;
  return html`${settingRow(t.data, t.dataHint, { href: dataPath, text: t.download, label: t.downloadLabel })}
  ${settingRow(t.close, t.closeHint, { href: closePath, text: t.closeLink, label: t.closeLabel })}`;
}

function graceDays(deps: Deps): number {
  return Math.max(1, Math.round(deps.config.limits.accountErasureGraceSeconds / 86_400));
}

function renderClose(
  reply: FastifyReply,
  deps: Deps,
  locale: Locale,
  page: SettingsPage,
  status: number,
  errors: FieldErrors,
  general?: string,
): FastifyReply {
  const t = closingText(locale).close;
  const days = graceDays(deps);
  const body = html`<div class="card">
<h1>${t.title}</h1>
${errorSummary(locale, errors, general)}
<p><strong>${t.lead}</strong></p>
<ul>${t.consequences.map((line) => html`<li>${format(line, { days })}</li>`)}</ul>
<p>${t.dataFirst} <a href="${dataPath}">${closingText(locale).rows.data}</a></p>
<form method="post" action="${closePath}" novalidate>
  ${csrfField(page.csrfToken)}
  <div class="checkbox${errors.confirm ? " has-error" : ""}"><input type="checkbox" id="confirm" name="confirm" value="1"${errors.confirm ? html` aria-invalid="true" aria-describedby="confirm-error"` : null}><label for="confirm">${t.confirm}${errors.confirm ? html`<br><span class="error" id="confirm-error">${errors.confirm}</span>` : null}</label></div>
  <button type="submit" class="danger wide">${t.submit}</button>
</form>
<div class="links"><p><a href="/account/security">${t.cancel}</a></p></div>
</div>`;
  return sendSettingsPage(reply, page, locale, status, { title: t.title, path: closePath, body });
}

export function registerAccountClosingPages(app: FastifyInstance, deps: Deps): void {
  app.get(closePath, async (request, reply) => {
    const page = await settingsPage(deps, request, reply);
    if (!page) return reply;
    const guard = pageGuard(page.ctx, closePath, true);
    if (guard) return reply.redirect(guard, 303);
    return renderClose(reply, deps, request.locale, page, 200, {});
  });

  app.post(closePath, async (request, reply) => {
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, request.locale, closePath);
    const page = await settingsPage(deps, request, reply);
    if (!page) return reply;
    // The account's language, now that the session is loaded.
    const locale = request.locale;
    const confirmed = formField(request, "confirm") === "1";
    const result = await closeOwnAccount(deps, page.auth, confirmed, page.ctx.meta);
    if (!result.ok) {
      const guard = guardRedirect(result, closePath);
      if (guard) return reply.redirect(guard, 303);
      if (result.code === "confirmation_required")
        return renderClose(reply, deps, locale, page, 400, {
          confirm: closingText(locale).close.confirmMissing,
        });
      return renderClose(
        reply,
        deps,
        locale,
        page,
        errorStatuses[result.code],
        {},
        errorMessage(result.code, locale),
      );
    }
    clearSessionCookie(reply, deps.config);
    const t = closingText(locale).closed;
    const body = html`<div class="card">
<h1>${t.title}</h1>
<p>${t.body}</p>
<p>${format(t.erase, { date: formatDateTime(result.eraseAfter, locale) })}</p>
</div>
${supportCard(locale, deps.config.support)}
<p><a href="/sign-in">${t.home}</a></p>`;
    return sendPage(reply, 200, { locale, title: t.title, path: closePath, body });
  });

  app.get(dataPath, async (request, reply) => {
    const page = await settingsPage(deps, request, reply);
    if (!page) return reply;
    const guard = pageGuard(page.ctx, dataPath, false);
    if (guard) return reply.redirect(guard, 303);
    const t = closingText(request.locale).data;
    const body = html`<div class="card">
<h1>${t.title}</h1>
<p>${t.intro}</p>
<ul class="plain">
  <li><a class="button wide" href="${htmlPath}" download>${t.html}</a><p class="hint">${t.htmlHint}</p></li>
  <li><a class="button secondary wide" href="${jsonPath}" download>${t.json}</a><p class="hint">${t.jsonHint}</p></li>
</ul>
<div class="links"><p><a href="/account/security">${t.back}</a></p></div>
</div>`;
    return sendSettingsPage(reply, page, request.locale, 200, { title: t.title, path: dataPath, body });
  });

  for (const [path, kind] of [
    [jsonPath, "json"],
    [htmlPath, "html"],
  ] as const) {
    app.get(path, async (request, reply) => {
      const page = await settingsPage(deps, request, reply);
      if (!page) return reply;
      const exported = await exportForOwner(deps, page.auth, page.ctx.meta);
      if (!exported.ok) return reply.redirect(guardRedirect(exported.failure, dataPath) ?? dataPath, 303);
      const day = exported.data.exportedAt.slice(0, 10);
      reply
        .header("cache-control", "no-store")
        .header("content-disposition", `attachment; filename="account-data-${day}.${kind}"`);
      if (kind === "json")
        return reply
          .header("content-type", "application/json; charset=utf-8")
          .send(`${JSON.stringify(exported.data, null, 2)}\n`);
      return reply
        .header("content-type", "text/html; charset=utf-8")
        .send(renderDataExportHtml(exported.data, request.locale));
    });
  }
}
