import type { FastifyReply } from "fastify";
import type { Config } from "../../config/config.ts";
import { type BrowserBoundFlow, bindFlowToBrowser } from "../../http/flow-browser.ts";
import { flowTokenFor } from "../../http/flow-token.ts";
import type { Challenge } from "./second-factor.ts";

/**
 * The pages of a sign-in's second step (`/sign-in/two-step/{id}`) belong to the browser whose
 * password (or passkey) started it (src/http/flow-browser.ts). Attack: the page's URL from a shared
 * computer's history, tried with a code the owner is about to receive. The JSON API's challenge
 * endpoints are bound too, to the client that got the answer: by the flow token in it
 * (src/http/flow-token.ts), which every later step sends back.
 */
export const challengePages: BrowserBoundFlow = {
  cookie: "mamori_sign_in",
  path: "/sign-in/two-step",
  purpose: "sign-in-challenge-browser",
};

/** Every answer that starts a second step hands its pages to the browser that gets it. */
export function handChallengeToBrowser(
  config: Pick<Config, "signingKey" | "cookieSecure">,
  reply: FastifyReply,
  challengeId: string,
): void {
  bindFlowToBrowser(config, reply, challengePages, challengeId);
}

/** A challenge as the JSON API answers it: with the token its later steps must send back. */
export function challengeAnswer(
  config: Pick<Config, "signingKey">,
  challenge: Challenge,
): Challenge & { flowToken: string } {
  return { ...challenge, flowToken: flowTokenFor(config, "sign_in_challenge", challenge.id) };
}
