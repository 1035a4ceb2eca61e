import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import type { Deps } from "../../deps.ts";
import { refuseDuringMaintenance, toApiError } from "../../http/flow-errors.ts";
import { FlowTokenField, FlowTokenHeaders, flowTokenFor, requireFlowToken } from "../../http/flow-token.ts";
import { requestMeta } from "../../http/request-context.ts";
import { errorResponses, IdParams } from "../../http/schemas.ts";
import { requestEmailReminder, resendEmailReminder, verifyEmailReminder } from "./email-reminder.ts";

/** The JSON API of "forgot your email?" (docs/decisions/0002-forgot-email-api.md). */
export function registerEmailReminderRoutes(app: FastifyInstance, deps: Deps): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const maintenance = refuseDuringMaintenance(deps);
  // Every step after the first needs the token the first answer gave (decision 0013).
  const step = [maintenance, requireFlowToken(deps.config, "email_reminder", "email_reminder_not_found")];

  api.post(
    "/api/v1/email-reminders",
    {
      preHandler: maintenance,
      schema: {
        tags: ["password reset"],
        summary:
          "Forgot your email? A code goes by SMS to the number when it is an account's verified mobile; the same 202 otherwise",
        body: Type.Object({ phone: Type.String({ maxLength: 40 }) }, { additionalProperties: false }),
        response: {
          202: Type.Object({
            emailReminder: Type.Object({
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
      const result = await requestEmailReminder(
        deps,
        request.body.phone,
        request.locale,
        requestMeta(request),
      );
      if (!result.ok) throw toApiError(result);
      return reply.code(202).send({
        emailReminder: {
          ...result.emailReminder,
          flowToken: flowTokenFor(deps.config, "email_reminder", result.emailReminder.id),
        },
      });
    },
  );

  api.post(
    "/api/v1/email-reminders/:id/verify",
    {
      preHandler: step,
      schema: {
        tags: ["password reset"],
        summary: "Check the SMS code: the answer is the account's email, masked",
        params: IdParams,
        headers: FlowTokenHeaders,
        body: Type.Object({ code: Type.String({ maxLength: 32 }) }, { additionalProperties: false }),
        response: {
          200: Type.Object({ email: Type.String({ description: "masked, e.g. t***@example.co.jp" }) }),
          ...errorResponses(400, 404, 410, 429, 503),
        },
      },
    },
    async (request) => {
      const result = await verifyEmailReminder(
        deps,
        request.params.id,
        request.body.code,
        requestMeta(request),
      );
      if (!result.ok) throw toApiError(result);
      return { email: result.maskedEmail };
    },
  );

  api.post(
    "/api/v1/email-reminders/:id/resend",
    {
      preHandler: step,
      schema: {
        tags: ["password reset"],
        summary: "Send a new SMS code (the old one stops working); 60-second cooldown",
        params: IdParams,
        headers: FlowTokenHeaders,
        response: { 202: Type.Object({}), ...errorResponses(404, 429, 503) },
      },
    },
    async (request, reply) => {
      const result = await resendEmailReminder(deps, request.params.id);
      if (!result.ok) throw toApiError(result);
      return reply.code(202).send({});
    },
  );
}
