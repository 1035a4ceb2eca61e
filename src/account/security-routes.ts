import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import type { Deps } from "../deps.ts";
import { TwoStepStatusSchema } from "../flows/two-step-settings/routes.ts";
import { twoStepStatus } from "../flows/two-step-settings/two-step-settings.ts";
import { ApiError } from "../http/errors.ts";
import { toApiError } from "../http/flow-errors.ts";
import {
  authOf,
  clearSessionCookie,
  renewCookieSession,
  requestMeta,
  requireSession,
} from "../http/request-context.ts";
import { errorResponses } from "../http/schemas.ts";
import { maskPhone } from "../identity/identifiers.ts";
import { listActivity, reportNotMe } from "./activity.ts";
import { changePassword } from "./password-change.ts";

/** Login & security settings (shared/API.md): what is set, and changing the password. */
export function registerSecurityRoutes(app: FastifyInstance, deps: Deps): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const signedIn = requireSession(deps);

  api.get(
    "/api/v1/security",
    {
      preHandler: signedIn,
      schema: {
        tags: ["security settings"],
        summary: "Login & security: email, phone (masked), when the password changed, two-step status",
        response: {
          200: Type.Object({
            email: Type.String(),
            phone: Type.Union([Type.String(), Type.Null()]),
            passwordChangedAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
            twoStep: TwoStepStatusSchema,
          }),
          ...errorResponses(401),
        },
      },
    },
    async (request) => {
      const account = authOf(request).account;
      return {
        email: account.email,
        phone: account.phone && account.phone_verified_at ? maskPhone(account.phone) : null,
        passwordChangedAt: account.password_changed_at,
        twoStep: await twoStepStatus(deps.db, account),
      };
    },
  );

  api.put(
    "/api/v1/security/password",
    {
      preHandler: signedIn,
      schema: {
        tags: ["security settings"],
        summary: "Change the password: needs the current one; other sessions end, the owner is mailed",
        body: Type.Object(
          {
            // Empty: asked for (invalid_request), never counted as a wrong password.
            currentPassword: Type.String({ minLength: 1, maxLength: 4096 }),
            newPassword: Type.String({ maxLength: 4096 }),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ status: Type.Literal("password_changed"), sessionsRevoked: Type.Integer() }),
          ...errorResponses(400, 401, 403, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const result = await changePassword(deps, authOf(request), request.body, requestMeta(request));
      if (!result.ok) throw toApiError(result);
      await renewCookieSession(request, reply, deps);
      return { status: "password_changed" as const, sessionsRevoked: result.sessionsRevoked };
    },
  );

  api.get(
    "/api/v1/security/activity",
    {
      preHandler: signedIn,
      schema: {
        tags: ["security settings"],
        summary: "Sign-in activity: recent sign-ins and security changes, newest first",
        response: {
          200: Type.Object({
            activity: Type.Array(
              Type.Object({
                id: Type.String(),
                type: Type.String(),
                at: Type.String({ format: "date-time" }),
                browser: Type.Union([Type.String(), Type.Null()]),
                place: Type.Union([Type.String(), Type.Null()]),
                ip: Type.Union([Type.String(), Type.Null()]),
              }),
            ),
          }),
          ...errorResponses(401),
        },
      },
    },
    async (request) => {
      const account = authOf(request).account;
      return { activity: await listActivity(deps, account.id, request.locale) };
    },
  );

  api.post(
    "/api/v1/security/not-me",
    {
      preHandler: signedIn,
      schema: {
        tags: ["security settings"],
        summary:
          "This wasn't me: sign out everywhere (this session too), forget trusted browsers, and start a password reset by email",
        response: {
          200: Type.Object({
            passwordReset: Type.Object({
              id: Type.String(),
              expiresAt: Type.String({ format: "date-time" }),
            }),
          }),
          ...errorResponses(401, 403, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const result = await reportNotMe(deps, authOf(request), requestMeta(request));
      clearSessionCookie(reply, deps.config);
      if (!result.ok)
        throw new ApiError("too_many_attempts", { retryAfterSeconds: result.retryAfterSeconds });
      return { passwordReset: result.passwordReset };
    },
  );
}
