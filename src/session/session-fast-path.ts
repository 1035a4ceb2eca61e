import type { IncomingMessage, Server, ServerResponse } from "node:http";
import cookiePlugin from "@fastify/cookie";
import type { Deps } from "../deps.ts";
import { securityHeaders } from "../http/security-headers.ts";
import { type PublicAccount, toPublicAccount } from "../identity/accounts.ts";
import { identityHeaders, sessionCheckPath, toSessionCheck } from "../integration/session-check-routes.ts";
import { httpRequestCounter } from "../operations/metrics.ts";
import { fastPathLog } from "./fast-path-log.ts";
import { answeredLater, answerFromCache } from "./session-lookup.ts";
import { type AuthenticatedSession, toPublicSession } from "./sessions.ts";

export type SessionAnswer = {
  account: PublicAccount;
  session: { id: string; createdAt: string; expiresAt: string; lastSeenAt: string };
};

/** The body of `GET /api/v1/session`: the signed-in account and this session. */
export function sessionAnswer(auth: AuthenticatedSession): SessionAnswer {
  const s = toPublicSession(auth.session);
  return {
    account: toPublicAccount(auth.account),
    session: { id: s.id, createdAt: s.createdAt, expiresAt: s.expiresAt, lastSeenAt: s.lastSeenAt },
  };
}

// Not `import … from "node:http"`: an ES module import of node:http builds its export list by
// reading every export, and the lazy WebSocket, CloseEvent and MessageEvent ones load Node's
// bundled undici and web streams (about 2 MiB of resident memory) that Mamori never uses.
const http = process.getBuiltinModule("node:http");

/** A cached session's answer: made once per cached row, since it depends on the row alone. */
type CachedAnswer = { aal: number; body: string; headers: Record<string, string | number> };

type FastRoute = {
  requiredAal: 1 | 2;
  render: (auth: AuthenticatedSession) => CachedAnswer;
  /** Its line in `mamori_http_requests_total`, as Fastify's onResponse hook would count it. */
  counted: { inc(): void };
};

/** Answers the request, or calls `next` (Fastify) — at once, or after the cache's barrier on PostgreSQL. */
type FastPath = (request: IncomingMessage, response: ServerResponse, next: () => void) => void;

/**
 * The session checks answered before Fastify when the session cache holds a live session for the
 * request's cookie: `GET /api/v1/session`, the commonest request a shop's pages make, and
 * `GET /api/v1/session/check` (with `aal=1` or `aal=2` or without), which a proxy's forward
 * authentication makes for every request it lets through. About half of their time went to the
 * framework (hooks, cookie and header handling, routing). Each answers the same status, headers and
 * body as its route (a test compares them) and nothing else: with a bearer token, an unknown or
 * refused session, a touch of last_seen_at due, a session below the level `aal=2` asks for, another
 * query string or anything unusual, it steps aside and Fastify answers (and fills the cache). On
 * PostgreSQL the answer waits for the change feed's barrier (session-cache-postgres.ts), shared by
 * the requests that arrive together, with no promise per request. When requests are logged (LOG_LEVEL info or debug), each one
 * answered here is logged here, in one line with what Fastify's two would say (requestLogLine).
 */
export function sessionFastPath(deps: Deps): FastPath {
  const cookieName = deps.config.sessionCookieName;
  const apiHeaders = {
    ...securityHeaders(deps.config),
    "content-type": "application/json; charset=utf-8",
    // As the onSend hook sets on every API answer (app.ts).
    "cache-control": "no-store",
  };
  const answer = (auth: AuthenticatedSession, body: string, extra: Record<string, string> = {}) => ({
    aal: auth.session.aal,
    body,
    headers: { ...apiHeaders, ...extra, "content-length": Buffer.byteLength(body) },
  });
  const renderSession = (auth: AuthenticatedSession): CachedAnswer =>
    answer(auth, JSON.stringify(sessionAnswer(auth)));
  const renderCheck = (auth: AuthenticatedSession): CachedAnswer => {
    const check = toSessionCheck(auth);
    return answer(auth, JSON.stringify(check), identityHeaders(check));
  };
  const route = (url: string, requiredAal: 1 | 2, render: FastRoute["render"]): [string, FastRoute] => {
    const path = url.split("?")[0] ?? url;
    return [url, { requiredAal, render, counted: httpRequestCounter("GET", path, 200) }];
  };
  const routes = new Map<string, FastRoute>([
    route("/api/v1/session", 1, renderSession),
    route(sessionCheckPath, 1, renderCheck),
    route(`${sessionCheckPath}?aal=1`, 1, renderCheck),
    route(`${sessionCheckPath}?aal=2`, 2, renderCheck),
  ]);
  const logRequest = fastPathLog(deps.log, deps.config.trustProxy);
  return (request, response, next) => {
    const fast = request.method === "GET" ? routes.get(request.url ?? "") : undefined;
    const cookie = fast ? sessionCookieHeader(request.rawHeaders) : undefined;
    if (!fast || cookie === undefined) {
      next();
      return;
    }
    const started = logRequest ? performance.now() : 0;
    const respond = (cached: CachedAnswer | undefined): void => {
      // Below the level asked for, the route answers 403 insufficient_assurance.
      if (cached === undefined || cached.aal < fast.requiredAal) {
        next();
        return;
      }
      response.writeHead(200, cached.headers);
      response.end(cached.body);
      fast.counted.inc();
      logRequest?.(request, started);
    };
    let cached: CachedAnswer | undefined | typeof answeredLater;
    try {
      // The parser @fastify/cookie gives the route, so both read the same cookie the same way.
      const token = cookiePlugin.fastifyCookie.parse(cookie)[cookieName];
      cached = token ? answerFromCache(deps.db, deps, token, fast.render, respond) : undefined;
    } catch {
      // Whatever failed (a malformed cookie, the database), Fastify's route answers it properly.
      next();
      return;
    }
    // On PostgreSQL `respond` is called once the change feed's barrier is back.
    if (cached !== answeredLater) respond(cached);
  };
}

/**
 * The request's one Cookie header, read from its raw headers (building `request.headers` costs
 * more than finding one name): undefined when there is none, more than one, or an Authorization
 * header (a bearer token is the route's to judge), so that Fastify answers those.
 */
function sessionCookieHeader(raw: readonly string[]): string | undefined {
  let cookie: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] ?? "";
    if (name.length === 6 && name.toLowerCase() === "cookie") {
      if (cookie !== undefined) return undefined;
      cookie = raw[i + 1];
    } else if (name.length === 13 && name.toLowerCase() === "authorization") return undefined;
  }
  return cookie;
}

/**
 * Fastify's `serverFactory`: the HTTP server Fastify would make (with the timeouts of its options),
 * with `fastPath` asked first.
 */
export function serverWithFastPath(fastPath: FastPath) {
  return (
    handler: (request: IncomingMessage, response: ServerResponse) => void,
    options: Record<string, unknown>,
  ): Server => {
    const server = http.createServer((request, response) => {
      fastPath(request, response, () => handler(request, response));
    });
    const number = (name: string): number | undefined =>
      typeof options[name] === "number" ? options[name] : undefined;
    server.keepAliveTimeout = number("keepAliveTimeout") ?? server.keepAliveTimeout;
    server.requestTimeout = number("requestTimeout") ?? server.requestTimeout;
    server.setTimeout(number("connectionTimeout") ?? 0);
    const maxRequestsPerSocket = number("maxRequestsPerSocket");
    if (maxRequestsPerSocket) server.maxRequestsPerSocket = maxRequestsPerSocket;
    return server;
  };
}
