import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import { isDatabaseReady } from "../db/database.ts";
import type { Deps } from "../deps.ts";

/** Liveness and readiness for load balancers and orchestrators. */
export function registerHealthRoutes(app: FastifyInstance, deps: Deps): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  api.get(
    "/healthz",
    {
      schema: {
        tags: ["operations"],
        summary: "200 while the process lives",
        response: { 200: Type.Object({ status: Type.Literal("ok") }) },
      },
    },
    async () => ({ status: "ok" as const }),
  );
  api.get(
    "/readyz",
    {
      schema: {
        tags: ["operations"],
        summary:
          "200 when the database (within MAMORI_READY_TIMEOUT_MS) and the throttle store (Redis, when configured) answer, else 503",
        response: {
          200: Type.Object({ status: Type.Literal("ready") }),
          503: Type.Object({ status: Type.Literal("unavailable") }),
        },
      },
    },
    async (_request, reply) => {
      const [database, throttle] = await Promise.all([
        isDatabaseReady(deps.db, deps.config.timeouts.readyCheckMs),
        deps.throttle.isReady(),
      ]);
      if (database && throttle) return reply.send({ status: "ready" as const });
      return reply
        .code(503)
        .header("retry-after", "5")
        .send({ status: "unavailable" as const });
    },
  );
}
