import type { ErrorCode } from "../http/errors.ts";

/** An expected failure of a flow step, as a value: the HTTP layer turns it into an error response. */
export type FlowFailure = {
  ok: false;
  code: ErrorCode;
  field?: string;
  extra?: Record<string, string | number>;
  values?: Record<string, string | number>;
  retryAfterSeconds?: number;
};

export function failure(code: ErrorCode, details: Omit<FlowFailure, "ok" | "code"> = {}): FlowFailure {
  return { ok: false, code, ...details };
}

/** Who is asking: recorded on sessions and audit events, used for throttling. */
export type RequestMeta = { ip: string | null; userAgent: string | null };
