import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { Type } from "typebox";
import type { Deps } from "../../deps.ts";
import { toApiError } from "../../http/flow-errors.ts";
import { authOf, renewCookieSession, requestMeta, requireSession } from "../../http/request-context.ts";
import { errorResponses, IdParams } from "../../http/schemas.ts";
import { startEnrollment, verifyEnrollment } from "./enrollment.ts";
import type { SettingsContext } from "./guards.ts";
import { disableTwoStep, enableTwoStep, regenerateRecoveryCodes, removeMethod } from "./two-step-settings.ts";

const MethodKind = Type.Union([Type.Literal("sms"), Type.Literal("voice"), Type.Literal("totp")]);
const PublicMethodSchema = Type.Object({
  id: Type.String(),
  method: MethodKind,
  destination: Type.Union([Type.String(), Type.Null()]),
});
export const TwoStepStatusSchema = Type.Object({
  enabled: Type.Boolean(),
  primary: Type.Union([PublicMethodSchema, Type.Null()]),
  backups: Type.Array(PublicMethodSchema),
  recoveryCodesLeft: Type.Integer(),
});

/** Login & security -> Advanced security settings (shared/API.md, "Login & security settings"). */
export function registerTwoStepSettingsRoutes(app: FastifyInstance, deps: Deps): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const signedIn = requireSession(deps);
  const context = (request: FastifyRequest): SettingsContext => ({
    deps,
    auth: authOf(request),
    meta: requestMeta(request),
  });
  const guarded = [400, 401, 403, 404, 409, 429] as const;

  api.post(
    "/api/v1/security/two-step/methods",
    {
      preHandler: signedIn,
      schema: {
        tags: ["two-step verification"],
        summary:
          "Add a method: a phone gets its code now (SMS or voice call); an app gets a QR code (SVG) and its key — the same set-up and key again while one of the same role is pending (30 minutes), a new key after DELETE of the set-up",
        body: Type.Object(
          {
            role: Type.Union([Type.Literal("primary"), Type.Literal("backup")]),
            method: MethodKind,
            phone: Type.Optional(
              Type.String({ maxLength: 40, description: "090-1234-5678, +819012345678, …" }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({
            enrollment: Type.Object({
              id: Type.String(),
              method: MethodKind,
              destination: Type.Optional(Type.String()),
              otpauthUri: Type.Optional(Type.String()),
              qrSvg: Type.Optional(Type.String()),
              secret: Type.Optional(Type.String({ description: "the key in groups of four, for typing" })),
              expiresAt: Type.Optional(Type.String({ format: "date-time" })),
            }),
          }),
          ...errorResponses(...guarded),
        },
      },
    },
    async (request, reply) => {
      const result = await startEnrollment(context(request), request.body);
      if (!result.ok) throw toApiError(result);
      return reply.code(201).send({ enrollment: result.enrollment });
    },
  );

  api.post(
    "/api/v1/security/two-step/methods/:id/verify",
    {
      preHandler: signedIn,
      schema: {
        tags: ["two-step verification"],
        summary: "Confirm a new method with a code from it",
        params: IdParams,
        body: Type.Object({ code: Type.String({ maxLength: 32 }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ method: PublicMethodSchema }), ...errorResponses(...guarded, 410) },
      },
    },
    async (request, reply) => {
      const result = await verifyEnrollment(context(request), request.params.id, request.body.code);
      if (!result.ok) throw toApiError(result);
      await renewCookieSession(request, reply, deps);
      return { method: result.method };
    },
  );

  api.post(
    "/api/v1/security/two-step/enable",
    {
      preHandler: signedIn,
      schema: {
        tags: ["two-step verification"],
        summary:
          "Turn two-step verification on (a verified primary is needed); the 10 recovery codes are shown once",
        response: {
          200: Type.Object({ twoStep: TwoStepStatusSchema, recoveryCodes: Type.Array(Type.String()) }),
          ...errorResponses(...guarded),
        },
      },
    },
    async (request) => {
      const result = await enableTwoStep(context(request));
      if (!result.ok) throw toApiError(result);
      return { twoStep: result.twoStep, recoveryCodes: result.recoveryCodes };
    },
  );

  api.delete(
    "/api/v1/security/two-step/methods/:id",
    {
      preHandler: signedIn,
      schema: {
        tags: ["two-step verification"],
        summary: "Remove a backup method (or a set-up not finished)",
        params: IdParams,
        response: { 204: Type.Null(), ...errorResponses(...guarded) },
      },
    },
    async (request, reply) => {
      const result = await removeMethod(context(request), request.params.id);
      if (!result.ok) throw toApiError(result);
      return reply.code(204).send(null);
    },
  );

  api.post(
    "/api/v1/security/two-step/disable",
    {
      preHandler: signedIn,
      schema: {
        tags: ["two-step verification"],
        summary:
          "Turn two-step verification off (confirm: true, after a confirmation page): methods, recovery codes and trusted devices go",
        body: Type.Object({ confirm: Type.Boolean() }, { additionalProperties: false }),
        response: { 200: Type.Object({ twoStep: TwoStepStatusSchema }), ...errorResponses(...guarded) },
      },
    },
    async (request) => {
      const result = await disableTwoStep(context(request), request.body.confirm);
      if (!result.ok) throw toApiError(result);
      return { twoStep: result.twoStep };
    },
  );

  api.post(
    "/api/v1/security/two-step/recovery-codes",
    {
      preHandler: signedIn,
      schema: {
        tags: ["two-step verification"],
        summary: "Ten new recovery codes; the old ones stop working",
        response: {
          200: Type.Object({ recoveryCodes: Type.Array(Type.String()) }),
          ...errorResponses(...guarded),
        },
      },
    },
    async (request) => {
      const result = await regenerateRecoveryCodes(context(request));
      if (!result.ok) throw toApiError(result);
      return { recoveryCodes: result.recoveryCodes };
    },
  );
}
