import type { Config } from "../config/config.ts";

/**
 * The name a cookie goes by: `__Host-` first in production over HTTPS (the session cookie's rule,
 * for every cookie). A browser keeps a `__Host-` cookie only when it is Secure, on Path=/ and
 * without Domain, so a page on a sibling subdomain or over plain HTTP can neither set nor shadow it
 * (RFC 6265bis 4.1.3.2). Every cookie Mamori sets is therefore on Path=/.
 */
export function cookieName(config: Pick<Config, "cookieSecure">, base: string): string {
  return config.cookieSecure ? `__Host-${base}` : base;
}
