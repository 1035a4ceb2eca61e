import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import type { Deps } from "../deps.ts";
import { toApiError } from "../http/flow-errors.ts";
import { authOf, requestMeta, requireSession } from "../http/request-context.ts";
import { errorResponses, IdParams } from "../http/schemas.ts";
import { startEmailChange, undoEmailChange, verifyEmailChange } from "./email-change.ts";
import { startPhoneChange, startPhoneRemoval, verifyPhoneChange } from "./mobile-number.ts";
import { changeName } from "./name-change.ts";

const CodeBody = Type.Object({ code: Type.String({ maxLength: 32 }) }, { additionalProperties: false });
const PhoneChangeSchema = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal("phone"), Type.Literal("phone_removal")]),
  phone: Type.String({ description: "masked: +********5678" }),
  expiresAt: Type.String({ format: "date-time" }),
});

/**
 * The profile in Login & security (docs/decisions/0019-profile-api.md): the name, the email
 * address (a code to the new one; the old one is mailed an undo link) and the mobile number (an
 * SMS code for adding, changing and removing it).
 */
export function registerProfileRoutes(app: FastifyInstance, deps: Deps): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const signedIn = requireSession(deps);

  api.put(
    "/api/v1/security/name",
    {
      preHandler: signedIn,
      schema: {
        tags: ["security settings"],
        summary: "Change the name (the rules of sign-up); the owner is mailed",
        body: Type.Object({ name: Type.String({ maxLength: 400 }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ name: Type.String() }), ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => {
      const result = await changeName(deps, authOf(request), request.body, requestMeta(request));
      if (!result.ok) throw toApiError(result);
      return { name: result.name };
    },
  );

  api.post(
    "/api/v1/security/email-changes",
    {
      preHandler: signedIn,
      schema: {
        tags: ["security settings"],
        summary:
          "Start changing the email address (needs a recent sign-in): a code goes to the new address; a taken address gets the same answer",
        body: Type.Object({ email: Type.String({ maxLength: 320 }) }, { additionalProperties: false }),
        response: {
          201: Type.Object({
            emailChange: Type.Object({
              id: Type.String(),
              email: Type.String(),
              expiresAt: Type.String({ format: "date-time" }),
            }),
          }),
          ...errorResponses(400, 401, 403, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const result = await startEmailChange(deps, authOf(request), request.body, requestMeta(request));
      if (!result.ok) throw toApiError(result);
      return reply.code(201).send({ emailChange: result.emailChange });
    },
  );

  api.post(
    "/api/v1/security/email-changes/:id/verify",
    {
      preHandler: signedIn,
      schema: {
        tags: ["security settings"],
        summary:
          "The code from the new address: it becomes the account's email (and sign-in ID); the old address is mailed a link that undoes it",
        params: IdParams,
        body: CodeBody,
        response: {
          200: Type.Object({ email: Type.String() }),
          ...errorResponses(400, 401, 403, 404, 409, 410, 429, 503),
        },
      },
    },
    async (request) => {
      const result = await verifyEmailChange(
        deps,
        authOf(request),
        request.params.id,
        request.body.code,
        requestMeta(request),
      );
      if (!result.ok) throw toApiError(result);
      return { email: result.email };
    },
  );

  api.post(
    "/api/v1/email-change-undos",
    {
      schema: {
        tags: ["security settings"],
        summary:
          "This wasn't me: the token from the mail to the old address puts it back (once, within the period); every session ends",
        body: Type.Object(
          { token: Type.String({ minLength: 1, maxLength: 128 }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ status: Type.Literal("email_change_undone") }),
          ...errorResponses(400, 403, 410, 503),
        },
      },
    },
    async (request) => {
      const result = await undoEmailChange(deps, request.body.token, requestMeta(request));
      if (!result.ok) throw toApiError(result);
      return { status: "email_change_undone" as const };
    },
  );

  api.post(
    "/api/v1/security/phone-changes",
    {
      preHandler: signedIn,
      schema: {
        tags: ["security settings"],
        summary:
          "Add or change the mobile number (needs a recent sign-in): an SMS code goes to it; mobiles only (050 IP phones cannot receive SMS)",
        body: Type.Object(
          { phone: Type.String({ maxLength: 40, description: "090-1234-5678, +819012345678, …" }) },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({ phoneChange: PhoneChangeSchema }),
          ...errorResponses(400, 401, 403, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const result = await startPhoneChange(deps, authOf(request), request.body, requestMeta(request));
      if (!result.ok) throw toApiError(result);
      return reply.code(201).send({ phoneChange: result.phoneChange });
    },
  );

  api.delete(
    "/api/v1/security/phone",
    {
      preHandler: signedIn,
      schema: {
        tags: ["security settings"],
        summary: "Remove the mobile number (needs a recent sign-in): an SMS code goes to it first",
        response: {
          202: Type.Object({ phoneChange: PhoneChangeSchema }),
          ...errorResponses(401, 403, 404, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const result = await startPhoneRemoval(deps, authOf(request), requestMeta(request));
      if (!result.ok) throw toApiError(result);
      return reply.code(202).send({ phoneChange: result.phoneChange });
    },
  );

  api.post(
    "/api/v1/security/phone-changes/:id/verify",
    {
      preHandler: signedIn,
      schema: {
        tags: ["security settings"],
        summary:
          "The SMS code: the number becomes the account's (leaving any other account that had it, whose owner is mailed), or is removed",
        params: IdParams,
        body: CodeBody,
        response: {
          200: Type.Object({ phone: Type.Union([Type.String(), Type.Null()]) }),
          ...errorResponses(400, 401, 403, 404, 410, 429, 503),
        },
      },
    },
    async (request) => {
      const result = await verifyPhoneChange(
        deps,
        authOf(request),
        request.params.id,
        request.body.code,
        requestMeta(request),
      );
      if (!result.ok) throw toApiError(result);
      return { phone: result.phone };
    },
  );
}
