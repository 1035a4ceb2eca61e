import type { FastifyReply, FastifyRequest } from "fastify";
import { Type } from "typebox";
import type { Config } from "../config/config.ts";
import { constantTimeEqual, hmacHex } from "../crypto/secrets.ts";
import type { ErrorCode } from "./errors.ts";
import { toApiError } from "./flow-errors.ts";

/**
 * A flow started through the JSON API belongs to the client that started it: the first answer
 * gives it a flow token (a MAC of the flow's id with the server key), and every later step must
 * send it back in the `X-Mamori-Flow-Token` header. The pages bind their flows to the browser with
 * a cookie instead (./flow-browser.ts). Attack: a flow id alone (a reset's id from a shared
 * computer's history, a proxy's access log, a screenshot) would otherwise let a stranger set the
 * password once the owner entered the code, spend the owner's tries, or finish the sign-in's
 * second step with a code meant for the owner. Without the right token a step answers as for an
 * unknown flow and does nothing. The token travels in a header, never in a URL, so it stays out of
 * access logs (the id in the path is no secret any more).
 */
export type ApiFlowKind =
  | "registration"
  | "sign_in_challenge"
  | "password_reset"
  | "email_reminder"
  | "two_step_recovery";

export const flowTokenHeader = "x-mamori-flow-token";

/** The header every later step of a flow sends, for the OpenAPI document and validation. */
export const FlowTokenHeaders = Type.Object({
  [flowTokenHeader]: Type.String({
    minLength: 1,
    maxLength: 128,
    description: "The `flowToken` the flow's first answer gave: a step without it acts on nothing",
  }),
});

export const FlowTokenField = Type.String({
  description: "Send it back as the X-Mamori-Flow-Token header on every later step of this flow",
});

function mac(key: Buffer, kind: ApiFlowKind, id: string): string {
  return hmacHex(key, "api-flow-token", kind, id);
}

export function flowTokenFor(config: Pick<Config, "signingKey">, kind: ApiFlowKind, id: string): string {
  return mac(config.signingKey, kind, id);
}

/** Whether the request carries the flow's token (made with any configured key, for rotation). */
export function hasFlowToken(
  config: Pick<Config, "secretKeys">,
  request: FastifyRequest,
  kind: ApiFlowKind,
  id: string,
): boolean {
  const sent = request.headers[flowTokenHeader];
  if (typeof sent !== "string") return false;
  return config.secretKeys.some((key) => constantTimeEqual(sent, mac(key, kind, id)));
}

/**
 * A route's pre-handler for a flow step (`/…/:id/…`): without the flow's token the request ends
 * here with `notFound`, as for a flow that does not exist.
 */
export function requireFlowToken(
  config: Pick<Config, "secretKeys">,
  kind: ApiFlowKind,
  notFound: ErrorCode,
): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async (request) => {
    const params = request.params as { id?: unknown };
    const id = typeof params.id === "string" ? params.id : "";
    if (!hasFlowToken(config, request, kind, id)) throw toApiError({ ok: false, code: notFound });
  };
}
