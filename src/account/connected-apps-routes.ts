import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import type { Deps } from "../deps.ts";
import { ApiError } from "../http/errors.ts";
import { authOf, requestMeta, requireSession } from "../http/request-context.ts";
import { errorResponses } from "../http/schemas.ts";
import { listConnectedApps, removeConnectedApp } from "../oidc/connected-apps.ts";

/**
 * "Apps and websites" as JSON (docs/decisions/0010-connected-apps.md): the shops the signed-in
 * account allowed to sign it in with Mamori, and removing one. Cookie or bearer; a cookie's DELETE
 * must come from Mamori's own origin (the CSRF hook in app.ts).
 */
// The same list as `knownScopes`: a scope added there and not here fails the type check of the route.
const ScopeSchema = Type.Union([
  Type.Literal("openid"),
  Type.Literal("email"),
  Type.Literal("profile"),
  Type.Literal("phone"),
  Type.Literal("offline_access"),
]);

const ConnectedAppSchema = Type.Object({
  clientId: Type.String(),
  name: Type.String(),
  firstAllowedAt: Type.String({ format: "date-time" }),
  lastUsedAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()], {
    description: "When the shop last received a code or token for this account (sign-in or refresh)",
  }),
  scopes: Type.Array(ScopeSchema, {
    description: "OpenID scopes granted: email (email address), profile (name), phone (verified mobile)…",
  }),
});

export function registerConnectedAppsRoutes(app: FastifyInstance, deps: Deps): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const signedIn = requireSession(deps);
  const tags = ["security settings"];

  api.get(
    "/api/v1/security/apps",
    {
      preHandler: signedIn,
      schema: {
        tags,
        summary:
          "Apps and websites: the shops this account allowed to sign it in with Mamori (OpenID Connect)",
        response: { 200: Type.Object({ apps: Type.Array(ConnectedAppSchema) }), ...errorResponses(401) },
      },
    },
    async (request) => ({
      apps: await listConnectedApps(deps.db, authOf(request).account.id, deps.clock.now()),
    }),
  );

  api.delete(
    "/api/v1/security/apps/:clientId",
    {
      preHandler: signedIn,
      schema: {
        tags,
        summary:
          "Remove a shop's access: its grant, codes, access and refresh tokens end; the next sign-in there asks again; the owner is mailed",
        params: Type.Object({ clientId: Type.String({ minLength: 1, maxLength: 64 }) }),
        response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const result = await removeConnectedApp(
        deps,
        authOf(request).account,
        request.params.clientId,
        requestMeta(request),
      );
      if (!result.ok) throw new ApiError(result.code);
      return reply.code(204).send(null);
    },
  );
}
