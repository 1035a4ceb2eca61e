import type { FastifyInstance } from "fastify";
import type { Config } from "../config/config.ts";

// Nothing loads from anywhere but here; no plugins, no framing, forms post only to us.
const contentSecurityPolicy: Readonly<Record<string, readonly string[]>> = {
  "default-src": ["'none'"],
  "script-src": ["'self'"],
  "style-src": ["'self'"],
  "img-src": ["'self'", "data:"],
  "connect-src": ["'self'"],
  "form-action": ["'self'"],
  "frame-ancestors": ["'none'"],
  "base-uri": ["'none'"],
  "object-src": ["'none'"],
};

/**
 * The security headers of every answer: helmet's set (v8), with Mamori's policy. Built once at
 * start-up: @fastify/helmet builds a helmet middleware on every request, a tenth of a session
 * check's time.
 */
export function securityHeaders(
  config: Pick<Config, "environment"> & Partial<Pick<Config, "federation" | "brands">>,
): Readonly<Record<string, string>> {
  // A sign-in button posts to Mamori, which redirects to the provider: the browser holds that
  // redirect to the page's form-action, so each configured provider's origin is allowed there too.
  const providerOrigins = (config.federation?.providers ?? []).map((p) => p.issuer.origin);
  // The shop's logo may live on its own site (MAMORI_BRAND_LOGO_URL=https://…): that origin only.
  const logoOrigins = Object.values(config.brands ?? {}).flatMap((brand) =>
    brand.logoUrl?.startsWith("https://") ? [new URL(brand.logoUrl).origin] : [],
  );
  const policy = {
    ...contentSecurityPolicy,
    "form-action": ["'self'", ...new Set(providerOrigins)],
    "img-src": [...(contentSecurityPolicy["img-src"] ?? []), ...new Set(logoOrigins)],
  };
  return {
    "content-security-policy": Object.entries(policy)
      .map(([directive, sources]) => `${directive} ${sources.join(" ")}`)
      .join(";"),
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "origin-agent-cluster": "?1",
    "referrer-policy": "same-origin",
    // Production is HTTPS only (config refuses anything else): a year, subdomains too.
    ...(config.environment === "production"
      ? { "strict-transport-security": "max-age=31536000; includeSubDomains" }
      : {}),
    "x-content-type-options": "nosniff",
    "x-dns-prefetch-control": "off",
    "x-download-options": "noopen",
    "x-frame-options": "SAMEORIGIN",
    "x-permitted-cross-domain-policies": "none",
    // The legacy XSS auditor did more harm than good; "0" turns it off (helmet's default).
    "x-xss-protection": "0",
  };
}

/** Sets the security headers on every answer, error pages and 404s included. */
export function registerSecurityHeaders(
  app: FastifyInstance,
  config: Pick<Config, "environment"> & Partial<Pick<Config, "federation" | "brands">>,
): void {
  const headers = securityHeaders(config);
  app.addHook("onRequest", (_request, reply, done) => {
    reply.headers(headers);
    done();
  });
}
