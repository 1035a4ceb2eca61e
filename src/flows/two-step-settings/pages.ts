import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Locale } from "../../config/config.ts";
import type { Deps } from "../../deps.ts";
import { countUnusedRecoveryCodes } from "../../factors/recovery-code/recovery-codes.ts";
import { listActiveMethods, type MethodRow } from "../../factors/two-step/methods.ts";
import { checkFormToken, sendFormExpired } from "../../http/pages.ts";
import { format } from "../../i18n/locale.ts";
import { type TwoStepText, twoStepText } from "../../i18n/two-step-text.ts";
import { csrfField } from "../../views/forms.ts";
import { html, type SafeHtml } from "../../views/html.ts";
import { settingRow } from "../../views/setting-row.ts";
import {
  guardRedirect,
  methodName,
  methodPath,
  pageGuard,
  type SettingsPage,
  sendSettingsPage,
  settingsPage,
  twoStepPath,
} from "./pages-shared.ts";
import { enableTwoStep, regenerateRecoveryCodes } from "./two-step-settings.ts";

/**
 * Login & security -> Advanced security settings (高度なセキュリティ設定): two-step on or off,
 * "Get started", the methods, turning it on, and the recovery codes (shown once, with a
 * download). Removing a backup and turning two-step off are in pages-manage.ts; adding a method
 * in pages-setup.ts.
 */
type Done = keyof TwoStepText["settings"]["done"];

function isDone(value: unknown): value is Done {
  return value === "disabled" || value === "backup" || value === "primary" || value === "removed";
}

function overviewBody(locale: Locale, page: SettingsPage, methods: MethodRow[], codesLeft: number): SafeHtml {
  const t = twoStepText(locale).settings;
  const primary = methods.find((m) => m.role === "primary");
  if (!page.auth.account.two_step_enabled_at) {
    return html`<h1>${t.title}</h1>
<div class="card">
<h2>${t.twoStep} <span class="tag off">${t.off}</span></h2>
<p>${t.intro}</p>
<p>${t.needs}</p>
${
  primary
    ? html`<p>${format(t.primaryReady, { method: methodName(locale, primary) })}</p>
<a class="button wide" href="${twoStepPath}/enable">${t.turnOn}</a>`
    : html`<a class="button wide" href="${twoStepPath}/setup">${t.start}</a>`
}
</div>
<p><a href="/account/security">${t.back}</a></p>`;
  }
  const backups = methods.filter((m) => m.role === "backup");
  return html`<h1>${t.title}</h1>
<div class="card">
<h2>${t.twoStep} <span class="tag">${t.on}</span></h2>
<p>${t.onIntro}</p>
<dl class="settings">
  ${settingRow(t.primary, primary ? methodName(locale, primary) : "—", { href: `${twoStepPath}/setup`, text: t.change, label: t.changePrimary })}
  ${backups.map((m) =>
    settingRow(t.backups, methodName(locale, m), {
      href: `${methodPath(m.id)}/remove`,
      text: t.remove,
      label: format(t.removeMethod, { method: methodName(locale, m) }),
    }),
  )}
</dl>
${backups.length === 0 ? html`<p class="note">${t.noBackup}</p>` : null}
<p><a class="button secondary" href="${twoStepPath}/backup">${t.addBackup}</a></p>
</div>
<div class="card">
<h2>${t.recoveryTitle}</h2>
<p>${format(t.recoveryLeft, { count: codesLeft })}</p>
<p class="hint">${t.recoveryHint}</p>
<a class="button secondary" href="${twoStepPath}/recovery-codes">${t.newRecovery}</a>
</div>
<div class="card">
<h2>${t.disableTitle}</h2>
<p>${t.disableHint}</p>
<a class="button danger" href="${twoStepPath}/disable">${t.disable}</a>
</div>
<p><a href="/account/security">${t.back}</a></p>`;
}

/** The codes, shown once: a list to print or copy, and the same as a text file (a data: URL). */
function renderRecoveryCodes(
  reply: FastifyReply,
  locale: Locale,
  page: SettingsPage,
  view: { codes: string[]; enabled: boolean },
): FastifyReply {
  const t = twoStepText(locale).recovery;
  const file = [
    format(t.fileHeading, { email: page.auth.account.email, shop: reply.request.brand.name }),
    "",
    ...view.codes,
    "",
    t.fileNote,
    "",
  ].join("\n");
  // A download without another request: the codes exist nowhere but in this answer (only their
  // hashes are stored), so the file is built here. Navigating to a data: URL is blocked; a
  // download link to one is not, and no CSP directive governs downloads.
  const fileUrl = `data:text/plain;charset=utf-8,${encodeURIComponent(file)}`;
  const body = html`<div class="card">
<h1>${t.title}</h1>
<p>${t.intro}</p>
<p class="warning">${t.once}</p>
<ol class="recovery-codes" aria-label="${t.listLabel}">${view.codes.map((code) => html`<li><code>${code}</code></li>`)}</ol>
<p><a class="button secondary" href="${fileUrl}" download="recovery-codes.txt">${t.download}</a></p>
</div>
${
  view.enabled
    ? html`<div class="card next">
<p>${t.nextBackup}</p>
<a class="button wide" href="${twoStepPath}/backup">${t.addBackup}</a>
<div class="links"><p><a href="${twoStepPath}">${t.later}</a></p></div>
</div>`
    : html`<p><a class="button" href="${twoStepPath}">${t.done}</a></p>`
}`;
  return sendSettingsPage(reply, page, locale, 200, {
    title: t.title,
    path: twoStepPath,
    body,
    notice: view.enabled ? t.enabled : t.replaced,
  });
}

