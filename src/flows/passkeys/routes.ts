import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from "@simplewebauthn/server";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { Type } from "typebox";
import type { Deps } from "../../deps.ts";
import { passkeyNameMaxLength } from "../../factors/passkey/passkeys.ts";
import { refuseDuringMaintenance, toApiError } from "../../http/flow-errors.ts";
import { authOf, renewCookieSession, requestMeta, requireSession } from "../../http/request-context.ts";
import { errorResponses, IdParams, SessionTypeSchema } from "../../http/schemas.ts";
import { finishPasskeyReauthentication, startPasskeyReauthentication } from "../reauthentication/passkey.ts";
import { challengeAnswer, handChallengeToBrowser } from "../sign-in/challenge-browser.ts";
import { ChallengeSchema, SignedInSchema, setTrustedDeviceCookie, signedInBody } from "../sign-in/routes.ts";
import type { SettingsContext } from "../two-step-settings/guards.ts";
import {
  finishPasskeyRegistration,
  listAccountPasskeys,
  removeAccountPasskey,
  renameAccountPasskey,
  startPasskeyRegistration,
} from "./manage.ts";
import { finishPasskeyAuthentication, startPasskeyAuthentication } from "./sign-in.ts";
import { registerPasskeySignalRoutes } from "./signal-routes.ts";

// What @simplewebauthn/browser's startRegistration()/startAuthentication() return (WebAuthn's JSON
// serialisation). The inner objects accept fields browsers add later (WebAuthn Level 3 adds some);
// the signed parts are checked byte for byte by the verifier.
const base64url = (maxLength: number) => Type.String({ maxLength, pattern: "^[A-Za-z0-9_-]*$" });
const Extensions = Type.Object({}, { additionalProperties: true });
const Attachment = Type.Optional(Type.Union([Type.Literal("platform"), Type.Literal("cross-platform")]));

const RegistrationCredential = Type.Object(
  {
    id: base64url(1024),
    rawId: base64url(1024),
    type: Type.Literal("public-key"),
    response: Type.Object(
      {
        clientDataJSON: base64url(4096),
        attestationObject: base64url(8192),
        transports: Type.Optional(Type.Array(Type.String({ maxLength: 32 }), { maxItems: 10 })),
      },
      { additionalProperties: true },
    ),
    clientExtensionResults: Extensions,
    authenticatorAttachment: Attachment,
  },
  { additionalProperties: false },
);

const AuthenticationCredential = Type.Object(
  {
    id: base64url(1024),
    rawId: base64url(1024),
    type: Type.Literal("public-key"),
    response: Type.Object(
      {
        clientDataJSON: base64url(4096),
        authenticatorData: base64url(4096),
        signature: base64url(2048),
        userHandle: Type.Optional(base64url(256)),
      },
      { additionalProperties: true },
    ),
    clientExtensionResults: Extensions,
    authenticatorAttachment: Attachment,
  },
  { additionalProperties: false },
);

const PasskeySchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  createdAt: Type.String({ format: "date-time" }),
  lastUsedAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
  synced: Type.Boolean({ description: "May be synced to the owner's other devices (backup eligible)" }),
  userVerified: Type.Boolean({ description: "The authenticator verified the person when it was added" }),
});

const Options = Type.Unknown({
  description:
    "WebAuthn options in JSON form: pass to @simplewebauthn/browser, or decode for navigator.credentials",
});
const ChallengeIdSchema = Type.String({ minLength: 1, maxLength: 64 });

