import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Locale } from "../config/config.ts";
import type { Deps } from "../deps.ts";
import { listPasskeys } from "../factors/passkey/passkeys.ts";
import { passkeysPath } from "../flows/passkeys/pages.ts";
import { errorMessage, errorStatuses } from "../http/errors.ts";
import {
  checkFormToken,
  formField,
  type PageContext,
  sendFormExpired,
  sendPage,
  signedInPage,
  withRetryAfter,
} from "../http/pages.ts";
import { renewCookieSession, requestMeta } from "../http/request-context.ts";
import { federationText } from "../i18n/federation-text.ts";
import { formText } from "../i18n/form-text.ts";
import { formatDateTime } from "../i18n/page-text.ts";
import { isRecentlyAuthenticated } from "../session/sessions.ts";
import { csrfField, errorSummary, type FieldErrors, field } from "../views/forms.ts";
import { html, type SafeHtml } from "../views/html.ts";
import { settingRow } from "../views/setting-row.ts";
import { listIdentities } from "./identities.ts";
import { methodsPath } from "./pages.ts";
import { addPassword, unlinkIdentity } from "./sign-in-methods.ts";

const addPasswordPath = `${methodsPath}/password`;
const unlinkPath = `${methodsPath}/unlink`;
const reauthenticatePath = "/account/security/reauthenticate";

function labelOf(deps: Deps, provider: string): string {
  return deps.config.federation.providers.find((p) => p.name === provider)?.label ?? provider;
}

function sendMethodsPage(
  reply: FastifyReply,
  page: PageContext,
  locale: Locale,
  status: number,
  title: string,
  body: SafeHtml,
  notice?: string,
): FastifyReply {
  return sendPage(reply, status, {
    locale,
    title,
    path: methodsPath,
    body,
    signedIn: { name: page.auth.account.name, csrfToken: page.csrfToken },
    ...(notice ? { notice } : {}),
  });
}

async function renderMethods(
  deps: Deps,
  reply: FastifyReply,
  page: PageContext,
  locale: Locale,
  status: number,
  messages: { notice?: string; error?: string },
): Promise<FastifyReply> {
  const t = federationText(locale);
  const account = page.auth.account;
  const identities = await listIdentities(deps.db, account.id);
  const passkeys = (await listPasskeys(deps.db, account.id)).length;
  const linkable = deps.config.federation.providers.filter(
    (p) => !identities.some((i) => i.provider === p.name),
  );
  const body = html`<h1>${t.methodsTitle}</h1>
${messages.error ? html`<div class="error-summary" role="alert" tabindex="-1" id="error-summary"><p>${messages.error}</p></div>` : null}
<p>${t.methodsIntro}</p>
<div class="card">
<dl class="settings">
  ${settingRow(t.password, account.password_hash ? t.passwordSet : t.passwordNone, { href: account.password_hash ? "/account/security/password" : addPasswordPath, text: account.password_hash ? t.password : t.addPassword })}
  ${settingRow(t.passkeys, t.passkeyCount(passkeys), { href: passkeysPath, text: t.passkeys })}
  ${identities.map(
    (
      identity,
    ) => html`<div data-provider="${identity.provider}"><dt>${labelOf(deps, identity.provider)}</dt><dd>${t.linked}${identity.email ? html` (${identity.email})` : null}<br>
<span class="hint">${t.linkedAt(formatDateTime(identity.created_at, locale))}${identity.last_used_at ? html` · ${t.lastUsedAt(formatDateTime(identity.last_used_at, locale))}` : null}</span>
<form method="post" action="${unlinkPath}">${csrfField(page.csrfToken)}<input type="hidden" name="identity" value="${identity.id}"><button type="submit" class="secondary" aria-label="${t.unlinkLabel(labelOf(deps, identity.provider))}">${t.unlink}</button></form></dd></div>`,
  )}
</dl>
</div>
${
  linkable.length > 0
    ? html`<div class="card">${linkable.map(
        (p) => html`<form method="post" action="/sign-in/federation/${p.name}" class="federation-form">
  ${csrfField(page.csrfToken)}
  <input type="hidden" name="purpose" value="link">
  <button type="submit" class="federation-button federation-${p.kind}" data-provider="${p.name}">${t.link(p.label)}</button>
</form>`,
      )}</div>`
    : null
}
<p><a href="/account/security">${t.back}</a></p>`;
  return sendMethodsPage(reply, page, locale, status, t.methodsTitle, body, messages.notice);
}

