import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Locale } from "../config/config.ts";
import type { Deps } from "../deps.ts";
import { errorMessage } from "../http/errors.ts";
import { checkFormToken, formField, sendFormExpired, sendPage, signedInPage } from "../http/pages.ts";
import { requestMeta } from "../http/request-context.ts";
import { connectedAppsText } from "../i18n/connected-apps-text.ts";
import { format } from "../i18n/locale.ts";
import { formatDateTime } from "../i18n/page-text.ts";
import {
  type ConnectedApp,
  connectedAppsPath,
  listConnectedApps,
  removeConnectedApp,
} from "../oidc/connected-apps.ts";
import { grantDescriptionHtml } from "../oidc/grant-description.ts";
import { csrfField } from "../views/forms.ts";
import { html, type SafeHtml } from "../views/html.ts";
import { settingRow } from "../views/setting-row.ts";

/**
 * Login & security -> "Apps and websites": each shop the person allowed to sign them in with
 * their account here (name, when allowed, when last used, what it can see) and a "Remove access" button per
 * shop. Removing needs no recent sign-in: it only takes a permission away, as forgetting a trusted
 * browser does, so a stolen session gains nothing from it.
 */
export const removeConnectedAppPath = `${connectedAppsPath}/remove`;

/** The row on Login & security: how many shops, and the way to the page. */
export function connectedAppsRow(locale: Locale, count: number): SafeHtml {
  const t = connectedAppsText(locale);
  return settingRow(t.row, count === 0 ? t.rowNone : format(t.rowCount, { count }), {
    href: connectedAppsPath,
    text: t.manage,
    label: t.manageLabel,
  });
}

function appItem(locale: Locale, csrfToken: string, app: ConnectedApp): SafeHtml {
  const t = connectedAppsText(locale);
  const lastUsed = app.lastUsedAt
    ? format(t.lastUsedAt, { time: formatDateTime(app.lastUsedAt, locale) })
    : t.neverUsed;
  return html`<li>
  <strong>${app.name}</strong><br>
  <span class="hint">${format(t.allowedAt, { time: formatDateTime(app.firstAllowedAt, locale) })} · ${lastUsed}</span>
  ${grantDescriptionHtml(locale, app.scopes)}
  <form method="post" action="${removeConnectedAppPath}">${csrfField(csrfToken)}<input type="hidden" name="client" value="${app.clientId}"><button type="submit" class="secondary" aria-label="${format(t.removeLabel, { app: app.name })}">${t.remove}</button></form>
</li>`;
}

export function registerConnectedAppsPages(app: FastifyInstance, deps: Deps): void {
  app.get(connectedAppsPath, async (request: FastifyRequest<{ Querystring: { done?: string } }>, reply) => {
    const page = await signedInPage(deps, request, reply);
    if (!page) return reply;
    const locale = request.locale;
    const t = connectedAppsText(locale);
    const shop = { shop: request.brand.name };
    const apps = await listConnectedApps(deps.db, page.auth.account.id, deps.clock.now());
    const body = html`<h1>${format(t.title, shop)}</h1>
<p>${format(t.intro, shop)}</p>
<div class="card">
${
  apps.length === 0
    ? html`<p>${format(t.none, shop)}</p>`
    : html`<ul class="sessions">${apps.map((connected) => appItem(locale, page.csrfToken, connected))}</ul>`
}
</div>
<p><a href="/account/security">${t.back}</a></p>`;
    return sendPage(reply, 200, {
      locale,
      title: format(t.title, shop),
      path: connectedAppsPath,
      body,
      signedIn: { name: page.auth.account.name, csrfToken: page.csrfToken },
      ...(request.query.done === "removed" ? { notice: t.removed } : {}),
    });
  });

  app.post(removeConnectedAppPath, async (request, reply) => {
    if (!checkFormToken(request, deps.config))
      return sendFormExpired(reply, request.locale, connectedAppsPath);
    const page = await signedInPage(deps, request, reply);
    if (!page) return reply;
    const result = await removeConnectedApp(
      deps,
      page.auth.account,
      formField(request, "client"),
      requestMeta(request),
    );
    if (result.ok) return reply.redirect(`${connectedAppsPath}?done=removed`, 303);
    const t = connectedAppsText(request.locale);
    return sendPage(reply, 404, {
      locale: request.locale,
      title: t.notFoundTitle,
      path: connectedAppsPath,
      body: html`<div class="card"><h1>${t.notFoundTitle}</h1><p>${errorMessage(result.code, request.locale)}</p><p><a href="${connectedAppsPath}">${t.back}</a></p></div>`,
      signedIn: { name: page.auth.account.name, csrfToken: page.csrfToken },
    });
  });
}
