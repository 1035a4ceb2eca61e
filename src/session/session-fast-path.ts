import type { IncomingMessage, Server, ServerResponse } from "node:http";
import cookiePlugin from "@fastify/cookie";
import type { Deps } from "../deps.ts";
import { securityHeaders } from "../http/security-headers.ts";
import { type PublicAccount, toPublicAccount } from "../identity/accounts.ts";
import { renderCachedSession } from "./session-lookup.ts";
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

// The answer depends on the session and account alone, so it is made once per cached row.
const renderSessionAnswer = (auth: AuthenticatedSession): string => JSON.stringify(sessionAnswer(auth));

// Not `import … from "node:http"`: an ES module import of node:http builds its export list by
// reading every export, and the lazy WebSocket, CloseEvent and MessageEvent ones load Node's
// bundled undici and web streams (about 5 MiB of resident memory) that Mamori never uses.
const http = process.getBuiltinModule("node:http");

type FastPath = (request: IncomingMessage, response: ServerResponse) => boolean;

/**
 * `GET /api/v1/session` answered before Fastify when the session cache holds a live session for
 * the request's cookie: the commonest request a shop's pages make, about half of whose time went
 * to the framework (hooks, cookie and header handling, routing). It answers the same status,
 * headers and body as the route (a test compares them) and nothing else: with a bearer token, an
 * unknown or refused session, a touch of last_seen_at due, or anything unusual, it steps aside and
 * Fastify answers (and fills the cache). None when every request is logged (LOG_LEVEL info or
 * debug): Fastify writes those lines.
 */
export function sessionFastPath(deps: Deps): FastPath | undefined {
  if (deps.log.isLevelEnabled("info")) return undefined;
  const cookieName = deps.config.sessionCookieName;
  const headers = {
    ...securityHeaders(deps.config),
    "content-type": "application/json; charset=utf-8",
    // As the onSend hook sets on every API answer (app.ts).
    "cache-control": "no-store",
  };
  return (request, response) => {
    if (request.method !== "GET" || request.url !== "/api/v1/session") return false;
    const cookie = request.headers.cookie;
    if (cookie === undefined || request.headers.authorization !== undefined) return false;
    let body: string;
    try {
      // The parser @fastify/cookie gives the route, so both read the same cookie the same way.
      const token = cookiePlugin.fastifyCookie.parse(cookie)[cookieName];
      const rendered = token ? renderCachedSession(deps.db, deps, token, renderSessionAnswer) : undefined;
      if (rendered === undefined) return false;
      body = rendered;
    } catch {
      // Whatever failed (a malformed cookie, the database), Fastify's route answers it properly.
      return false;
    }
    response.writeHead(200, { ...headers, "content-length": Buffer.byteLength(body) });
    response.end(body);
    return true;
  };
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
      if (!fastPath(request, response)) handler(request, response);
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
