import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import type { Deps } from "../deps.ts";
import { ApiError } from "../http/errors.ts";
import { loadSession } from "../http/request-context.ts";
import { errorResponses } from "../http/schemas.ts";
import type { AuthenticatedSession } from "../session/sessions.ts";
import { acrOf, amrOf, factorsOf } from "./assurance.ts";

/**
 * Forward authentication: `GET /api/v1/session/check` answers "who is this?" for a proxy (nginx
 * `auth_request`, Traefik `forwardAuth`, Caddy `forward_auth`) or a shop's back end, from the
 * session cookie or a bearer token the request carries. 200 with the person in `X-Mamori-*`
 * headers (and a JSON body), or 401 — or 403 when `aal=2` asks for two-step verification the
 * session has not passed. Never cached: a revoked session must stop working at once.
 */
export const sessionCheckPath = "/api/v1/session/check";

const CheckResponse = Type.Object({
  account: Type.Object({
    id: Type.String(),
    email: Type.String(),
    emailVerified: Type.Boolean(),
    name: Type.String(),
    phone: Type.Union([Type.String(), Type.Null()]),
    phoneVerified: Type.Boolean(),
    locale: Type.Union([Type.Literal("ja"), Type.Literal("en")]),
  }),
  session: Type.Object({
    id: Type.String(),
    aal: Type.Integer({
      minimum: 1,
      maximum: 2,
      description: "Assurance level: 2 after two-step verification",
    }),
    acr: Type.String({ description: "urn:mamori:aal1 or urn:mamori:aal2" }),
    amr: Type.Array(Type.String(), { description: "RFC 8176 methods: pwd, otp, sms, tel, swk, mfa, …" }),
    authenticatedAt: Type.String({ format: "date-time" }),
    expiresAt: Type.String({ format: "date-time" }),
  }),
});

/**
 * A header value must be visible ASCII. Names (山田 花子) and internationalised email addresses are
 * not: everything outside printable ASCII, and "%" itself, is percent-encoded as UTF-8, so
 * `decodeURIComponent` on the shop's side gives the exact value back and plain ASCII is unchanged.
 */
export function headerValue(text: string): string {
  return text.replace(/[^\x21-\x24\x26-\x7e]/gu, (character) => encodeURIComponent(character));
}

export type SessionCheck = {
  account: {
    id: string;
    email: string;
    emailVerified: boolean;
    name: string;
    phone: string | null;
    phoneVerified: boolean;
    locale: "ja" | "en";
  };
  session: {
    id: string;
    aal: number;
    acr: string;
    amr: string[];
    authenticatedAt: string;
    expiresAt: string;
  };
};

export function toSessionCheck(auth: AuthenticatedSession): SessionCheck {
  const { account, session } = auth;
  const factors = factorsOf(session);
  return {
    account: {
      id: account.id,
      email: account.email,
      emailVerified: account.email_verified_at !== null,
      name: account.name,
      phone: account.phone_verified_at !== null ? account.phone : null,
      phoneVerified: account.phone !== null && account.phone_verified_at !== null,
      locale: account.locale,
    },
    session: {
      id: session.id,
      aal: session.aal,
      acr: acrOf(session.aal),
      amr: amrOf(factors, session.aal),
      authenticatedAt: session.authenticated_at,
      expiresAt: [session.idle_expires_at, session.absolute_expires_at].sort()[0] ?? session.idle_expires_at,
    },
  };
}

/** Who is signed in, for the proxy to pass on, and that the answer varies with the credentials. */
export function identityHeaders(check: SessionCheck): Record<string, string> {
  return {
    "x-mamori-account-id": check.account.id,
    "x-mamori-email": headerValue(check.account.email),
    "x-mamori-name": headerValue(check.account.name),
    "x-mamori-aal": String(check.session.aal),
    "x-mamori-amr": check.session.amr.join(","),
    vary: "Cookie, Authorization",
  };
}

export function registerSessionCheckRoutes(app: FastifyInstance, deps: Deps): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.get(
    sessionCheckPath,
    {
      schema: {
        tags: ["integration"],
        summary:
          "Forward authentication (nginx auth_request): who the session cookie or bearer token belongs to, in X-Mamori-Account-Id, X-Mamori-Email, X-Mamori-Name (non-ASCII percent-encoded as UTF-8), X-Mamori-Aal and X-Mamori-Amr headers and the body; 401 without a live session, 403 `insufficient_assurance` when `aal=2` is asked for and the session has not passed two-step verification",
        querystring: Type.Object(
          {
            aal: Type.Optional(
              Type.Union([Type.Literal("1"), Type.Literal("2")], {
                description: "The assurance level required: 2 = two-step verification passed",
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: CheckResponse, ...errorResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const auth = await loadSession(request, deps);
      if (!auth) throw new ApiError("unauthenticated");
      if (request.query.aal === "2" && auth.session.aal < 2) throw new ApiError("insufficient_assurance");
      const check = toSessionCheck(auth);
      reply.headers(identityHeaders(check));
      return check;
    },
  );
}
