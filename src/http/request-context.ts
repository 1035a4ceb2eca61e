import type { FastifyReply, FastifyRequest } from "fastify";
import type { Brand } from "../config/brand-config.ts";
import type { Config, Locale } from "../config/config.ts";
import type { Deps } from "../deps.ts";
import type { RequestMeta } from "../flows/flow-result.ts";
import { isLocale, negotiateLocale } from "../i18n/locale.ts";
import { refusedSessionOf } from "../session/refused-session.ts";
import { authenticateSessionToken } from "../session/session-lookup.ts";
import { type AuthenticatedSession, rotateSessionSecret, type SessionRow } from "../session/sessions.ts";
import { cookieName } from "./cookie-names.ts";
import { ApiError } from "./errors.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** The request's language; set in an onRequest hook. */
    locale: Locale;
    /** The shop's brand in the request's language (MAMORI_BRAND_*); set with `locale`. */
    brand: Brand;
    /** The live session, filled in by `requireSession` (null before and when there is none). */
    auth: AuthenticatedSession | null;
  }
}

/** The language cookie's name outside production (`__Host-locale` in it: ./cookie-names.ts). */
export const localeCookieName = "locale";

/** The language this browser chose with the switch, if it did. */
export function localeCookieOf(request: FastifyRequest, config: Config): string | undefined {
  return request.cookies[cookieName(config, localeCookieName)];
}

export function requestLocale(request: FastifyRequest, config: Config): Locale {
  return negotiateLocale(localeCookieOf(request, config), request.headers["accept-language"]);
}

export function requestMeta(request: FastifyRequest): RequestMeta {
  const userAgent = request.headers["user-agent"];
  return {
    ip: request.ip ?? null,
    userAgent: typeof userAgent === "string" ? userAgent.slice(0, 300) : null,
  };
}

/** The session token of a request: `Authorization: Bearer id.secret` for API clients, else the cookie. */
export function sessionTokenOf(request: FastifyRequest, config: Config): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === "string") {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    return match?.[1];
  }
  return request.cookies[config.sessionCookieName];
}

/** Resolves the session once per request; later calls reuse it. */
export async function loadSession(request: FastifyRequest, deps: Deps): Promise<AuthenticatedSession | null> {
  if (request.auth) return request.auth;
  const token = sessionTokenOf(request, deps.config);
  if (!token) return null;
  request.auth =
    (await authenticateSessionToken(deps.db, { ...deps, limits: deps.config.limits }, token)) ?? null;
  // The account's language overrides the browser's (shared/API.md); an explicit cookie wins over both.
  if (request.auth && !isLocale(localeCookieOf(request, deps.config)))
    request.locale = request.auth.account.locale;
  return request.auth;
}

/**
 * A preHandler for routes that need a signed-in person: 401 `unauthenticated` otherwise, or 403
 * `account_suspended` / `account_closed` when the token's session ended because its account was
 * suspended or closed (decision 0020: the client can say why instead of asking to sign in again).
 */
export function requireSession(deps: Deps) {
  return async function requireSessionHandler(request: FastifyRequest): Promise<void> {
    if (await loadSession(request, deps)) return;
    const refused = await refusedSessionOf(deps.db, deps.clock, sessionTokenOf(request, deps.config));
    if (refused) throw new ApiError(refused.status === "suspended" ? "account_suspended" : "account_closed");
    throw new ApiError("unauthenticated");
  };
}

/** The session `requireSession` loaded; calling it elsewhere is a bug. */
export function authOf(request: FastifyRequest): AuthenticatedSession {
  if (!request.auth) throw new Error("authOf() called on a route without requireSession");
  return request.auth;
}

export function setSessionCookie(
  reply: FastifyReply,
  config: Config,
  token: string,
  session: SessionRow,
): void {
  reply.setCookie(config.sessionCookieName, token, {
    path: "/",
    httpOnly: true,
    sameSite: "lax",
    secure: config.cookieSecure,
    // "Keep me signed in" survives closing the browser; otherwise a browser-session cookie.
    ...(session.persistent === 1 ? { expires: new Date(session.absolute_expires_at) } : {}),
  });
}

export function clearSessionCookie(reply: FastifyReply, config: Config): void {
  reply.clearCookie(config.sessionCookieName, {
    path: "/",
    httpOnly: true,
    sameSite: "lax",
    secure: config.cookieSecure,
  });
}

/**
 * After a privilege change in a browser session: a new cookie value (same session). Bearer tokens
 * are left alone — a header cannot be planted by another site, and API clients keep their token.
 */
export async function renewCookieSession(
  request: FastifyRequest,
  reply: FastifyReply,
  deps: Deps,
): Promise<void> {
  const auth = request.auth;
  if (auth?.session.session_type !== "cookie" || typeof request.headers.authorization === "string") return;
  const token = await rotateSessionSecret(deps.db, deps.random, auth.session.id);
  setSessionCookie(reply, deps.config, token, auth.session);
}
