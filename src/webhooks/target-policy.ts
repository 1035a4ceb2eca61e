import { type LookupAddress, lookup } from "node:dns";
import { BlockList, isIP } from "node:net";
import type { Environment } from "../config/config.ts";

/**
 * Where Mamori may send webhooks (SSRF). An endpoint is https://, or http:// to a loopback address
 * outside production (a receiver on the developer's machine). Addresses on a private, loopback,
 * link-local (the cloud metadata service, 169.254.169.254), shared, multicast or reserved network
 * are refused unless the operator allowed private networks (MAMORI_WEBHOOK_ALLOW_PRIVATE_NETWORKS):
 * checked when the endpoint is added and again on every connection, against the address actually
 * connected to, so a DNS name that later points inside is refused too (DNS rebinding).
 */
const privateNetworks = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const)
  privateNetworks.addSubnet(network, prefix, "ipv4");
for (const [network, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["64:ff9b::", 96],
  ["100::", 64],
  ["2001:db8::", 32],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const)
  privateNetworks.addSubnet(network, prefix, "ipv6");

/** The IPv4 address inside an IPv4-mapped IPv6 one (`::ffff:10.0.0.1`), else the address itself. */
function unmapped(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped?.[1] ?? address;
}

export function isPrivateAddress(address: string): boolean {
  const plain = unmapped(address);
  const family = isIP(plain);
  if (family === 0) return true; // not an address at all: never connect to it
  return privateNetworks.check(plain, family === 4 ? "ipv4" : "ipv6");
}

export function isLoopbackAddress(address: string): boolean {
  const plain = unmapped(address);
  return /^127\./.test(plain) || plain === "::1";
}

/** The host of a URL as an address when it is one (`[::1]` → `::1`), else undefined. */
function literalAddress(url: URL): string | undefined {
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  return isIP(host) ? host : undefined;
}

export type TargetPolicy = { environment: Environment; allowPrivateNetworks: boolean };

/** Why the URL cannot be a webhook endpoint (without looking the name up), or undefined. */
export function checkEndpointUrlShape(text: string, policy: TargetPolicy): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `not a URL: ${text}`;
  }
  if (url.username || url.password) return "the URL must not carry a user name or password";
  if (url.hash) return "the URL must not have a #fragment";
  const literal = literalAddress(url);
  if (url.protocol === "http:") {
    const loopback = literal !== undefined && isLoopbackAddress(literal);
    if (policy.environment === "production" || !loopback)
      return "the URL must be https:// (http:// only to a loopback address such as 127.0.0.1, outside production)";
  } else if (url.protocol !== "https:") return "the URL must be https://";
  if (literal !== undefined && isPrivateAddress(literal) && !policy.allowPrivateNetworks)
    return `${literal} is on a private network: refused unless MAMORI_WEBHOOK_ALLOW_PRIVATE_NETWORKS=true`;
  return undefined;
}

function lookupAll(hostname: string): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => {
    lookup(hostname, { all: true }, (error, addresses) => (error ? reject(error) : resolve(addresses)));
  });
}

/**
 * The shape check, then the name's addresses: refused when any of them is private (a name with one
 * public and one private address would reach the private one half the time).
 */
export async function checkEndpointUrl(text: string, policy: TargetPolicy): Promise<string | undefined> {
  const problem = checkEndpointUrlShape(text, policy);
  if (problem !== undefined || policy.allowPrivateNetworks) return problem;
  const url = new URL(text);
  if (literalAddress(url) !== undefined) return undefined;
  let addresses: LookupAddress[];
  try {
    addresses = await lookupAll(url.hostname);
  } catch {
    return `${url.hostname} does not resolve`;
  }
  const inside = addresses.find((entry) => isPrivateAddress(entry.address));
  return inside
    ? `${url.hostname} resolves to ${inside.address}, on a private network: refused unless MAMORI_WEBHOOK_ALLOW_PRIVATE_NETWORKS=true`
    : undefined;
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for node:http(s) that refuses private addresses at connection time, so the address
 * checked is the address connected to.
 */
export function guardedLookup(
  allowPrivateNetworks: boolean,
): (hostname: string, options: { all?: boolean }, callback: LookupCallback) => void {
  return (hostname, options, callback) => {
    lookup(hostname, { all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      const inside = addresses.find((entry) => isPrivateAddress(entry.address));
      if (inside && !allowPrivateNetworks) {
        const refused: NodeJS.ErrnoException = new Error(
          `${hostname} resolves to ${inside.address}, on a private network: refused`,
        );
        refused.code = "EPRIVATEADDRESS";
        return callback(refused, []);
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0];
      if (!first) return callback(new Error(`${hostname} has no address`), []);
      return callback(null, first.address, first.family);
    });
  };
}

/** Whether a URL's host is an address literal on a private network (node does not look literals up). */
export function literalIsPrivate(text: string): boolean {
  const literal = literalAddress(new URL(text));
  return literal !== undefined && isPrivateAddress(literal);
}
