import type { FastifyRequest } from "fastify";
import type { Deps } from "../deps.ts";
import type { FlowFailure } from "../flows/flow-result.ts";
import { maintenanceMessage, maintenanceRetryAfter, readMaintenanceMode } from "../operations/maintenance.ts";
import { ApiError } from "./errors.ts";

/** Turns a flow's expected failure into the API error the client sees. */
export function toApiError(f: FlowFailure): ApiError {
  return new ApiError(f.code, {
    ...(f.field ? { field: f.field } : {}),
    ...(f.extra ? { extra: f.extra } : {}),
    ...(f.values ? { values: f.values } : {}),
    ...(f.retryAfterSeconds !== undefined ? { retryAfterSeconds: f.retryAfterSeconds } : {}),
  });
}

/** A preHandler for sign-in, registration and reset: 503 `maintenance` with the operator's message. */
export function refuseDuringMaintenance(deps: Deps) {
  return async function maintenanceGuard(request: FastifyRequest): Promise<void> {
    const mode = await readMaintenanceMode(deps.db);
    if (mode.on) {
      const message = maintenanceMessage(mode, request.locale);
      throw new ApiError("maintenance", {
        retryAfterSeconds: maintenanceRetryAfter(mode, deps.clock.now()),
        ...(message ? { message } : {}),
      });
    }
  };
}
