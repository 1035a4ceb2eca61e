import { isIPv4, isIPv6 } from "node:net";

/**
 * What an IP-based limit counts: an IPv4 address as it is, an IPv6 address by its /64 — one
 * subscriber's line usually gets a whole /64, so counting single v6 addresses would let anyone
 * rotate through 2^64 of them. IPv4-mapped v6 (`::ffff:192.0.2.1`) counts as the v4 address.
 */
export function ipThrottleSubject(ip: string | null | undefined): string {
  if (!ip) return "unknown";
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped?.[1] && isIPv4(mapped[1])) return mapped[1];
  if (isIPv4(ip)) return ip;
  if (!isIPv6(ip)) return "unknown";
  return `${expandIpv6(ip).slice(0, 4).join(":")}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, "::" filled in, each without leading zeros. */
function expandIpv6(ip: string): string[] {
  const withoutZone = ip.split("%")[0] ?? ip;
  const [head = "", tail] = withoutZone.split("::");
  const headGroups = head ? head.split(":") : [];
  const tailGroups = tail ? tail.split(":") : [];
  const missing = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  return [...headGroups, ...Array.from({ length: missing }, () => "0"), ...tailGroups].map((group) =>
    (Number.parseInt(group, 16) || 0).toString(16),
  );
}
