import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance, FastifyReply } from "fastify";
import { Type } from "typebox";
import type { Config } from "../../config/config.ts";
import type { Deps } from "../../deps.ts";
import { cookieName } from "../../http/cookie-names.ts";
import { refuseDuringMaintenance, toApiError } from "../../http/flow-errors.ts";
import { FlowTokenField, FlowTokenHeaders, requireFlowToken } from "../../http/flow-token.ts";
import { requestMeta, setSessionCookie } from "../../http/request-context.ts";
import {
  AccountResponse,
  errorResponses,
  IdParams,
  SessionResponse,
  SessionTypeSchema,
} from "../../http/schemas.ts";
import { type AccountRow, toPublicAccount } from "../../identity/accounts.ts";
import { type SessionRow, toPublicSession } from "../../session/sessions.ts";
import { trustedDeviceCookieName } from "../../session/trusted-devices.ts";
import { challengeAnswer, handChallengeToBrowser } from "./challenge-browser.ts";
import { resendSecondFactor, switchSecondFactor, verifySecondFactor } from "./second-factor.ts";
import { signInWithPassword } from "./sign-in.ts";

const MethodKind = Type.Union([Type.Literal("sms"), Type.Literal("voice"), Type.Literal("totp")]);
const PublicMethodSchema = Type.Object({
  id: Type.String(),
  method: MethodKind,
  destination: Type.Union([Type.String(), Type.Null()]),
});
export const ChallengeSchema = Type.Object({
  id: Type.String(),
  method: MethodKind,
  destination: Type.Union([Type.String(), Type.Null()]),
  expiresAt: Type.String({ format: "date-time" }),
  alternatives: Type.Array(PublicMethodSchema),
  flowToken: FlowTokenField,
});
export const SignedInSchema = Type.Object({
  status: Type.Literal("signed_in"),
  account: AccountResponse,
  session: SessionResponse,
  twoStepRecovered: Type.Optional(
    Type.Literal(true, {
      description:
        "Two-step verification was just turned off by a recovery whose wait ended: ask the person to set it up again (decision 0021)",
    }),
  ),
});

/** The cookie that lets this browser skip the second factor (30 days), HttpOnly like the session's. */
export function setTrustedDeviceCookie(reply: FastifyReply, config: Config, token: string): void {
  reply.setCookie(cookieName(config, trustedDeviceCookieName), token, {
    path: "/",
    httpOnly: true,
    sameSite: "lax",
    secure: config.cookieSecure,
    maxAge: config.limits.trustedDeviceSeconds,
  });
}

export function signedInBody(
  reply: FastifyReply,
  config: Config,
  result: { account: AccountRow; token: string; session: SessionRow; twoStepRecovered?: true },
) {
  const sessionType = result.session.session_type;
  if (sessionType === "cookie") setSessionCookie(reply, config, result.token, result.session);
  return {
    status: "signed_in" as const,
    account: toPublicAccount(result.account),
    session: {
      ...toPublicSession(result.session),
      ...(sessionType === "token" ? { token: result.token } : {}),
    },
    ...(result.twoStepRecovered ? { twoStepRecovered: true as const } : {}),
  };
}

/** The JSON API of sign-in and its second step (shared/API.md, "Sign-in"). */
export function registerSignInRoutes(app: FastifyInstance, deps: Deps): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const maintenance = refuseDuringMaintenance(deps);
  // Every step of a challenge needs the token the answer that started it gave (decision 0013).
  const step = [maintenance, requireFlowToken(deps.config, "sign_in_challenge", "challenge_not_found")];

  api.post(
    "/api/v1/sign-in",
    {
      preHandler: maintenance,
      schema: {
        tags: ["sign-in"],
        summary: "Sign in with an email or a verified mobile number and a password",
        body: Type.Object(
          {
            // An empty identifier or password is a slip, refused as invalid_request (the message asks
            // for the field) before it counts as a failure.
            identifier: Type.String({ minLength: 1, maxLength: 320 }),
            password: Type.String({ minLength: 1, maxLength: 4096 }),
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
          200: Type.Union([
            SignedInSchema,
            Type.Object({ status: Type.Literal("two_step_required"), challenge: ChallengeSchema }),
          ]),
          ...errorResponses(400, 401, 403, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const result = await signInWithPassword(
        deps,
        {
          identifier: request.body.identifier,
          password: request.body.password,
          sessionType: request.body.sessionType ?? "cookie",
          keepSignedIn: request.body.keepSignedIn ?? false,
          trustedDeviceToken: request.cookies[cookieName(deps.config, trustedDeviceCookieName)],
        },
        requestMeta(request),
      );
      if (!result.ok) throw toApiError(result);
      if (result.status === "two_step_required") {
        handChallengeToBrowser(deps.config, reply, result.challenge.id);
        return reply.send({
          status: result.status,
          challenge: challengeAnswer(deps.config, result.challenge),
        });
      }
      return reply.send(signedInBody(reply, deps.config, result));
    },
  );

  api.post(
    "/api/v1/sign-in/challenges/:id/verify",
    {
      preHandler: step,
      schema: {
        tags: ["sign-in"],
        summary: "The second step: a code from the app, the phone, or a recovery code",
        params: IdParams,
        headers: FlowTokenHeaders,
        body: Type.Object(
          {
            code: Type.String({ maxLength: 32 }),
            method: Type.Optional(
              Type.Union([MethodKind, Type.Literal("recovery_code")], {
                description: "The challenge's current method when absent",
              }),
            ),
            methodId: Type.Optional(Type.String({ maxLength: 64 })),
            trustDevice: Type.Optional(
              Type.Boolean({ description: "Don't ask for codes on this browser for 30 days (cookie)" }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: SignedInSchema, ...errorResponses(400, 404, 410, 429, 503) },
      },
    },
    async (request, reply) => {
      const result = await verifySecondFactor(deps, request.params.id, request.body, requestMeta(request));
      if (!result.ok) throw toApiError(result);
      if (result.trustedDeviceToken) setTrustedDeviceCookie(reply, deps.config, result.trustedDeviceToken);
      return reply.send(signedInBody(reply, deps.config, result));
    },
  );

  api.post(
    "/api/v1/sign-in/challenges/:id/switch",
    {
      preHandler: step,
      schema: {
        tags: ["sign-in"],
        summary: "Use a backup method instead (its code is sent when it is a phone)",
        params: IdParams,
        headers: FlowTokenHeaders,
        body: Type.Object(
          { method: MethodKind, methodId: Type.Optional(Type.String({ maxLength: 64 })) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ challenge: ChallengeSchema }),
          ...errorResponses(400, 404, 410, 429, 503),
        },
      },
    },
    async (request) => {
      const result = await switchSecondFactor(deps, request.params.id, request.body, requestMeta(request));
      if (!result.ok) throw toApiError(result);
      return { challenge: challengeAnswer(deps.config, result.challenge) };
    },
  );

  api.post(
    "/api/v1/sign-in/challenges/:id/resend",
    {
      preHandler: step,
      schema: {
        tags: ["sign-in"],
        summary: "Send the phone code again (60-second cooldown)",
        params: IdParams,
        headers: FlowTokenHeaders,
        response: { 202: Type.Object({}), ...errorResponses(400, 404, 410, 429, 503) },
      },
    },
    async (request, reply) => {
      const result = await resendSecondFactor(deps, request.params.id, requestMeta(request));
      if (!result.ok) throw toApiError(result);
      return reply.code(202).send({});
    },
  );
}