export function registerTwoStepSettingsPages(app: FastifyInstance, deps: Deps): void {
  const enablePath = `${twoStepPath}/enable`;
  const recoveryPath = `${twoStepPath}/recovery-codes`;

  app.get(twoStepPath, async (request: FastifyRequest<{ Querystring: { done?: string } }>, reply) => {
    const page = await settingsPage(deps, request, reply);
    if (!page) return reply;
    const locale = request.locale;
    const account = page.auth.account;
    const methods = await listActiveMethods(deps.db, account.id);
    const codesLeft = account.two_step_enabled_at ? await countUnusedRecoveryCodes(deps.db, account.id) : 0;
    const done = request.query.done;
    return sendSettingsPage(reply, page, locale, 200, {
      title: twoStepText(locale).settings.title,
      path: twoStepPath,
      body: overviewBody(locale, page, methods, codesLeft),
      notice: isDone(done) ? twoStepText(locale).settings.done[done] : undefined,
    });
  });

  app.get(enablePath, async (request, reply) => {
    const page = await settingsPage(deps, request, reply);
    if (!page) return reply;
    const locale = request.locale;
    if (page.auth.account.two_step_enabled_at) return reply.redirect(twoStepPath, 303);
    const primary = (await listActiveMethods(deps.db, page.auth.account.id)).find(
      (m) => m.role === "primary",
    );
    if (!primary) return reply.redirect(`${twoStepPath}/setup`, 303);
    const guard = pageGuard(page.ctx, enablePath, false);
    if (guard) return reply.redirect(guard, 303);
    const t = twoStepText(locale).enable;
    const body = html`<div class="card">
<h1>${t.title}</h1>
<p>${format(t.ready, { method: methodName(locale, primary) })}</p>
<p>${t.explain}</p>
<p class="hint">${t.trustNote}</p>
<form method="post" action="${enablePath}">
  ${csrfField(page.csrfToken)}
  <button type="submit" class="wide">${t.submit}</button>
</form>
</div>
<p><a href="${twoStepPath}">${twoStepText(locale).choose.cancel}</a></p>`;
    return sendSettingsPage(reply, page, locale, 200, { title: t.title, path: enablePath, body });
  });

  app.post(enablePath, async (request, reply) => {
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, request.locale, enablePath);
    const page = await settingsPage(deps, request, reply);
    if (!page) return reply;
    // The account's language, now that the session is loaded.
    const locale = request.locale;
    const result = await enableTwoStep(page.ctx);
    if (result.ok)
      return renderRecoveryCodes(reply, locale, page, { codes: result.recoveryCodes, enabled: true });
    const guard = guardRedirect(result, enablePath);
    if (guard) return reply.redirect(guard, 303);
    // Already on (another tab), or no verified primary: the settings page shows where things stand.
    return reply.redirect(result.code === "enrollment_not_found" ? `${twoStepPath}/setup` : twoStepPath, 303);
  });

  app.get(recoveryPath, async (request, reply) => {
    const page = await settingsPage(deps, request, reply);
    if (!page) return reply;
    const locale = request.locale;
    if (!page.auth.account.two_step_enabled_at) return reply.redirect(twoStepPath, 303);
    const guard = pageGuard(page.ctx, recoveryPath, true);
    if (guard) return reply.redirect(guard, 303);
    const t = twoStepText(locale).recovery;
    const body = html`<div class="card">
<h1>${t.confirmTitle}</h1>
<p>${t.confirm}</p>
<form method="post" action="${recoveryPath}">
  ${csrfField(page.csrfToken)}
  <button type="submit" class="wide">${t.create}</button>
</form>
<div class="links"><p><a href="${twoStepPath}">${t.cancel}</a></p></div>
</div>`;
    return sendSettingsPage(reply, page, locale, 200, { title: t.confirmTitle, path: recoveryPath, body });
  });

  app.post(recoveryPath, async (request, reply) => {
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, request.locale, recoveryPath);
    const page = await settingsPage(deps, request, reply);
    if (!page) return reply;
    // The account's language, now that the session is loaded.
    const locale = request.locale;
    const result = await regenerateRecoveryCodes(page.ctx);
    if (result.ok)
      return renderRecoveryCodes(reply, locale, page, { codes: result.recoveryCodes, enabled: false });
    const guard = guardRedirect(result, recoveryPath);
    return reply.redirect(guard ?? twoStepPath, 303);
  });
}
