import type { FastifyReply, FastifyRequest } from "fastify";
import type { Config } from "../config/config.ts";
import { constantTimeEqual, hmacHex } from "../crypto/secrets.ts";

/**
 * A flow whose pages belong to the browser that started it: a cookie, scoped to that one flow's
 * pages (`{path}/{id}`), carries a MAC of the flow's id. One cookie per flow, so two flows begun in
 * two tabs of one browser (two sign-ins, say) each keep theirs: the second does not take the
 * first's pages away. Attack: a page's URL (the flow id in it) read from a shared
 * computer's history, or sent by someone else, would otherwise let a stranger use the flow: spend
 * the owner's tries, set the password once the code was entered, see what the flow reveals.
 */
export type BrowserBoundFlow = {
  /** The cookie's name, one per kind of flow. */
  cookie: string;
  /** Where the flows' pages are: flow `id`'s under `{path}/{id}`, where its cookie goes and nowhere else. */
  path: string;
  /** Separates the MACs of different kinds of flow made with the same key. */
  purpose: string;
};

// An hour: longer than any of these flows lives.
const cookieSeconds = 3600;

function mark(config: Pick<Config, "signingKey">, flow: BrowserBoundFlow, id: string): string {
  return hmacHex(config.signingKey, flow.purpose, id);
}

function cookiePath(flow: BrowserBoundFlow, id: string): string {
  return `${flow.path}/${encodeURIComponent(id)}`;
}

/** Hands the flow `id` to this browser (the answer that starts it sets the cookie). */
export function bindFlowToBrowser(
  config: Pick<Config, "signingKey" | "cookieSecure">,
  reply: FastifyReply,
  flow: BrowserBoundFlow,
  id: string,
): void {
  reply.setCookie(flow.cookie, mark(config, flow, id), {
    path: cookiePath(flow, id),
    httpOnly: true,
    sameSite: "lax",
    secure: config.cookieSecure,
    maxAge: cookieSeconds,
  });
}

/** Whether this request comes from the browser the flow `id` was handed to. */
export function isFlowOfThisBrowser(
  config: Pick<Config, "signingKey">,
  request: FastifyRequest,
  flow: BrowserBoundFlow,
  id: string,
): boolean {
  const value = request.cookies[flow.cookie];
  return typeof value === "string" && constantTimeEqual(value, mark(config, flow, id));
}

/** The flow `id` is over: its cookie goes. */
export function releaseFlowFromBrowser(reply: FastifyReply, flow: BrowserBoundFlow, id: string): void {
  reply.clearCookie(flow.cookie, { path: cookiePath(flow, id) });
}
