import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import type { Deps } from "../../deps.ts";
import { refuseDuringMaintenance, toApiError } from "../../http/flow-errors.ts";
import { FlowTokenField, FlowTokenHeaders, flowTokenFor, requireFlowToken } from "../../http/flow-token.ts";
import { requestMeta, setSessionCookie } from "../../http/request-context.ts";
import {
  AccountResponse,
  errorResponses,
  IdParams,
  LocaleSchema,
  SessionResponse,
  SessionTypeSchema,
} from "../../http/schemas.ts";
import { toPublicAccount } from "../../identity/accounts.ts";
import { toPublicSession } from "../../session/sessions.ts";
import { resendRegistrationCode, startRegistration, verifyRegistration } from "./registration.ts";

const RegistrationBody = Type.Object(
  {
    name: Type.String({ maxLength: 200 }),
    email: Type.String({ maxLength: 320 }),
    password: Type.String({ maxLength: 4096 }),
    locale: Type.Optional(LocaleSchema),
  },
  { additionalProperties: false },
);

/** The JSON API of registration (shared/API.md, "Registration"). */
export function registerRegistrationRoutes(app: FastifyInstance, deps: Deps): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const maintenance = refuseDuringMaintenance(deps);
  // Every step after the first needs the token the first answer gave (decision 0013).
  const step = [maintenance, requireFlowToken(deps.config, "registration", "registration_not_found")];

  api.post(
    "/api/v1/registrations",
    {
      preHandler: maintenance,
      schema: {
        tags: ["registration"],
        summary:
          "Start a registration: the 6-digit code goes to the email (the same answer when it is taken)",
        body: RegistrationBody,
        response: {
          201: Type.Object({
            registration: Type.Object({
              id: Type.String(),
              email: Type.String(),
              expiresAt: Type.String({ format: "date-time" }),
              flowToken: FlowTokenField,
            }),
          }),
          ...errorResponses(400, 415, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const result = await startRegistration(
        deps,
        {
          name: body.name,
          email: body.email,
          password: body.password,
          locale: body.locale ?? request.locale,
        },
        requestMeta(request),
      );
      if (!result.ok) throw toApiError(result);
      return reply.code(201).send({
        registration: {
          ...result.registration,
          flowToken: flowTokenFor(deps.config, "registration", result.registration.id),
        },
      });
    },
  );

  api.post(
    "/api/v1/registrations/:id/verify",
    {
      preHandler: step,
      schema: {
        tags: ["registration"],
        summary: "Verify the emailed code: the account is created and signed in",
        params: IdParams,
        headers: FlowTokenHeaders,
        body: Type.Object(
          { code: Type.String({ maxLength: 32 }), sessionType: Type.Optional(SessionTypeSchema) },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({ account: AccountResponse, session: SessionResponse }),
          ...errorResponses(400, 404, 409, 410, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const result = await verifyRegistration(
        deps,
        request.params.id,
        request.body.code,
        requestMeta(request),
      );
      if (!result.ok) throw toApiError(result);
      const session = {
        ...toPublicSession(result.session),
        ...(request.body.sessionType === "token" ? { token: result.token } : {}),
      };
      if (request.body.sessionType !== "token")
        setSessionCookie(reply, deps.config, result.token, result.session);
      return reply.code(201).send({ account: toPublicAccount(result.account), session });
    },
  );

  api.post(
    "/api/v1/registrations/:id/resend",
    {
      preHandler: step,
      schema: {
        tags: ["registration"],
        summary: "Send a new code (the old one stops working); 60-second cooldown",
        params: IdParams,
        headers: FlowTokenHeaders,
        response: { 202: Type.Object({}), ...errorResponses(404, 410, 429, 503) },
      },
    },
    async (request, reply) => {
      const result = await resendRegistrationCode(deps, request.params.id);
      if (!result.ok) throw toApiError(result);
      return reply.code(202).send({});
    },
  );
}