function renderAddPassword(
  deps: Deps,
  reply: FastifyReply,
  page: PageContext,
  locale: Locale,
  status: number,
  form: { errors: FieldErrors; general?: string },
): FastifyReply {
  const t = federationText(locale);
  const body = html`<div class="card">
<h1>${t.addPasswordTitle}</h1>
${errorSummary(locale, form.errors, form.general)}
<p>${t.addPasswordIntro}</p>
<form method="post" action="${addPasswordPath}" novalidate>
  ${csrfField(page.csrfToken)}
  ${field({ name: "newPassword", label: t.newPassword, hint: t.newPasswordHint(deps.config.limits.passwordMinLength), type: "password", locale, autocomplete: "new-password", required: true, autofocus: true, maxlength: 4096, errors: form.errors, strength: { locale, userInputs: [page.auth.account.name, page.auth.account.email] } })}
  <button type="submit" class="wide">${t.submitPassword}</button>
</form>
</div>
<p><a href="${methodsPath}">${t.back}</a></p>`;
  return sendMethodsPage(reply, page, locale, status, t.addPasswordTitle, body);
}

/** Whether this session proved the person recently enough for a change of the ways in. */
function isRecent(deps: Deps, page: PageContext): boolean {
  return isRecentlyAuthenticated(
    page.auth.session,
    deps.clock.now(),
    deps.config.limits.reauthenticationWindowSeconds,
  );
}

function toReauthentication(reply: FastifyReply, back: string): FastifyReply {
  return reply.redirect(`${reauthenticatePath}?return_to=${encodeURIComponent(back)}`, 303);
}

/** The buttons that prove the owner again with a linked provider (the reauthentication page). */
export async function federationReauthButtons(
  deps: Deps,
  page: PageContext,
  locale: Locale,
  returnTo: string,
): Promise<SafeHtml | null> {
  const identities = await listIdentities(deps.db, page.auth.account.id);
  const providers = deps.config.federation.providers.filter((p) =>
    identities.some((i) => i.provider === p.name),
  );
  if (providers.length === 0) return null;
  const t = federationText(locale);
  return html`<div class="federation">${providers.map(
    (p) => html`<form method="post" action="/sign-in/federation/${p.name}" class="federation-form">
  ${csrfField(page.csrfToken)}
  <input type="hidden" name="purpose" value="reauth">
  <input type="hidden" name="return_to" value="${returnTo}">
  <button type="submit" class="federation-button federation-${p.kind}" data-provider="${p.name}">${t.reauthWith(p.label)}</button>
</form>`,
  )}</div>`;
}

export function registerSignInMethodsPages(app: FastifyInstance, deps: Deps): void {
  app.get(methodsPath, async (request: FastifyRequest<{ Querystring: { done?: string } }>, reply) => {
    const page = await signedInPage(deps, request, reply);
    if (!page) return reply;
    const t = federationText(request.locale);
    const done = request.query.done;
    const notice =
      done === "linked"
        ? t.doneLinked
        : done === "unlinked"
          ? t.doneUnlinked
          : done === "password"
            ? t.donePassword
            : undefined;
    return renderMethods(deps, reply, page, request.locale, 200, notice ? { notice } : {});
  });

  app.post(unlinkPath, async (request, reply) => {
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, request.locale, methodsPath);
    const page = await signedInPage(deps, request, reply);
    if (!page) return reply;
    if (!isRecent(deps, page)) return toReauthentication(reply, methodsPath);
    const result = await unlinkIdentity(
      deps,
      page.auth,
      formField(request, "identity").slice(0, 64),
      requestMeta(request),
      (p) => labelOf(deps, p),
    );
    if (result.ok) return reply.redirect(`${methodsPath}?done=unlinked`, 303);
    if (result.reason === "last_way_in")
      return renderMethods(deps, reply, page, request.locale, 409, {
        error: federationText(request.locale).lastWayIn,
      });
    return renderMethods(deps, reply, page, request.locale, 404, {
      error: errorMessage("not_found", request.locale),
    });
  });

  app.get(addPasswordPath, async (request, reply) => {
    const page = await signedInPage(deps, request, reply);
    if (!page) return reply;
    if (page.auth.account.password_hash) return reply.redirect("/account/security/password", 303);
    if (!isRecent(deps, page)) return toReauthentication(reply, addPasswordPath);
    return renderAddPassword(deps, reply, page, request.locale, 200, { errors: {} });
  });

  app.post(addPasswordPath, async (request, reply) => {
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, request.locale, addPasswordPath);
    const page = await signedInPage(deps, request, reply);
    if (!page) return reply;
    if (page.auth.account.password_hash) return reply.redirect("/account/security/password", 303);
    if (!isRecent(deps, page)) return toReauthentication(reply, addPasswordPath);
    const newPassword = formField(request, "newPassword").slice(0, 4096);
    if (newPassword === "") {
      const errors = { newPassword: formText(request.locale).missing.newPassword };
      return renderAddPassword(deps, reply, page, request.locale, 400, { errors });
    }
    const result = await addPassword(deps, page.auth, newPassword, requestMeta(request));
    if (result.ok) {
      await renewCookieSession(request, reply, deps);
      return reply.redirect(`${methodsPath}?done=password`, 303);
    }
    const message = errorMessage(result.code, request.locale, result);
    return renderAddPassword(
      deps,
      withRetryAfter(reply, result),
      page,
      request.locale,
      errorStatuses[result.code],
      {
        errors: { newPassword: message },
      },
    );
  });
}
