import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import type { Deps } from "../../deps.ts";
import { ApiError } from "../../http/errors.ts";
import { refuseDuringMaintenance, toApiError } from "../../http/flow-errors.ts";
import { FlowTokenField, FlowTokenHeaders, flowTokenFor, requireFlowToken } from "../../http/flow-token.ts";
import { authOf, requestMeta, requireSession } from "../../http/request-context.ts";
import { errorResponses, IdParams } from "../../http/schemas.ts";
import { findWaitingRecovery } from "./outcome.ts";
import {
  cancelRecoveryAsOwner,
  cancelRecoveryWithLink,
  proveTwoStepRecovery,
  resendTwoStepRecoveryCode,
  startTwoStepRecovery,
} from "./two-step-recovery.ts";

const Cancelled = Type.Object({ status: Type.Literal("cancelled") });

/**
 * The JSON API of "I can't receive my two-step codes" (decision 0021): start from a sign-in
 * challenge, prove the mailed code and the password, cancel by the link's token or as the signed-in
 * owner, and read the waiting recovery from Login & security.
 */
export function registerTwoStepRecoveryRoutes(app: FastifyInstance, deps: Deps): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const maintenance = refuseDuringMaintenance(deps);
  const signedIn = requireSession(deps);

  api.post(
    "/api/v1/sign-in/challenges/:id/recovery",
    {
      preHandler: [maintenance, requireFlowToken(deps.config, "sign_in_challenge", "challenge_not_found")],
      schema: {
        tags: ["two-step recovery"],
        summary:
          "Can't receive the two-step codes: a 6-digit code goes to the account's email (starts a two-step recovery)",
        params: IdParams,
        headers: FlowTokenHeaders,
        response: {
          202: Type.Object({
            twoStepRecovery: Type.Object({
              id: Type.String(),
              expiresAt: Type.String({ format: "date-time" }),
              flowToken: FlowTokenField,
            }),
          }),
          ...errorResponses(400, 404, 409, 410, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const result = await startTwoStepRecovery(deps, request.params.id, requestMeta(request));
      if (!result.ok) throw toApiError(result);
      const flowToken = flowTokenFor(deps.config, "two_step_recovery", result.twoStepRecovery.id);
      return reply.code(202).send({ twoStepRecovery: { ...result.twoStepRecovery, flowToken } });
    },
  );

  api.post(
    "/api/v1/two-step-recoveries/:id/verify",
    {
      preHandler: [
        maintenance,
        requireFlowToken(deps.config, "two_step_recovery", "two_step_recovery_not_found"),
      ],
      schema: {
        tags: ["two-step recovery"],
        summary:
          "The emailed code and the password: the waiting period starts and the owner is told on every channel",
        params: IdParams,
        headers: FlowTokenHeaders,
        body: Type.Object(
          {
            code: Type.String({ maxLength: 32 }),
            password: Type.String({ minLength: 1, maxLength: 4096 }),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            twoStepRecovery: Type.Object({
              id: Type.String(),
              state: Type.Literal("waiting"),
              completesAt: Type.String({ format: "date-time" }),
            }),
          }),
          ...errorResponses(400, 401, 404, 409, 410, 429, 503),
        },
      },
    },
    async (request) => {
      const result = await proveTwoStepRecovery(deps, request.params.id, request.body, requestMeta(request));
      if (!result.ok) throw toApiError(result);
      return { twoStepRecovery: result.twoStepRecovery };
    },
  );

  api.post(
    "/api/v1/two-step-recoveries/:id/resend",
    {
      preHandler: [
        maintenance,
        requireFlowToken(deps.config, "two_step_recovery", "two_step_recovery_not_found"),
      ],
      schema: {
        tags: ["two-step recovery"],
        summary: "Mail a new code (the old one stops working); 60-second cooldown, at most 5 sends",
        params: IdParams,
        headers: FlowTokenHeaders,
        response: { 202: Type.Object({}), ...errorResponses(404, 409, 410, 429, 503) },
      },
    },
    async (request, reply) => {
      const result = await resendTwoStepRecoveryCode(deps, request.params.id);
      if (!result.ok) throw toApiError(result);
      return reply.code(202).send({});
    },
  );

  api.post(
    "/api/v1/two-step-recoveries/cancel",
    {
      schema: {
        tags: ["two-step recovery"],
        summary:
          "Cancel a waiting two-step recovery with the single-use token of the mailed or texted link (nothing else)",
        body: Type.Object(
          { token: Type.String({ minLength: 1, maxLength: 200 }) },
          { additionalProperties: false },
        ),
        response: { 200: Cancelled, ...errorResponses(400, 404, 503) },
      },
    },
    async (request) => {
      const result = await cancelRecoveryWithLink(deps, request.body.token, requestMeta(request));
      if (!result.ok) throw toApiError(result);
      return { status: "cancelled" as const };
    },
  );

  api.get(
    "/api/v1/security/two-step/recovery",
    {
      preHandler: signedIn,
      schema: {
        tags: ["security settings"],
        summary: "The two-step recovery waiting on this account, if any (null otherwise)",
        response: {
          200: Type.Object({
            twoStepRecovery: Type.Union([
              Type.Object({
                id: Type.String(),
                state: Type.Literal("waiting"),
                startedBy: Type.Union([Type.Literal("account"), Type.Literal("operator")]),
                createdAt: Type.String({ format: "date-time" }),
                completesAt: Type.String({ format: "date-time" }),
              }),
              Type.Null(),
            ]),
          }),
          ...errorResponses(401),
        },
      },
    },
    async (request) => {
      const waiting = await findWaitingRecovery(deps.db, authOf(request).account.id);
      return {
        twoStepRecovery: waiting
          ? {
              id: waiting.id,
              state: "waiting" as const,
              startedBy: waiting.started_by,
              createdAt: waiting.created_at,
              completesAt: waiting.completes_at ?? waiting.created_at,
            }
          : null,
      };
    },
  );

  api.post(
    "/api/v1/security/two-step/recovery/cancel",
    {
      preHandler: signedIn,
      schema: {
        tags: ["security settings"],
        summary: "Cancel the two-step recovery waiting on this account (the owner is mailed)",
        response: { 200: Cancelled, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => {
      const result = await cancelRecoveryAsOwner(deps, authOf(request).account, requestMeta(request));
      if (!result.ok) throw new ApiError(result.code);
      return { status: "cancelled" as const };
    },
  );
}
