import { isIP } from "node:net";
import { parseInteger } from "./limits.ts";

/**
 * The Prometheus endpoint: off unless MAMORI_METRICS_PORT is set. It listens on a port of its own
 * (never the public one: the figures tell an attacker how their attack goes), on loopback unless
 * MAMORI_METRICS_HOST says otherwise; MAMORI_METRICS_TOKEN, when set, is the bearer token a scraper
 * must send, and it is required when the host is not loopback.
 */
export type MetricsConfig = { port: number; host: string; token: string | undefined } | undefined;

const minTokenLength = 16;

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || (isIP(host) === 4 && host.startsWith("127."));
}

export function parseMetricsConfig(
  source: Record<string, string | undefined>,
  publicPort: number,
  problems: string[],
): MetricsConfig {
  if (!source.MAMORI_METRICS_PORT?.trim()) return undefined;
  const port = parseInteger("MAMORI_METRICS_PORT", source.MAMORI_METRICS_PORT, 9464, 0, 65_535, problems);
  if (port !== 0 && port === publicPort) {
    problems.push("MAMORI_METRICS_PORT must differ from PORT: metrics are not for the public");
  }
  const host = source.MAMORI_METRICS_HOST?.trim() || "127.0.0.1";
  const token = source.MAMORI_METRICS_TOKEN?.trim() || undefined;
  if (token !== undefined && token.length < minTokenLength) {
    problems.push(
      `MAMORI_METRICS_TOKEN must be at least ${minTokenLength} characters (\`openssl rand -hex 32\`)`,
    );
  }
  if (!isLoopback(host) && token === undefined) {
    problems.push(
      `MAMORI_METRICS_TOKEN is required when MAMORI_METRICS_HOST (${host}) is not loopback: anyone who reaches the port would read the figures`,
    );
  }
  return { port, host, token };
}
