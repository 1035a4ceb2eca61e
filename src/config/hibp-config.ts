/**
 * The Have I Been Pwned range API (MAMORI_HIBP_URL, e.g. https://api.pwnedpasswords.com): when set,
 * a new password is also looked up there by k-anonymity (only the first 5 hex digits of its SHA-1
 * leave the server). Off by default: the offline list of leaked passwords always applies.
 */
export type HibpConfig = { url: URL; timeoutMs: number } | null;

export function parseHibpConfig(
  value: string | undefined,
  timeoutText: string | undefined,
  production: boolean,
  problems: string[],
): HibpConfig {
  if (!value?.trim()) return null;
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    problems.push(`MAMORI_HIBP_URL is not a URL: ${value}`);
    return null;
  }
  if (url.protocol !== "https:" && (production || url.protocol !== "http:")) {
    problems.push("MAMORI_HIBP_URL must be https:// (http:// only outside production, for a local mirror)");
  }
  let timeoutMs = 2000;
  if (timeoutText?.trim()) {
    timeoutMs = Number(timeoutText);
    if (!Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 30_000) {
      problems.push("MAMORI_HIBP_TIMEOUT_MS must be a whole number of milliseconds from 100 to 30000");
      timeoutMs = 2000;
    }
  }
  return { url, timeoutMs };
}
