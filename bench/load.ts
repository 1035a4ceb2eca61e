import autocannon from "autocannon";

export type LoadOptions = {
  title: string;
  url: string;
  path: string;
  connections: number;
  durationSeconds: number;
  method?: "GET" | "POST";
  /** Headers for every request; `headersPerConnection` overrides them connection by connection. */
  headers?: Record<string, string>;
  headersPerConnection?: ReadonlyArray<Record<string, string>>;
  /** A new body for each request (sign-ins spread over many accounts). */
  nextBody?: () => string;
  /** Requests per second over all connections; unlimited when absent. */
  overallRate?: number;
};

export type LoadResult = {
  title: string;
  durationSeconds: number;
  /** Answers with a 2xx status, per second. */
  okPerSecond: number;
  ok: number;
  notOk: number;
  errors: number;
  statuses: Record<string, number>;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
};

/** Runs autocannon in this process against one server and sums up the answers. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  let connectionIndex = 0;
  const perConnection = options.headersPerConnection;
  const nextBody = options.nextBody;
  const result = await autocannon({
    url: `${options.url}${options.path}`,
    title: options.title,
    connections: options.connections,
    duration: options.durationSeconds,
    method: options.method ?? "GET",
    headers: options.headers ?? {},
    ...(options.overallRate !== undefined
      ? {
          overallRate: options.overallRate,
          // autocannon's correction assumes a 1 ms interval whatever the rate, which counts every slow
          // answer dozens of times; the raw latencies of a paced load are the honest figure here.
          ignoreCoordinatedOmission: true,
        }
      : {}),
    ...(perConnection && perConnection.length > 0
      ? {
          setupClient: (client: autocannon.Client) => {
            const headers = perConnection[connectionIndex % perConnection.length] ?? {};
            connectionIndex += 1;
            client.setHeaders({ ...options.headers, ...headers });
          },
        }
      : {}),
    ...(nextBody
      ? {
          requests: [
            {
              setupRequest: (request: autocannon.Request): autocannon.Request => ({
                ...request,
                body: nextBody(),
              }),
            },
          ],
        }
      : {}),
  });
  const statuses: Record<string, number> = {};
  for (const [status, stats] of Object.entries(result.statusCodeStats ?? {})) {
    statuses[status] = stats.count ?? 0;
  }
  const ok = result["2xx"];
  return {
    title: options.title,
    durationSeconds: result.duration,
    okPerSecond: ok / result.duration,
    ok,
    notOk: result.non2xx,
    errors: result.errors,
    statuses,
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
      mean: result.latency.mean,
    },
  };
}

/** Fails loudly when a run got answers it should not have: a benchmark of errors measures nothing. */
export function assertAllOk(result: LoadResult): void {
  if (result.ok === 0 || result.notOk > 0 || result.errors > 0) {
    throw new Error(
      `${result.title}: ${result.ok} ok, ${result.notOk} non-2xx ${JSON.stringify(result.statuses)}, ${result.errors} errors`,
    );
  }
}
