import type { FastifyReply, FastifyRequest } from "fastify";
import { sendRefusalPage, supportCard } from "../account/refusal-page.ts";
import type { Config, Locale } from "../config/config.ts";
import type { SupportContact } from "../config/support-config.ts";
import type { Deps } from "../deps.ts";
import type { FlowFailure } from "../flows/flow-result.ts";
import { isLocale } from "../i18n/locale.ts";
import { pageText } from "../i18n/page-text.ts";
import {
  type MaintenanceMode,
  maintenanceRetryAfter,
  readMaintenanceMode,
} from "../operations/maintenance.ts";
import { maintenanceCard } from "../operations/maintenance-page.ts";
import { refusedSessionOf } from "../session/refused-session.ts";
import type { AuthenticatedSession } from "../session/sessions.ts";
import type { FieldErrors } from "../views/forms.ts";
import { html } from "../views/html.ts";
import { type LayoutOptions, renderLayout } from "../views/layout.ts";
import { ensureCsrfToken, isValidFormToken } from "./csrf.ts";
import { type ErrorCode, errorMessage, errorStatuses } from "./errors.ts";
import { loadSession, localeCookieOf, sessionTokenOf } from "./request-context.ts";

/** Sends a full HTML page; pages with personal data or codes are never cached. */
export function sendPage(reply: FastifyReply, status: number, options: LayoutOptions): FastifyReply {
  // The way back to the shop the person came from (src/oidc/shop-return.ts), unless the page says.
  const shopReturn = options.shopReturn === undefined ? reply.request.shopReturn : options.shopReturn;
  return reply
    .code(status)
    .header("content-type", "text/html; charset=utf-8")
    .header("cache-control", "no-store")
    .send(renderLayout({ ...options, shopReturn }, reply.request.brand));
}

/** A form body's field as one string (a repeated or missing field reads as ""). */
export function formField(request: FastifyRequest, name: string): string {
  const body = request.body;
  if (!body || typeof body !== "object") return "";
  const value = (body as Record<string, unknown>)[name];
  return typeof value === "string" ? value : "";
}

/**
 * Where to go after sign-in: only a path on this site (`/account`), never `//evil.example` or
 * `https://…`, so the sign-in page cannot be used as an open redirect. The answer is always fit for
 * a Location header: other characters (`/あ`) come back percent-encoded (`/%E3%81%82`), and a
 * path whose percent-encoding decodes to no text (`/%E3%81`) names no page here and falls back.
 */
export function safeReturnPath(value: unknown, fallback = "/account"): string {
  if (typeof value !== "string" || value.length > 500) return fallback;
  if (
    !value.startsWith("/") ||
    value.startsWith("//") ||
    value.startsWith("/\\") ||
    /[\p{Cc}\\]/u.test(value) ||
    !value.isWellFormed()
  ) {
    return fallback;
  }
  const url = new URL(value, "http://mamori.invalid");
  const path = `${url.pathname}${url.search}${url.hash}`;
  return url.origin === "http://mamori.invalid" && decodesToText(path) ? path : fallback;
}

/** True when every %XX sequence of an (ASCII) URL part decodes, together, to well-formed UTF-8. */
function decodesToText(encoded: string): boolean {
  try {
    decodeURIComponent(encoded);
    return true;
  } catch {
    return false;
  }
}

/**
 * Where to go after sign-in when a shop sent the person here: a path on this site, or an absolute
 * URL on one of the configured origins (MAMORI_ORIGINS, e.g. the shop's own site). Anything else
 * falls back, so `return_to` cannot send someone to a look-alike site.
 */
export function safeReturnTarget(
  value: unknown,
  allowedOrigins: ReadonlySet<string>,
  fallback = "/account",
): string {
  if (typeof value !== "string" || value.length > 500) return fallback;
  if (value.startsWith("/")) return safeReturnPath(value, fallback);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fallback;
  }
  if ((url.protocol !== "https:" && url.protocol !== "http:") || url.username || url.password)
    return fallback;
  // `href` is all ASCII (the host in punycode, the rest percent-encoded): fit for a Location header.
  return allowedOrigins.has(url.origin) && decodesToText(url.href) ? url.href : fallback;
}

