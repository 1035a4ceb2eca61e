import type { FastifyReply, FastifyRequest } from "fastify";
import type { Config } from "../config/config.ts";
import { constantTimeEqual, hmacHex } from "../crypto/secrets.ts";
import { cookieName } from "./cookie-names.ts";

/**
 * A flow whose pages belong to the browser that started it: a cookie carries a MAC of the flow's
 * id. One cookie per flow, named after it (`mamori_sign_in_{id}`, `__Host-` first in production),
 * so two flows begun in two tabs of one browser (two sign-ins, say) each keep theirs: the second
 * does not take the first's pages away. Attack: a page's URL (the flow id in it) read from a shared
 * computer's history, or sent by someone else, would otherwise let a stranger use the flow: spend
 * the owner's tries, set the password once the code was entered, see what the flow reveals.
 *
 * The cookies are on Path=/, as `__Host-` requires (before, each was on its flow's own path under
 * one name). What bounds their number is their life: an hour at most, and gone when the flow ends.
 */
export type BrowserBoundFlow = {
  /** The start of the cookies' names, one per kind of flow; the flow's id completes it. */
  cookie: string;
  /** Where the flows' pages are: flow `id`'s under `{path}/{id}`. */
  path: string;
  /** Separates the MACs of different kinds of flow made with the same key. */
  purpose: string;
};

// An hour: longer than any of these flows lives.
const cookieSeconds = 3600;

function mark(config: Pick<Config, "signingKey">, flow: BrowserBoundFlow, id: string): string {
  return hmacHex(config.signingKey, flow.purpose, id);
}

/** The cookie of flow `id`, or undefined for an id Mamori never makes (it cannot be in a name). */
function flowCookieName(
  config: Pick<Config, "cookieSecure">,
  flow: BrowserBoundFlow,
  id: string,
): string | undefined {
  return /^[A-Za-z0-9_-]{1,64}$/.test(id) ? cookieName(config, `${flow.cookie}_${id}`) : undefined;
}

const cookieOptions = { path: "/", httpOnly: true, sameSite: "lax" } as const;

/**
 * Hands the flow `id` to this browser (the answer that starts it sets the cookie). `crossSitePost`:
 * the flow comes back as a POST from another site (Sign in with Apple's form_post), which a Lax
 * cookie would not reach: the cookie is SameSite=None, and so Secure (https only).
 */
export function bindFlowToBrowser(
  config: Pick<Config, "signingKey" | "cookieSecure">,
  reply: FastifyReply,
  flow: BrowserBoundFlow,
  id: string,
  crossSitePost = false,
): void {
  const name = flowCookieName(config, flow, id);
  if (!name) throw new Error(`a flow id that cannot name a cookie: ${id}`);
  reply.setCookie(name, mark(config, flow, id), {
    ...cookieOptions,
    ...(crossSitePost ? { sameSite: "none" as const, secure: true } : { secure: config.cookieSecure }),
    maxAge: cookieSeconds,
  });
}

/** Whether this request comes from the browser the flow `id` was handed to. */
export function isFlowOfThisBrowser(
  config: Pick<Config, "signingKey" | "cookieSecure">,
  request: FastifyRequest,
  flow: BrowserBoundFlow,
  id: string,
): boolean {
  const name = flowCookieName(config, flow, id);
  const value = name === undefined ? undefined : request.cookies[name];
  return typeof value === "string" && constantTimeEqual(value, mark(config, flow, id));
}

/** The flow `id` is over: its cookie goes. */
export function releaseFlowFromBrowser(
  config: Pick<Config, "cookieSecure">,
  reply: FastifyReply,
  flow: BrowserBoundFlow,
  id: string,
): void {
  const name = flowCookieName(config, flow, id);
  if (name) reply.clearCookie(name, { ...cookieOptions, secure: config.cookieSecure });
}
