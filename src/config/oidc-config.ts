/**
 * The OpenID Connect issuer (MAMORI_ISSUER). Mamori serves its provider under /oidc of its public
 * origin — the session cookie must reach the sign-in the provider starts — so MAMORI_ISSUER may
 * only spell that out; by default it is derived. Production's public URL is https, so the issuer
 * is too (OpenID Connect Discovery 1.0, section 3: the issuer is an https URL).
 */
export const oidcMountPath = "/oidc";

export function parseIssuer(value: string | undefined, publicUrl: URL, problems: string[]): URL {
  const expected = new URL(oidcMountPath, publicUrl.origin);
  if (!value?.trim()) return expected;
  let issuer: URL;
  try {
    issuer = new URL(value.trim());
  } catch {
    problems.push(`MAMORI_ISSUER is not a URL: ${value}`);
    return expected;
  }
  const path = issuer.pathname.replace(/\/$/, "");
  if (issuer.origin !== publicUrl.origin || path !== oidcMountPath || issuer.search || issuer.hash) {
    problems.push(`MAMORI_ISSUER must be ${expected.href} (the public URL's origin + /oidc), got ${value}`);
  }
  return expected;
}
