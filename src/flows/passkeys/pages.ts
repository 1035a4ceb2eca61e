import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Kysely } from "kysely";
import type { Locale } from "../../config/config.ts";
import type { Schema } from "../../db/schema.ts";
import type { Deps } from "../../deps.ts";
import { listPasskeys, type PublicPasskey } from "../../factors/passkey/passkeys.ts";
import { errorMessage, errorStatuses } from "../../http/errors.ts";
import { checkFormToken, formField, sendFormExpired } from "../../http/pages.ts";
import { format } from "../../i18n/locale.ts";
import { formatDateTime } from "../../i18n/page-text.ts";
import { passkeyText } from "../../i18n/passkey-text.ts";
import { csrfField, errorSummary } from "../../views/forms.ts";
import { html, type SafeHtml } from "../../views/html.ts";
import { settingRow } from "../../views/setting-row.ts";
import {
  type FormState,
  guardRedirect,
  pageGuard,
  type SettingsPage,
  sendSettingsPage,
  settingsPage,
} from "../two-step-settings/pages-shared.ts";
import { listAccountPasskeys, removeAccountPasskey, renameAccountPasskey } from "./manage.ts";
import { passkeyRegisterBlock, passkeyScripts, passkeySignalsMarker } from "./ui.ts";

/**
 * Login & security -> Passkeys: the list (name, added, last used, synced), rename and remove as
 * plain forms that work without JavaScript, and "Add a passkey", whose page runs the WebAuthn
 * ceremony through public/passkeys.js after the same guards as adding a two-step method.
 */
export const passkeysPath = "/account/security/passkeys";
const addPath = `${passkeysPath}/add`;

type IdRequest = FastifyRequest<{ Params: { id: string } }>;

function itemPath(id: string, action: "rename" | "remove"): string {
  return `${passkeysPath}/${encodeURIComponent(id)}/${action}`;
}

/** The "Passkeys" row of the Login & security page. */
export async function passkeySummaryRow(
  db: Kysely<Schema>,
  accountId: string,
  locale: Locale,
): Promise<SafeHtml> {
  const t = passkeyText(locale);
  const count = (await listPasskeys(db, accountId)).length;
  return settingRow(t.title, count > 0 ? format(t.summary, { count }) : t.none, {
    href: passkeysPath,
    text: t.manage,
    label: t.manageLabel,
  });
}

function passkeyItem(locale: Locale, csrfToken: string, passkey: PublicPasskey): SafeHtml {
  const t = passkeyText(locale);
  const inputId = `name-${passkey.id}`;
  return html`<li>
  <strong>${passkey.name}</strong>${passkey.synced ? html` <span class="tag" title="${t.syncedHint}">${t.synced}</span>` : null}<br>
  <span class="hint">${format(t.added, { time: formatDateTime(passkey.createdAt, locale) })} · ${passkey.lastUsedAt ? format(t.lastUsed, { time: formatDateTime(passkey.lastUsedAt, locale) }) : t.neverUsed}</span>
  <details>
    <summary>${t.rename}</summary>
    <form method="post" action="${itemPath(passkey.id, "rename")}">
      ${csrfField(csrfToken)}
      <div class="field">
        <label for="${inputId}">${format(t.renameLabel, { name: passkey.name })}</label>
        <input id="${inputId}" name="name" type="text" maxlength="64" required value="${passkey.name}" autocomplete="off">
      </div>
      <button type="submit" class="secondary">${t.save}</button>
    </form>
  </details>
  <form method="post" action="${itemPath(passkey.id, "remove")}">
    ${csrfField(csrfToken)}
    <button type="submit" class="danger" aria-label="${format(t.removeLabel, { name: passkey.name })}">${t.remove}</button>
  </form>
</li>`;
}

async function renderList(
  reply: FastifyReply,
  locale: Locale,
  page: SettingsPage,
  status: number,
  form: FormState & { notice?: string | undefined },
): Promise<FastifyReply> {
  const t = passkeyText(locale);
  const passkeys = await listAccountPasskeys(page.ctx);
  const body = html`<h1>${t.title}</h1>
${errorSummary(locale, form.errors, form.general, undefined, form.problem)}
<p>${t.intro}</p>
<div class="card">
${passkeys.length === 0 ? html`<p>${t.none}</p>` : html`<ul class="sessions passkeys">${passkeys.map((p) => passkeyItem(locale, page.csrfToken, p))}</ul>`}
<p class="note" data-passkey-nojs>${t.needsJavaScript}</p>
<a class="button" href="${addPath}">${t.add}</a>
</div>
${passkeySignalsMarker()}
${passkeyScripts()}
<p><a href="/account/security">${t.back}</a></p>`;
  return sendSettingsPage(reply, page, locale, status, {
    title: t.title,
    path: passkeysPath,
    body,
    notice: form.notice,
  });
}

export function registerPasskeyPages(app: FastifyInstance, deps: Deps): void {
  app.get(passkeysPath, async (request: FastifyRequest<{ Querystring: { done?: string } }>, reply) => {
    const page = await settingsPage(deps, request, reply);
    if (!page) return reply;
    const t = passkeyText(request.locale);
    const done = request.query.done;
    const notice =
      done === "added"
        ? t.doneAdded
        : done === "removed"
          ? t.doneRemoved
          : done === "renamed"
            ? t.doneRenamed
            : undefined;
    return renderList(reply, request.locale, page, 200, { errors: {}, notice });
  });

  app.get(addPath, async (request, reply) => {
    const page = await settingsPage(deps, request, reply);
    if (!page) return reply;
    // A recent sign-in, and a step-up code while two-step is on, before the button is even shown.
    const guard = pageGuard(page.ctx, addPath, true);
    if (guard) return reply.redirect(guard, 303);
    const locale = request.locale;
    const t = passkeyText(locale);
    const body = html`<div class="card">
<h1>${t.addTitle}</h1>
<p>${t.addIntro}</p>
${passkeyRegisterBlock(locale, `${passkeysPath}?done=added`)}
<div class="links"><p><a href="${passkeysPath}">${t.back}</a></p></div>
</div>`;
    return sendSettingsPage(reply, page, locale, 200, { title: t.addTitle, path: addPath, body });
  });

  app.post(`${passkeysPath}/:id/rename`, async (request: IdRequest, reply) => {
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, request.locale, passkeysPath);
    const page = await settingsPage(deps, request, reply);
    if (!page) return reply;
    const locale = request.locale;
    const result = await renameAccountPasskey(
      page.ctx,
      request.params.id.slice(0, 64),
      formField(request, "name").slice(0, 200),
    );
    if (result.ok) return reply.redirect(`${passkeysPath}?done=renamed`, 303);
    const general =
      result.code === "invalid_request"
        ? passkeyText(locale).nameMissing
        : errorMessage(result.code, locale, result);
    return renderList(reply, locale, page, errorStatuses[result.code], { errors: {}, general });
  });

  app.post(`${passkeysPath}/:id/remove`, async (request: IdRequest, reply) => {
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, request.locale, passkeysPath);
    const page = await settingsPage(deps, request, reply);
    if (!page) return reply;
    const locale = request.locale;
    const result = await removeAccountPasskey(page.ctx, request.params.id.slice(0, 64));
    if (result.ok) return reply.redirect(`${passkeysPath}?done=removed`, 303);
    // An old sign-in goes to the password (or step-up) page and comes back to the list.
    const guard = guardRedirect(result, passkeysPath);
    if (guard) return reply.redirect(guard, 303);
    return renderList(reply, locale, page, errorStatuses[result.code], {
      errors: {},
      general: errorMessage(result.code, locale, result),
    });
  });
}
