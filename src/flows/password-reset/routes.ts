import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import type { Deps } from "../../deps.ts";
import { refuseDuringMaintenance, toApiError } from "../../http/flow-errors.ts";
import { FlowTokenField, FlowTokenHeaders, flowTokenFor, requireFlowToken } from "../../http/flow-token.ts";
import { requestMeta } from "../../http/request-context.ts";
import { errorResponses, IdParams } from "../../http/schemas.ts";
import {
  completePasswordReset,
  requestPasswordReset,
  resendPasswordResetCode,
  verifyPasswordResetCode,
} from "./password-reset.ts";

/** The JSON API of "forgot password" (shared/API.md, "Password reset"). */
export function registerPasswordResetRoutes(app: FastifyInstance, deps: Deps): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const maintenance = refuseDuringMaintenance(deps);
  // Every step after the first needs the token the first answer gave (decision 0013).
  const step = [maintenance, requireFlowToken(deps.config, "password_reset", "password_reset_not_found")];

  api.post(
    "/api/v1/password-resets",
    {
      preHandler: maintenance,
      schema: {
        tags: ["password reset"],
        summary:
          "Start a reset: a 6-digit code goes to the account's email. The same 202 whether or not the account exists",
        body: Type.Object(
          {
            identifier: Type.String({ maxLength: 320, description: "an email or a verified mobile number" }),
          },
          { additionalProperties: false },
        ),
        response: {
          202: Type.Object({
            passwordReset: Type.Object({
              id: Type.String(),
              expiresAt: Type.String({ format: "date-time" }),
              flowToken: FlowTokenField,
            }),
          }),
          ...errorResponses(400, 415, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const result = await requestPasswordReset(
        deps,
        request.body.identifier,
        request.locale,
        requestMeta(request),
      );
      if (!result.ok) throw toApiError(result);
      const flowToken = flowTokenFor(deps.config, "password_reset", result.passwordReset.id);
      return reply.code(202).send({ passwordReset: { ...result.passwordReset, flowToken } });
    },
  );

  api.post(
    "/api/v1/password-resets/:id/verify",
    {
      preHandler: step,
      schema: {
        tags: ["password reset"],
        summary: "Check the emailed code; 5 wrong tries end the reset",
        params: IdParams,
        headers: FlowTokenHeaders,
        body: Type.Object({ code: Type.String({ maxLength: 32 }) }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            passwordReset: Type.Object({
              id: Type.String(),
              verified: Type.Literal(true),
              expiresAt: Type.String({ format: "date-time" }),
            }),
          }),
          ...errorResponses(400, 404, 410, 429, 503),
        },
      },
    },
    async (request) => {
      const result = await verifyPasswordResetCode(deps, request.params.id, request.body.code);
      if (!result.ok) throw toApiError(result);
      return { passwordReset: result.passwordReset };
    },
  );

  api.post(
    "/api/v1/password-resets/:id/complete",
    {
      preHandler: step,
      schema: {
        tags: ["password reset"],
        summary:
          "Set the new password (after verify): every session of the account ends and the owner is mailed",
        params: IdParams,
        headers: FlowTokenHeaders,
        body: Type.Object({ newPassword: Type.String({ maxLength: 4096 }) }, { additionalProperties: false }),
        response: {
          200: Type.Object({ status: Type.Literal("password_changed") }),
          ...errorResponses(400, 404, 409, 410, 429, 503),
        },
      },
    },
    async (request) => {
      const result = await completePasswordReset(
        deps,
        request.params.id,
        request.body.newPassword,
        requestMeta(request),
      );
      if (!result.ok) throw toApiError(result);
      return { status: result.status };
    },
  );

  api.post(
    "/api/v1/password-resets/:id/resend",
    {
      preHandler: step,
      schema: {
        tags: ["password reset"],
        summary: "Send a new code (the old one stops working); 60-second cooldown, at most 5 sends",
        params: IdParams,
        headers: FlowTokenHeaders,
        response: { 202: Type.Object({}), ...errorResponses(404, 410, 429, 503) },
      },
    },
    async (request, reply) => {
      const result = await resendPasswordResetCode(deps, request.params.id);
      if (!result.ok) throw toApiError(result);
      return reply.code(202).send({});
    },
  );
}
