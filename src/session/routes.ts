import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import { recordAuditEvent } from "../audit/audit.ts";
import type { Deps } from "../deps.ts";
import { reauthenticateWithPassword } from "../flows/reauthentication/reauthentication.ts";
import { completeStepUp, startStepUp } from "../flows/reauthentication/step-up.ts";
import { ApiError } from "../http/errors.ts";
import { toApiError } from "../http/flow-errors.ts";
import {
  authOf,
  clearSessionCookie,
  renewCookieSession,
  requestMeta,
  requireSession,
} from "../http/request-context.ts";
import {
  AccountResponse,
  errorResponses,
  IdParams,
  SessionListItem,
  SessionResponse,
} from "../http/schemas.ts";
import { sessionAnswer } from "./session-fast-path.ts";
import { listLiveSessions, revokeAccountSessions, revokeSession, toPublicSession } from "./sessions.ts";

/** Sessions: who am I, sign out, list and revoke sessions, reauthenticate (shared/API.md, "Sign-in"). */
export function registerSessionRoutes(app: FastifyInstance, deps: Deps): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const signedIn = requireSession(deps);

  api.get(
    "/api/v1/session",
    {
      preHandler: signedIn,
      schema: {
        tags: ["session"],
        summary: "The signed-in account and this session",
        response: {
          200: Type.Object({ account: AccountResponse, session: SessionResponse }),
          ...errorResponses(401),
        },
      },
    },
    async (request) => sessionAnswer(authOf(request)),
  );

  api.delete(
    "/api/v1/session",
    {
      preHandler: signedIn,
      schema: {
        tags: ["session"],
        summary: "Sign out",
        response: { 204: Type.Null(), ...errorResponses(401, 403) },
      },
    },
    async (request, reply) => {
      const auth = authOf(request);
      await revokeSession(deps.db, auth.account.id, auth.session.id, deps.clock.now());
      await recordAuditEvent(deps.db, deps, {
        type: "session.revoked",
        accountId: auth.account.id,
        actor: "account",
        ...requestMeta(request),
        detail: { sessionId: auth.session.id, reason: "sign_out" },
      });
      clearSessionCookie(reply, deps.config);
      return reply.code(204).send(null);
    },
  );

  api.get(
    "/api/v1/sessions",
    {
      preHandler: signedIn,
      schema: {
        tags: ["session"],
        summary: "The account's live sessions, this one marked current",
        response: { 200: Type.Object({ sessions: Type.Array(SessionListItem) }), ...errorResponses(401) },
      },
    },
    async (request) => {
      const auth = authOf(request);
      const rows = await listLiveSessions(deps.db, auth.account.id, deps.clock.now());
      return {
        sessions: rows.map((row) => {
          const s = toPublicSession(row);
          return {
            id: s.id,
            createdAt: s.createdAt,
            expiresAt: s.expiresAt,
            lastSeenAt: s.lastSeenAt,
            current: row.id === auth.session.id,
            ip: s.ip,
            userAgent: s.userAgent,
          };
        }),
      };
    },
  );

  api.delete(
    "/api/v1/sessions/:id",
    {
      preHandler: signedIn,
      schema: {
        tags: ["session"],
        summary: "Revoke one of the account's sessions",
        params: IdParams,
        response: { 204: Type.Null(), ...errorResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const auth = authOf(request);
      const revoked = await revokeSession(deps.db, auth.account.id, request.params.id, deps.clock.now());
      if (!revoked) throw new ApiError("session_not_found");
      await recordAuditEvent(deps.db, deps, {
        type: "session.revoked",
        accountId: auth.account.id,
        actor: "account",
        ...requestMeta(request),
        detail: { sessionId: request.params.id, reason: "revoked_by_owner" },
      });
      if (request.params.id === auth.session.id) clearSessionCookie(reply, deps.config);
      return reply.code(204).send(null);
    },
  );

  api.delete(
    "/api/v1/sessions",
    {
      preHandler: signedIn,
      schema: {
        tags: ["session"],
        summary: "Sign out everywhere else (`scope=others`)",
        querystring: Type.Object({ scope: Type.Literal("others") }, { additionalProperties: false }),
        response: { 204: Type.Null(), ...errorResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const auth = authOf(request);
      const count = await revokeAccountSessions(deps.db, auth.account.id, auth.session.id, deps.clock.now());
      await recordAuditEvent(deps.db, deps, {
        type: "session.revoked_others",
        accountId: auth.account.id,
        actor: "account",
        ...requestMeta(request),
        detail: { count },
      });
      return reply.code(204).send(null);
    },
  );

  api.post(
    "/api/v1/session/reauthenticate",
    {
      preHandler: signedIn,
      schema: {
        tags: ["session"],
        summary:
          "Prove the password again, or a code from a two-step method or a recovery code (step-up): sensitive settings need it within 10 minutes",
        body: Type.Union([
          Type.Object(
            // Empty is a slip (invalid_request), not a wrong password counted against the account.
            { password: Type.String({ minLength: 1, maxLength: 4096 }) },
            { additionalProperties: false },
          ),
          Type.Object(
            {
              method: Type.Union([
                Type.Literal("sms"),
                Type.Literal("voice"),
                Type.Literal("totp"),
                Type.Literal("recovery_code"),
              ]),
              methodId: Type.Optional(Type.String({ maxLength: 64 })),
              code: Type.String({ maxLength: 32 }),
            },
            { additionalProperties: false },
          ),
        ]),
        response: {
          200: Type.Object({ authenticatedAt: Type.String({ format: "date-time" }) }),
          ...errorResponses(400, 401, 403, 409, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const result =
        "password" in body
          ? await reauthenticateWithPassword(deps, authOf(request), body.password, requestMeta(request))
          : await completeStepUp(deps, authOf(request), body, requestMeta(request));
      if (!result.ok) throw toApiError(result);
      await renewCookieSession(request, reply, deps);
      return { authenticatedAt: result.authenticatedAt };
    },
  );

  api.post(
    "/api/v1/session/step-up",
    {
      preHandler: signedIn,
      schema: {
        tags: ["session"],
        summary:
          "Ask for a step-up code: sent now to a phone method (the primary unless methodId says otherwise); an app's code is just entered",
        body: Type.Object(
          { methodId: Type.Optional(Type.String({ maxLength: 64 })) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            method: Type.Object({
              id: Type.String(),
              method: Type.String(),
              destination: Type.Union([Type.String(), Type.Null()]),
            }),
            expiresAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
          }),
          ...errorResponses(400, 401, 403, 409, 429, 503),
        },
      },
    },
    async (request) => {
      const result = await startStepUp(deps, authOf(request), request.body?.methodId, requestMeta(request));
      if (!result.ok) throw toApiError(result);
      return { method: result.method, expiresAt: result.expiresAt };
    },
  );
}
