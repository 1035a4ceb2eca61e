import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import { recordAuditEvent } from "../audit/audit.ts";
import type { Deps } from "../deps.ts";
import type { RequestMeta } from "../flows/flow-result.ts";
import { requireRecentAuthentication } from "../flows/two-step-settings/guards.ts";
import { toApiError } from "../http/flow-errors.ts";
import { authOf, clearSessionCookie, requestMeta, requireSession } from "../http/request-context.ts";
import { errorResponses } from "../http/schemas.ts";
import type { AuthenticatedSession } from "../session/sessions.ts";
import { closeOwnAccount } from "./closing.ts";
import { type DataExport, DataExportSchema, exportAccountData } from "./data-export.ts";

/**
 * The API of closing the account and downloading one's data (decision 0020): the same rules as
 * the pages (./closing-pages.ts), since both call ./closing.ts and ./data-export.ts.
 */
export function registerAccountClosingRoutes(app: FastifyInstance, deps: Deps): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const signedIn = requireSession(deps);

  api.post(
    "/api/v1/security/close",
    {
      preHandler: signedIn,
      schema: {
        tags: ["security settings"],
        summary:
          "Close the account: needs a recent sign-in, a recent second factor while two-step is on, and {confirm:true}; every session, trusted browser and shop's grant ends, the owner is mailed, and the personal data is erased after the grace period",
        body: Type.Object({ confirm: Type.Boolean() }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            status: Type.Literal("closed"),
            closedAt: Type.String({ format: "date-time" }),
            eraseAfter: Type.String({ format: "date-time" }),
          }),
          ...errorResponses(400, 401, 403),
        },
      },
    },
    async (request, reply) => {
      const result = await closeOwnAccount(deps, authOf(request), request.body.confirm, requestMeta(request));
      if (!result.ok) throw toApiError(result);
      clearSessionCookie(reply, deps.config);
      return { status: "closed" as const, closedAt: result.closedAt, eraseAfter: result.eraseAfter };
    },
  );

  api.get(
    "/api/v1/security/export",
    {
      preHandler: signedIn,
      schema: {
        tags: ["security settings"],
        summary:
          "Everything held about the signed-in person, without any secret (needs a recent sign-in: 403 reauthentication_required)",
        response: { 200: DataExportSchema, ...errorResponses(401, 403) },
      },
    },
    async (request, reply) => {
      const exported = await exportForOwner(deps, authOf(request), requestMeta(request));
      if (!exported.ok) throw toApiError(exported.failure);
      reply.header("cache-control", "no-store");
      return exported.data;
    },
  );
}

/** The export, after the recent-sign-in check, audited (who downloaded it, from where). */
export async function exportForOwner(
  deps: Deps,
  auth: AuthenticatedSession,
  meta: RequestMeta,
): Promise<
  | { ok: true; data: DataExport }
  | { ok: false; failure: NonNullable<ReturnType<typeof requireRecentAuthentication>> }
> {
  const refused = requireRecentAuthentication({ deps, auth, meta });
  if (refused) return { ok: false, failure: refused };
  const data = await exportAccountData(deps, auth.account);
  await recordAuditEvent(deps.db, deps, {
    type: "account.data_exported",
    accountId: auth.account.id,
    actor: "account",
    ip: meta.ip,
    userAgent: meta.userAgent,
  });
  return { ok: true, data };
}
