import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Locale } from "../config/config.ts";
import type { Deps } from "../deps.ts";
import { providerLabel } from "../federation/federation-config.ts";
import { redirectToResetCode } from "../flows/password-reset/pages.ts";
import {
  checkFormToken,
  formField,
  type PageContext,
  sendFormExpired,
  sendPage,
  signedInPage,
} from "../http/pages.ts";
import { clearSessionCookie, requestMeta } from "../http/request-context.ts";
import { type AccountEventType, activityText } from "../i18n/activity-text.ts";
import { format } from "../i18n/locale.ts";
import { formatDateTime } from "../i18n/page-text.ts";
import { csrfField } from "../views/forms.ts";
import { html, type SafeHtml } from "../views/html.ts";
import { type ActivityEntry, listActivity, reportNotMe } from "./activity.ts";

/**
 * Login & security -> "Sign-in activity": recent sign-ins and security changes in plain words,
 * each sign-in with a "this wasn't me" button. That button asks first (it signs this browser out
 * too), then ends every session, forgets trusted browsers and hands this browser the password
 * reset whose code was just mailed.
 */
export const activityPath = "/account/security/activity";
export const notMePath = "/account/security/not-me";

/** What an event is called on the page; a type this page does not know yet reads as a generic one. */
export function activityLabel(locale: Locale, type: string): string {
  const text = activityText(locale);
  return Object.hasOwn(text.events, type) ? text.events[type as AccountEventType] : text.otherEvent;
}

/** "Firefox (Windows) · United States · IP address 8.8.8.8": where an event came from, when known. */
function whereFrom(locale: Locale, entry: ActivityEntry): string | null {
  // Operator and system events come from no browser: nothing to show rather than "unknown".
  if (!entry.browser && !entry.ip) return null;
  const text = activityText(locale);
  return [
    entry.browser ?? text.unknownBrowser,
    entry.place,
    entry.ip ? format(text.ip, { ip: entry.ip }) : null,
  ]
    .filter((part): part is string => Boolean(part))
    .join(" · ");
}

/** One event: what, when, from where. */
function describeEntry(locale: Locale, entry: ActivityEntry, id?: string): SafeHtml {
  const from = whereFrom(locale, entry);
  // The line break has a newline before it, so the text reads "5:08 Chrome" and not "5:08Chrome".
  const where = from ? html`\n<br><span class="hint">${from}</span>` : null;
  const label = format(activityLabel(locale, entry.type), { provider: providerLabel(entry.provider ?? "") });
  return html`<span${id ? html` id="${id}"` : null}><strong>${label}</strong> <time datetime="${entry.at}">${formatDateTime(entry.at, locale)}</time>${where}</span>`;
}

function notMeButton(csrfToken: string, label: string, eventId?: string, describedBy?: string): SafeHtml {
  return html`<form method="post" action="${notMePath}">${csrfField(csrfToken)}${eventId ? html`<input type="hidden" name="event" value="${eventId}">` : null}<button type="submit" class="secondary"${describedBy ? html` aria-describedby="${describedBy}"` : null}>${label}</button></form>`;
}

function renderActivity(
  reply: FastifyReply,
  locale: Locale,
  page: PageContext,
  entries: readonly ActivityEntry[],
): FastifyReply {
  const text = activityText(locale);
  const body = html`<h1>${text.title}</h1>
<p>${text.intro}</p>
<div class="card">
${
  entries.length === 0
    ? html`<p>${text.none}</p>`
    : html`<ul class="activity">${entries.map((entry) => {
        // Each button is described by its row, so a screen reader says which sign-in it reports.
        const rowId = `event-${entry.id}`;
        return html`<li class="${entry.type === "sign_in.succeeded" ? "sign-in" : "change"}">
  ${describeEntry(locale, entry, rowId)}
  ${entry.type === "sign_in.succeeded" ? notMeButton(page.csrfToken, text.notMe, entry.id, rowId) : null}
</li>`;
      })}</ul>`
}
</div>
<div class="card">
<h2>${text.suspiciousTitle}</h2>
<p>${text.suspiciousHint}</p>
${notMeButton(page.csrfToken, text.notMe)}
</div>
<p><a href="/account/security">${text.back}</a></p>`;
  return sendPage(reply, 200, {
    locale,
    title: text.title,
    path: activityPath,
    body,
    signedIn: { name: page.auth.account.name, csrfToken: page.csrfToken },
  });
}