/** The JSON API of passkeys (docs/decisions/0006-passkeys-api.md). */
export function registerPasskeyRoutes(app: FastifyInstance, deps: Deps): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const signedIn = requireSession(deps);
  const maintenance = refuseDuringMaintenance(deps);
  const context = (request: FastifyRequest): SettingsContext => ({
    deps,
    auth: authOf(request),
    meta: requestMeta(request),
  });
  const tags = ["passkeys"];
  registerPasskeySignalRoutes(app, deps);

  api.post(
    "/api/v1/passkeys/registration/options",
    {
      preHandler: signedIn,
      schema: {
        tags,
        summary: "Start adding a passkey (a recent sign-in, and a step-up code while two-step is on)",
        querystring: Type.Object(
          {
            mediation: Type.Optional(
              Type.Literal("conditional", {
                description:
                  "A conditional create (WebAuthn L3) right after a password sign-in: the answer may lack user presence",
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ challengeId: Type.String(), options: Options }),
          ...errorResponses(401, 403),
        },
      },
    },
    async (request) => {
      const result = await startPasskeyRegistration(context(request), {
        conditional: request.query.mediation === "conditional",
      });
      if (!result.ok) throw toApiError(result);
      return { challengeId: result.challengeId, options: result.options };
    },
  );

  api.post(
    "/api/v1/passkeys/registration/verify",
    {
      preHandler: signedIn,
      schema: {
        tags,
        summary: "Finish adding a passkey with the browser's answer; the owner is mailed",
        body: Type.Object(
          {
            challengeId: ChallengeIdSchema,
            credential: RegistrationCredential,
            name: Type.Optional(Type.String({ maxLength: passkeyNameMaxLength })),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({ passkey: PasskeySchema }),
          ...errorResponses(400, 401, 403, 404, 409, 410),
        },
      },
    },
    async (request, reply) => {
      const result = await finishPasskeyRegistration(context(request), {
        challengeId: request.body.challengeId,
        // The schema above checked the shape; the verifier checks every signed byte.
        credential: request.body.credential as RegistrationResponseJSON,
        name: request.body.name,
      });
      if (!result.ok) throw toApiError(result);
      return reply.code(201).send({ passkey: result.passkey });
    },
  );

  api.post(
    "/api/v1/passkeys/authentication/options",
    {
      preHandler: maintenance,
      schema: {
        tags,
        summary:
          "Start a passkey sign-in; with signInChallengeId, the passkey is the second factor of that waiting sign-in",
        body: Type.Object(
          {
            signInChallengeId: Type.Optional(
              Type.String({
                minLength: 1,
                maxLength: 64,
                description: "A sign-in challenge waiting for its second factor; `{}` for a passkey sign-in",
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ challengeId: Type.String(), options: Options }),
          ...errorResponses(400, 404, 410, 429, 503),
        },
      },
    },
    async (request) => {
      const result = await startPasskeyAuthentication(
        deps,
        { signInChallengeId: request.body.signInChallengeId },
        requestMeta(request),
      );
      if (!result.ok) throw toApiError(result);
      return { challengeId: result.challengeId, options: result.options };
    },
  );

  api.post(
    "/api/v1/passkeys/authentication/verify",
    {
      preHandler: maintenance,
      schema: {
        tags,
        summary:
          "Sign in with a passkey: with user verification no code is asked; without it, an account with two-step on gets its challenge",
        body: Type.Object(
          {
            challengeId: ChallengeIdSchema,
            credential: AuthenticationCredential,
            sessionType: Type.Optional(SessionTypeSchema),
            keepSignedIn: Type.Optional(Type.Boolean()),
            trustDevice: Type.Optional(
              Type.Boolean({
                description: "As the second factor: don't ask for codes on this browser for 30 days",
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
          ...errorResponses(400, 403, 404, 410, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const result = await finishPasskeyAuthentication(
        deps,
        {
          challengeId: body.challengeId,
          // The schema above checked the shape; the verifier checks every signed byte.
          credential: body.credential as AuthenticationResponseJSON,
          sessionType: body.sessionType ?? "cookie",
          keepSignedIn: body.keepSignedIn ?? false,
          trustDevice: body.trustDevice ?? false,
        },
        requestMeta(request),
      );
      if (!result.ok) throw toApiError(result);
      if (result.status === "two_step_required") {
        handChallengeToBrowser(deps.config, reply, result.challenge.id);
        return { status: result.status, challenge: challengeAnswer(deps.config, result.challenge) };
      }
      if (result.trustedDeviceToken) setTrustedDeviceCookie(reply, deps.config, result.trustedDeviceToken);
      return signedInBody(reply, deps.config, result);
    },
  );

  api.post(
    "/api/v1/passkeys/reauthentication/options",
    {
      preHandler: signedIn,
      schema: {
        tags,
        summary:
          "Start proving it's you again with one of the signed-in account's passkeys (instead of the password)",
        description:
          "`allowCredentials` names the account's passkeys; 404 `passkey_not_found` when it has none. The challenge belongs to this session.",
        response: {
          200: Type.Object({ challengeId: Type.String(), options: Options }),
          ...errorResponses(401, 403, 404, 429, 503),
        },
      },
    },
    async (request) => {
      const result = await startPasskeyReauthentication(deps, authOf(request), requestMeta(request));
      if (!result.ok) throw toApiError(result);
      return { challengeId: result.challengeId, options: result.options };
    },
  );

  api.post(
    "/api/v1/passkeys/reauthentication/verify",
    {
      preHandler: signedIn,
      schema: {
        tags,
        summary:
          "Finish a reauthentication with a passkey: a recent sign-in, as the password; with user verification also a step-up",
        body: Type.Object(
          { challengeId: ChallengeIdSchema, credential: AuthenticationCredential },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            authenticatedAt: Type.String({ format: "date-time" }),
            steppedUp: Type.Boolean({
              description:
                "The device verified the person (UV): the passkey also counts as a step-up (second factor, AAL2)",
            }),
          }),
          ...errorResponses(400, 401, 403, 404, 410, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const result = await finishPasskeyReauthentication(
        deps,
        authOf(request),
        {
          challengeId: request.body.challengeId,
          // The schema above checked the shape; the verifier checks every signed byte.
          credential: request.body.credential as AuthenticationResponseJSON,
        },
        requestMeta(request),
      );
      if (!result.ok) throw toApiError(result);
      await renewCookieSession(request, reply, deps);
      return { authenticatedAt: result.authenticatedAt, steppedUp: result.steppedUp };
    },
  );

  api.get(
    "/api/v1/passkeys",
    {
      preHandler: signedIn,
      schema: {
        tags,
        summary: "The account's passkeys, oldest first",
        response: { 200: Type.Object({ passkeys: Type.Array(PasskeySchema) }), ...errorResponses(401) },
      },
    },
    async (request) => ({ passkeys: await listAccountPasskeys(context(request)) }),
  );

  api.patch(
    "/api/v1/passkeys/:id",
    {
      preHandler: signedIn,
      schema: {
        tags,
        summary: "Rename a passkey",
        params: IdParams,
        body: Type.Object(
          { name: Type.String({ minLength: 1, maxLength: passkeyNameMaxLength }) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ passkey: PasskeySchema }), ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      const result = await renameAccountPasskey(context(request), request.params.id, request.body.name);
      if (!result.ok) throw toApiError(result);
      return { passkey: result.passkey };
    },
  );

  api.delete(
    "/api/v1/passkeys/:id",
    {
      preHandler: signedIn,
      schema: {
        tags,
        summary:
          "Remove a passkey (recent sign-in; step-up while two-step is on). The last passkey of an account without a password stays",
        params: IdParams,
        response: { 204: Type.Null(), ...errorResponses(401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const result = await removeAccountPasskey(context(request), request.params.id);
      if (!result.ok) throw toApiError(result);
      return reply.code(204).send(null);
    },
  );
}