/** The page answer to a form whose CSRF token is missing or wrong: 403, with a way back. */
export function sendFormExpired(reply: FastifyReply, locale: Locale, path: string): FastifyReply {
  const text = pageText(locale);
  return sendPage(reply, 403, {
    locale,
    title: text.formExpired,
    path,
    body: html`<div class="card"><h1>${text.formExpired}</h1><p><a href="${path}">${path}</a></p></div>`,
  });
}

export function checkFormToken(request: FastifyRequest, config: Config): boolean {
  return isValidFormToken(request, formField(request, "_csrf"), config);
}

export function sendMaintenancePage(
  reply: FastifyReply,
  locale: Locale,
  path: string,
  mode: MaintenanceMode & { on: true },
  now: Date,
  support?: SupportContact,
): FastifyReply {
  return sendPage(reply.header("retry-after", String(maintenanceRetryAfter(mode, now))), 503, {
    locale,
    title: pageText(locale).maintenance.title,
    path,
    body: html`${maintenanceCard(locale, mode, now, path)}${support ? supportCard(locale, support) : null}`,
  });
}

/** Renders the maintenance page and returns true when maintenance mode is on. */
export async function answeredWithMaintenance(
  deps: Deps,
  request: FastifyRequest,
  reply: FastifyReply,
  path: string,
): Promise<boolean> {
  const mode = await readMaintenanceMode(deps.db);
  if (!mode.on) return false;
  sendMaintenancePage(reply, request.locale, path, mode, deps.clock.now(), deps.config.support);
  return true;
}

export type PageContext = { auth: AuthenticatedSession; csrfToken: string };

/** For signed-in pages: the session and a CSRF token, or a redirect to sign-in that comes back here. */
export async function signedInPage(
  deps: Deps,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<PageContext | undefined> {
  const auth = await loadSession(request, deps);
  if (!auth) {
    // No dead end: a session refused because its account was suspended or closed says so.
    const refused = await refusedSessionOf(deps.db, deps.clock, sessionTokenOf(request, deps.config));
    if (refused) {
      const locale = isLocale(localeCookieOf(request, deps.config)) ? request.locale : refused.locale;
      sendRefusalPage(reply, locale, deps.config.support, refused.status, { path: "/account" });
      return undefined;
    }
    const path = request.url.split("?")[0] ?? "/account";
    reply.redirect(`/sign-in?return_to=${encodeURIComponent(path)}`, 303);
    return undefined;
  }
  return { auth, csrfToken: ensureCsrfToken(request, reply, deps.config, deps.random) };
}

/** What a form shows after a failure: beside its field when it has one, else at the top. */
export type FormState = {
  errors: FieldErrors;
  general?: string;
  /** The general error's code: the summary's heading says what happened (src/views/forms.ts). */
  problem?: ErrorCode;
};

export function formState(locale: Locale, f: FlowFailure): FormState {
  const message = errorMessage(f.code, locale, f);
  return f.field ? { errors: { [f.field]: message } } : { errors: {}, general: message, problem: f.code };
}

/** 429 and 503 pages carry Retry-After, as the JSON answers do. */
export function withRetryAfter(reply: FastifyReply, f: FlowFailure): FastifyReply {
  if (f.retryAfterSeconds !== undefined) reply.header("retry-after", String(f.retryAfterSeconds));
  return reply;
}

/**
 * The page for a recovery flow that ended (expired, out of tries, finished, unknown, or another
 * browser's): why, and a way to start again. A flow whose code was refused too often ends with
 * `invalid_code` or `too_many_attempts`; those read as `exhaustedMessage`.
 */
export function sendFlowEnded(
  reply: FastifyReply,
  page: { locale: Locale; title: string; exhaustedMessage: string; startPath: string },
  ended: FlowFailure,
): FastifyReply {
  const text = pageText(page.locale).passwordReset;
  const message =
    ended.code === "invalid_code" || ended.code === "too_many_attempts"
      ? page.exhaustedMessage
      : errorMessage(ended.code, page.locale, ended);
  const body = html`<div class="card">
<h1>${page.title}</h1>
<div class="error-summary" role="alert" tabindex="-1" id="error-summary"><p>${message}</p></div>
<a class="button wide" href="${page.startPath}">${text.startAgain}</a>
<div class="links"><p><a href="/sign-in">${text.backToSignIn}</a></p></div>
</div>`;
  return sendPage(reply, errorStatuses[ended.code], {
    locale: page.locale,
    title: page.title,
    path: page.startPath,
    body,
  });
}
