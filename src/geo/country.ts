import { isIPv4, isIPv6 } from "node:net";

/**
 * The country an IP address is in, from the GeoLite2 data the `geoip-country` package ships
 * (no network lookup). The data (~25 MB in memory) loads on the first lookup, so a process that
 * never needs a country never pays for it. Private, loopback and link-local addresses have no
 * country: they are the shop's own network, a proxy, or a developer's machine.
 */
type GeoipCountry = { lookup(ip: string): { country?: string } | null };

let loaded: Promise<GeoipCountry> | undefined;

async function geoip(): Promise<GeoipCountry> {
  loaded ??= import("geoip-country").then((module) => module.default);
  return loaded;
}

export type CountryLookup = { kind: "country"; code: string } | { kind: "private" } | { kind: "unknown" };

const privateV4 = [
  /^10\./,
  /^127\./,
  /^169\.254\./,
  /^172\.(1[6-9]|2\d|3[01])\./,
  /^192\.168\./,
  /^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\./,
];

function isPrivate(ip: string): boolean {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1] ?? ip;
  if (isIPv4(v4)) return privateV4.some((pattern) => pattern.test(v4));
  if (!isIPv6(ip)) return false;
  const lower = ip.toLowerCase();
  // ::1 loopback, fc00::/7 unique local, fe80::/10 link-local.
  return lower === "::1" || /^f[cd][0-9a-f]{2}:/.test(lower) || /^fe[89ab][0-9a-f]:/.test(lower);
}

export async function countryOf(ip: string | null): Promise<CountryLookup> {
  if (!ip || (!isIPv4(ip) && !isIPv6(ip))) return { kind: "unknown" };
  if (isPrivate(ip)) return { kind: "private" };
  const found = (await geoip()).lookup(ip);
  return found?.country ? { kind: "country", code: found.country } : { kind: "unknown" };
}

/**
 * The shop's country policy (MAMORI_ALLOWED_COUNTRIES): an empty list allows every place. With a
 * list, a public address must be in a listed country; a private address (the shop's own network)
 * is allowed; an address the data does not place is refused, since it cannot be shown to be allowed.
 */
export async function isCountryAllowed(allowed: ReadonlySet<string>, ip: string | null): Promise<boolean> {
  if (allowed.size === 0) return true;
  const place = await countryOf(ip);
  if (place.kind === "private") return true;
  return place.kind === "country" && allowed.has(place.code);
}
