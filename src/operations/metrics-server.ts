import { timingSafeEqual } from "node:crypto";
import type { Server } from "node:http";
import { AggregatorRegistry, collectDefaultMetrics } from "prom-client";
import type { MetricsConfig } from "../config/metrics-config.ts";
import { metricsRegistry } from "./metrics.ts";

// As in session-fast-path.ts: node:http without loading undici through an ES module import.
const http = process.getBuiltinModule("node:http");

/** Where the text of a scrape comes from: this process's registry, or every worker's, summed. */
export type MetricsSource = { contentType: string; read(): Promise<string> };

let processMetricsOn = false;

/** Node's own figures (CPU, memory, event-loop delay, handles), prefixed `mamori_`; once a process. */
export function collectProcessMetrics(): void {
  if (processMetricsOn) return;
  processMetricsOn = true;
  collectDefaultMetrics({ register: metricsRegistry, prefix: "mamori_" });
}

export function processMetrics(): MetricsSource {
  collectProcessMetrics();
  return { contentType: metricsRegistry.contentType, read: () => metricsRegistry.metrics() };
}

/**
 * `mamori serve --workers N`: the primary serves the scrape and asks each worker for its figures
 * (prom-client's cluster messages); counters and histograms are summed, gauges read from the
 * database keep the highest or lowest (metrics.ts).
 */
export function clusterMetrics(): MetricsSource {
  const aggregator = new AggregatorRegistry();
  return { contentType: aggregator.contentType, read: () => aggregator.clusterMetrics() };
}

/** In a worker: answer the primary's requests for this process's figures. */
export function reportMetricsToPrimary(): void {
  collectProcessMetrics();
  // Constructing one installs the worker's answer to the primary's request (prom-client).
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([metricsRegistry]);
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const expected = Buffer.from(`Bearer ${token}`);
  const given = Buffer.from(header ?? "");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * The metrics port: `GET /metrics` and nothing else. With a token, a scrape without it is 401.
 * Resolves once listening; `address()` gives the port when 0 was asked.
 */
export async function startMetricsServer(
  config: NonNullable<MetricsConfig>,
  source: MetricsSource,
): Promise<Server> {
  const server = http.createServer((request, response) => {
    const path = (request.url ?? "").split("?")[0];
    if (path !== "/metrics" || (request.method !== "GET" && request.method !== "HEAD")) {
      response.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found\n");
      return;
    }
    if (config.token !== undefined && !tokenMatches(request.headers.authorization, config.token)) {
      response
        .writeHead(401, { "content-type": "text/plain; charset=utf-8", "www-authenticate": "Bearer" })
        .end("a bearer token is required\n");
      return;
    }
    source.read().then(
      (text) => {
        response.writeHead(200, { "content-type": source.contentType, "cache-control": "no-store" });
        response.end(request.method === "HEAD" ? undefined : text);
      },
      (error: unknown) => {
        response
          .writeHead(503, { "content-type": "text/plain; charset=utf-8" })
          .end(`metrics unavailable: ${(error as Error).message}\n`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return server;
}
