import { isIP } from "node:net";
import type { ConfigSource } from "./config.ts";

/** Where passkeys belong: the relying-party ID they are bound to, and the origins that may use them. */
export type PasskeyConfig = {
  /** A domain (`example.jp`), never an address or a URL; every origin's host is it or under it. */
  rpId: string;
  rpName: string;
  /** The exact origins a browser may report in clientDataJSON (the public URL's and MAMORI_ORIGINS). */
  origins: readonly string[];
};

/**
 * Reads MAMORI_RP_ID (default: the public URL's host) and checks it against every allowed origin.
 * A browser refuses to create or use a passkey for an RP ID that is not the page's host or a
 * parent domain of it (WebAuthn Level 3, 5.1.3 step 8), so a mismatch would only surface as
 * failed sign-ins: it is refused at start-up instead.
 */
export function parsePasskeyConfig(
  source: ConfigSource,
  publicUrl: URL,
  allowedOrigins: ReadonlySet<string>,
  shopName: string,
  problems: string[],
): PasskeyConfig {
  // The name a passkey manager shows beside the passkey: the shop's, unless set apart.
  const rpName = source.MAMORI_RP_NAME?.trim() || shopName;
  const explicit = source.MAMORI_RP_ID?.trim().toLowerCase();
  const production = source.NODE_ENV?.trim() === "production";
  if (!explicit && !production && isIP(publicUrl.hostname) !== 0) {
    // A loopback server for development or tests (http://127.0.0.1:PORT): browsers refuse passkeys
    // on an address, so they work on the same server by name, http://localhost:PORT.
    const byName = new URL(publicUrl.href);
    byName.hostname = "localhost";
    return { rpId: "localhost", rpName, origins: [byName.origin] };
  }
  const rpId = explicit || publicUrl.hostname.toLowerCase();
  const origins = [...allowedOrigins];
  if (!isValidRpId(rpId)) {
    problems.push(
      `MAMORI_RP_ID must be a domain name such as example.jp (not an address, a URL or a top-level domain): ${rpId}`,
    );
    return { rpId, rpName, origins };
  }
  for (const origin of origins) {
    const url = new URL(origin);
    if (!isRpIdSuffixOf(rpId, url.hostname)) {
      problems.push(
        `MAMORI_RP_ID ${rpId} is not ${url.hostname} or a parent domain of it (origin ${origin}): passkeys could not be used there`,
      );
    }
    // WebAuthn needs a secure context: https (http works only on localhost, for development).
    if (production && url.protocol !== "https:" && !isLocalhost(url.hostname)) {
      problems.push(`MAMORI_ORIGINS: passkeys need https:// (or http://localhost): ${origin}`);
    }
  }
  return { rpId, rpName, origins };
}

/** A domain name with at least two labels, or `localhost`; an IP address is never an RP ID. */
export function isValidRpId(rpId: string): boolean {
  if (rpId === "localhost") return true;
  if (isIP(rpId) !== 0 || rpId.includes("[")) return false;
  const labels = rpId.split(".");
  return labels.length >= 2 && labels.every((label) => /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(label));
}

/** True when `host` is the RP ID or a subdomain of it (`login.example.jp` under `example.jp`). */
export function isRpIdSuffixOf(rpId: string, host: string): boolean {
  const h = host.toLowerCase();
  return h === rpId || h.endsWith(`.${rpId}`);
}

function isLocalhost(host: string): boolean {
  return host === "localhost" || host.endsWith(".localhost");
}
