import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import type { Deps } from "../../deps.ts";
import { refuseDuringMaintenance, toApiError } from "../../http/flow-errors.ts";
import { requestMeta, setSessionCookie } from "../../http/request-context.ts";
import { AccountResponse, errorResponses, SessionResponse, SessionTypeSchema } from "../../http/schemas.ts";
import { toPublicAccount } from "../../identity/accounts.ts";
import { toPublicSession } from "../../session/sessions.ts";
import { signInWithPassword } from "./sign-in.ts";

/** The JSON API of sign-in (shared/API.md, "Sign-in"). */
export function registerSignInRoutes(app: FastifyInstance, deps: Deps): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.post(
    "/api/v1/sign-in",
    {
      preHandler: refuseDuringMaintenance(deps),
      schema: {
        tags: ["sign-in"],
        summary: "Sign in with an email or a verified mobile number and a password",
        body: Type.Object(
          {
            identifier: Type.String({ maxLength: 320 }),
            password: Type.String({ maxLength: 4096 }),
            sessionType: Type.Optional(SessionTypeSchema),
            keepSignedIn: Type.Optional(
              Type.Boolean({
                description:
                  "Keep me signed in: 14 days idle / 90 days at most, instead of this browser session",
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            status: Type.Literal("signed_in"),
            account: AccountResponse,
            session: SessionResponse,
          }),
          ...errorResponses(400, 401, 403, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const sessionType = request.body.sessionType ?? "cookie";
      const result = await signInWithPassword(
        deps,
        {
          identifier: request.body.identifier,
          password: request.body.password,
          sessionType,
          keepSignedIn: request.body.keepSignedIn ?? false,
        },
        requestMeta(request),
      );
      if (!result.ok) throw toApiError(result);
      const session = {
        ...toPublicSession(result.session),
        ...(sessionType === "token" ? { token: result.token } : {}),
      };
      if (sessionType === "cookie") setSessionCookie(reply, deps.config, result.token, result.session);
      return reply.send({ status: result.status, account: toPublicAccount(result.account), session });
    },
  );
}
