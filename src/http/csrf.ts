import type { FastifyReply, FastifyRequest } from "fastify";
import type { Config } from "../config/config.ts";
import { constantTimeEqual, hmacHex, newSecret } from "../crypto/secrets.ts";
import type { Random } from "../deps.ts";
import { cookieName } from "./cookie-names.ts";

const unsafeMethods = new Set(["POST", "PUT", "PATCH", "DELETE"]);
/** The form-token cookie's name outside production (`__Host-mamori_csrf` in it: ./cookie-names.ts). */
export const csrfCookieName = "mamori_csrf";
/** The console session cookie's name outside production (src/staff/staff-sessions.ts sets it). */
export const staffCookieBase = "mamori_staff";

/**
 * The origin check for every state-changing request (login CSRF included). A browser tells where
 * a request comes from: Sec-Fetch-Site must be same-origin (or none: typed by the person), else
 * the Origin must be one of ours. A request with neither header comes from no browser, and is let
 * through only when it carries no session cookie, a customer's or staff's (the console's): then
 * there is no ambient authority to abuse.
 */
export function isCrossSiteRequest(request: FastifyRequest, config: Config): boolean {
  if (!unsafeMethods.has(request.method)) return false;
  // Sign in with Apple answers with a POST from appleid.apple.com (form_post) to its exact callback
  // path: let in here, it is bound by its state and this browser's flow cookie instead (src/federation).
  if (request.method === "POST" && config.federation.formPostPaths.has(request.url.split("?")[0] ?? ""))
    return false;
  const fetchSite = request.headers["sec-fetch-site"];
  if (typeof fetchSite === "string") return !(fetchSite === "same-origin" || fetchSite === "none");
  const origin = request.headers.origin;
  if (typeof origin === "string") return !config.allowedOrigins.has(origin);
  const hasSessionCookie =
    request.cookies[config.sessionCookieName] !== undefined ||
    request.cookies[cookieName(config, staffCookieBase)] !== undefined;
  const hasBearer = typeof request.headers.authorization === "string";
  return hasSessionCookie && !hasBearer;
}

/**
 * The HTML form token: a random value in a cookie, signed with the server key, and the same value
 * in a hidden field (double submit). A cross-site form can send the cookie but cannot read it.
 */
export function ensureCsrfToken(
  request: FastifyRequest,
  reply: FastifyReply,
  config: Config,
  random: Random,
): string {
  const name = cookieName(config, csrfCookieName);
  const existing = request.cookies[name];
  if (existing && isValidCsrfToken(existing, config)) return existing;
  const value = newSecret(random);
  const token = `${value}.${hmacHex(config.signingKey, "csrf", value)}`;
  reply.setCookie(name, token, {
    path: "/",
    httpOnly: true,
    sameSite: "lax",
    secure: config.cookieSecure,
  });
  // The first page a browser sees must work before the cookie comes back.
  request.cookies[name] = token;
  return token;
}

function isValidCsrfToken(token: string, config: Config): boolean {
  const dot = token.indexOf(".");
  if (dot <= 0) return false;
  const value = token.slice(0, dot);
  const mac = token.slice(dot + 1);
  return config.secretKeys.some((key) => constantTimeEqual(hmacHex(key, "csrf", value), mac));
}

/** True when a submitted form carries the token of this browser's CSRF cookie. */
export function isValidFormToken(request: FastifyRequest, submitted: unknown, config: Config): boolean {
  const cookie = request.cookies[cookieName(config, csrfCookieName)];
  if (!cookie || typeof submitted !== "string" || !isValidCsrfToken(cookie, config)) return false;
  return constantTimeEqual(cookie, submitted);
}
