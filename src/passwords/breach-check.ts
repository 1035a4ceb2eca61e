import { createHash } from "node:crypto";
import type { Deps } from "../deps.ts";
import { isCommonPassword } from "./strength.ts";

export type BreachVerdict = {
  breached: boolean;
  /** Where the answer came from: the offline list, the range API, or the offline list because the API failed. */
  source: "offline" | "range_api" | "offline_api_unavailable";
};

/**
 * Whether a password is known from a breach: the offline list of the most used leaked passwords,
 * then, when MAMORI_HIBP_URL is set, the Have I Been Pwned range API by k-anonymity — only the first
 * five hex digits of the password's SHA-1 leave the server, and the answer is padded (`Add-Padding`)
 * so its size does not tell either. If the API is slow or down, sign-up and password changes go on
 * with the offline list alone (logged as a warning): a third party's outage must not stop them.
 */
export async function checkBreached(
  deps: Pick<Deps, "config" | "log">,
  password: string,
): Promise<BreachVerdict> {
  if (isCommonPassword(password)) return { breached: true, source: "offline" };
  const hibp = deps.config.hibp;
  if (!hibp) return { breached: false, source: "offline" };
  const sha1 = createHash("sha1").update(password, "utf8").digest("hex").toUpperCase();
  const prefix = sha1.slice(0, 5);
  const suffix = sha1.slice(5);
  try {
    const response = await fetch(new URL(`range/${prefix}`, withSlash(hibp.url)), {
      headers: { "add-padding": "true", "user-agent": "Mamori" },
      signal: AbortSignal.timeout(hibp.timeoutMs),
    });
    if (!response.ok) throw new Error(`status ${response.status}`);
    const body = await response.text();
    for (const line of body.split("\n")) {
      const [candidate, count] = line.trim().split(":");
      // Padding lines have a count of 0: not breached.
      if (candidate === suffix && Number(count) > 0) return { breached: true, source: "range_api" };
    }
    return { breached: false, source: "range_api" };
  } catch (error) {
    deps.log.warn(
      { err: (error as Error).message },
      "breached-password range API unavailable; offline list only",
    );
    return { breached: false, source: "offline_api_unavailable" };
  }
}

function withSlash(url: URL): URL {
  return url.pathname.endsWith("/") ? url : new URL(`${url.href}/`);
}