/** The question before the act: what "this wasn't me" will do, this browser's sign-out included. */
function renderConfirm(
  reply: FastifyReply,
  locale: Locale,
  page: PageContext,
  reported: ActivityEntry | undefined,
): FastifyReply {
  const text = activityText(locale).confirm;
  const [beforeEmail, afterEmail] = text.mailCode.split("{email}");
  const body = html`<div class="card">
<h1>${text.title}</h1>
${reported ? html`<h2>${text.reported}</h2><p class="reported">${describeEntry(locale, reported)}</p>` : null}
<p>${text.intro}</p>
<ul class="consequences">
  <li>${text.signOut}</li>
  <li>${text.forgetBrowsers}</li>
  <li>${beforeEmail}<strong>${page.auth.account.email}</strong>${afterEmail}</li>
</ul>
<p>${text.newPassword}</p>
<form method="post" action="${notMePath}">
  ${csrfField(page.csrfToken)}
  <input type="hidden" name="confirm" value="1">
  <button type="submit" class="danger wide">${text.submit}</button>
</form>
<div class="links"><p><a href="${activityPath}">${text.cancel}</a></p></div>
</div>`;
  return sendPage(reply, 200, {
    locale,
    title: text.title,
    path: reported ? `${notMePath}?event=${encodeURIComponent(reported.id)}` : notMePath,
    body,
    signedIn: { name: page.auth.account.name, csrfToken: page.csrfToken },
  });
}

/** The reported sign-in, looked up among this account's own events only. */
async function findReported(
  deps: Deps,
  page: PageContext,
  locale: Locale,
  eventId: string,
): Promise<ActivityEntry | undefined> {
  if (!eventId) return undefined;
  const entries = await listActivity(deps, page.auth.account.id, locale);
  return entries.find((entry) => entry.id === eventId && entry.type === "sign_in.succeeded");
}

export function registerActivityPages(app: FastifyInstance, deps: Deps): void {
  app.get(activityPath, async (request, reply) => {
    const page = await signedInPage(deps, request, reply);
    if (!page) return reply;
    const entries = await listActivity(deps, page.auth.account.id, request.locale);
    return renderActivity(reply, request.locale, page, entries);
  });

  // Reached after signing in again (the POST's return_to) or by the language switch: the question only.
  app.get(notMePath, async (request: FastifyRequest<{ Querystring: { event?: unknown } }>, reply) => {
    const page = await signedInPage(deps, request, reply);
    if (!page) return reply;
    const eventId = typeof request.query.event === "string" ? request.query.event.slice(0, 64) : "";
    return renderConfirm(
      reply,
      request.locale,
      page,
      await findReported(deps, page, request.locale, eventId),
    );
  });

  app.post(notMePath, async (request, reply) => {
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, request.locale, activityPath);
    const page = await signedInPage(deps, request, reply);
    if (!page) return reply;
    const locale = request.locale;
    // A button press only asks; the confirmation page's own form says confirm=1.
    if (formField(request, "confirm") !== "1") {
      const eventId = formField(request, "event").slice(0, 64);
      return renderConfirm(reply, locale, page, await findReported(deps, page, locale, eventId));
    }
    const result = await reportNotMe(deps, page.auth, requestMeta(request));
    // Every session ended, this one too: the browser forgets its cookie either way.
    clearSessionCookie(reply, deps.config);
    if (result.ok) return redirectToResetCode(deps, reply, result.passwordReset.id, "not_me");
    const text = activityText(locale).throttled;
    const minutes = Math.max(1, Math.ceil(result.retryAfterSeconds / 60));
    return sendPage(reply.header("retry-after", String(result.retryAfterSeconds)), 429, {
      locale,
      title: text.title,
      path: "/password-reset",
      body: html`<div class="card">
<h1>${text.title}</h1>
<div class="error-summary" role="alert" tabindex="-1" id="error-summary"><p>${format(text.body, { minutes })}</p></div>
<a class="button wide" href="/password-reset">${text.resetPassword}</a>
</div>`,
    });
  });
}
