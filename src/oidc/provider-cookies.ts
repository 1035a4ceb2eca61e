import type { IncomingMessage, ServerResponse } from "node:http";
import type { Config } from "../config/config.ts";
import { cookieName } from "../http/cookie-names.ts";

/**
 * The provider's cookies, held to Mamori's rule (src/http/cookie-names.ts): `__Host-` first in
 * production, so on Path=/. oidc-provider puts its session cookie on Path=/ already, but scopes the
 * interaction cookie to `/oidc/interaction/{uid}` and the resume cookie to `/oidc/auth/{uid}`, one
 * per sign-in, so that two sign-ins to shops in two tabs do not take each other's place. Here the
 * uid moves from the path into the name: the provider sets `mamori_oidc_interaction` on its path,
 * the browser gets `__Host-mamori_oidc_interaction_{uid}` on Path=/, and a request under that path
 * hands the provider back the name it knows. The values (and their `.sig` signatures, made over the
 * provider's name) pass through untouched.
 */
const scopedCookies = [
  { name: "mamori_oidc_interaction", under: "/oidc/interaction/" },
  { name: "mamori_oidc_resume", under: "/oidc/auth/" },
] as const;

const uidPattern = /^[A-Za-z0-9_-]{1,64}$/;

/** The names oidc-provider is configured with. */
export function providerCookieNames(config: Pick<Config, "cookieSecure">): {
  session: string;
  interaction: string;
  resume: string;
} {
  return {
    session: cookieName(config, "mamori_oidc_session"),
    interaction: "mamori_oidc_interaction",
    resume: "mamori_oidc_resume",
  };
}

function browserName(config: Pick<Config, "cookieSecure">, name: string, uid: string, sig: string): string {
  return `${cookieName(config, `${name}_${uid}`)}${sig}`;
}

/** The uid a path names under `under` (`/oidc/interaction/{uid}` or deeper), if any. */
function uidUnder(path: string, under: string): string | undefined {
  if (!path.startsWith(under)) return undefined;
  const uid = path.slice(under.length).split("/")[0] ?? "";
  return uidPattern.test(uid) ? uid : undefined;
}

/**
 * Renames, in the request, the browser's cookies of this path's interaction to the names the
 * provider reads, and drops any cookie already under those names (which no page of Mamori's sets:
 * one would come from elsewhere, such as a sibling subdomain).
 */
export function presentCookiesToProvider(config: Pick<Config, "cookieSecure">, req: IncomingMessage): void {
  const header = req.headers.cookie;
  if (typeof header !== "string") return;
  const path = (req.url ?? "").split("?")[0] ?? "";
  const pairs = header.split(/;\s*/).filter((pair) => {
    const name = pair.slice(0, pair.indexOf("="));
    return !scopedCookies.some((c) => name === c.name || name === `${c.name}.sig`);
  });
  const presented: string[] = [];
  for (const cookie of scopedCookies) {
    const uid = uidUnder(path, cookie.under);
    if (!uid) continue;
    for (const sig of ["", ".sig"]) {
      const prefix = `${browserName(config, cookie.name, uid, sig)}=`;
      const pair = pairs.find((p) => p.startsWith(prefix));
      if (pair) presented.push(`${cookie.name}${sig}=${pair.slice(prefix.length)}`);
    }
  }
  req.headers.cookie = [...pairs, ...presented].join("; ");
}

/** One Set-Cookie line of the provider's, as the browser gets it. */
export function browserSetCookie(config: Pick<Config, "cookieSecure">, line: string): string {
  const match = /^(mamori_oidc_(?:interaction|resume))(\.sig)?=([^;]*)(.*)$/.exec(line);
  if (!match) return line;
  const [, name = "", sig = "", value = "", attributes = ""] = match;
  const under = scopedCookies.find((c) => c.name === name)?.under ?? "";
  const path = /;\s*path=([^;]*)/i.exec(attributes)?.[1] ?? "";
  const uid = uidUnder(path, under);
  if (!uid) return line;
  const rest = attributes.replace(/;\s*path=[^;]*/i, "").replace(/;\s*domain=[^;]*/i, "");
  return `${browserName(config, name, uid, sig)}=${value}; path=/${rest}`;
}

/**
 * For a request the provider answers (or reads, on Mamori's interaction pages): its cookies renamed
 * on the way in, and every cookie it sets renamed on the way out.
 */
export function adaptProviderCookies(
  config: Pick<Config, "cookieSecure">,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  presentCookiesToProvider(config, req);
  const setHeader = res.setHeader.bind(res);
  res.setHeader = (name, value) => {
    if (name.toLowerCase() !== "set-cookie") return setHeader(name, value);
    const lines = Array.isArray(value) ? value.map(String) : [String(value)];
    return setHeader(
      name,
      lines.map((line) => browserSetCookie(config, line)),
    );
  };
}
