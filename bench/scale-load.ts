import autocannon from "autocannon";

/**
 * autocannon for the scale bench: every answer's latency is kept at autocannon's own resolution
 * (fractions of a millisecond; its summary rounds to whole ones, too coarse to compare 0.4 ms with
 * 0.5 ms), by kind of request, and every answer's status is checked against the one expected.
 */
export type PlannedRequest = {
  kind: string;
  method: "GET" | "POST";
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** The status a correct answer has (200, 202). */
  expect: number;
};

export type ScaleLoadOptions = {
  title: string;
  url: string;
  connections: number;
  durationSeconds: number;
  /** Requests per second over all connections (autocannon's pacing); unlimited when absent. */
  overallRate?: number;
  /**
   * What to send: the next request, chosen per request (a mix), or one request whose headers are
   * set once per connection (cheaper for the load generator: the request is built once).
   */
  send:
    | { next: () => PlannedRequest }
    | { request: PlannedRequest; headersPerConnection: ReadonlyArray<Record<string, string>> };
};

export type Latency = { count: number; p50: number; p90: number; p99: number; max: number; mean: number };

export type KindResult = Latency & {
  /** Answers with the expected status. */
  ok: number;
  /** Answers with another status, by status. */
  unexpected: Record<string, number>;
  perSecond: number;
};

export type ScaleLoadResult = {
  title: string;
  durationSeconds: number;
  /** Answers with the expected status, per second, all kinds together. */
  okPerSecond: number;
  ok: number;
  unexpected: number;
  /** Connection errors and timeouts (autocannon's `errors`, timeouts included). */
  errors: number;
  timeouts: number;
  all: Latency;
  kinds: Record<string, KindResult>;
  /** What the figures are computed from, to pool runs (mergeLoads). */
  raw: RawLoad;
};

type RawKind = { latencies: number[]; ok: number; unexpected: Record<string, number> };

export type RawLoad = {
  title: string;
  durationSeconds: number;
  errors: number;
  timeouts: number;
  kinds: Map<string, RawKind>;
};

function latencyOf(values: number[]): Latency {
  const sorted = Float64Array.from(values).sort();
  const at = (q: number): number =>
    sorted.length === 0
      ? Number.NaN
      : (sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0);
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: sorted.length > 0 ? (sorted[sorted.length - 1] ?? 0) : Number.NaN,
    mean: sorted.length > 0 ? sum / sorted.length : Number.NaN,
  };
}

export async function runScaleLoad(options: ScaleLoadOptions): Promise<ScaleLoadResult> {
  // Each connection's context is replaced before every request (one entry in `requests`), and the
  // answer's onResponse runs just before autocannon's "response" event for it: what was asked is
  // carried from one to the other.
  const asked = new WeakMap<object, PlannedRequest>();
  let answered: { request: PlannedRequest; status: number } | undefined;
  const raw = new Map<string, RawKind>();

  let finished: (error: unknown, result: autocannon.Result) => void = () => {};
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    finished = (error, result) => (error ? reject(error) : resolve(result));
  });
  const send = options.send;
  let connectionIndex = 0;
  const instance = autocannon(
    {
      url: "next" in send ? options.url : `${options.url}${send.request.path}`,
      title: options.title,
      connections: options.connections,
      duration: options.durationSeconds,
      ...(options.overallRate !== undefined
        ? { overallRate: options.overallRate, ignoreCoordinatedOmission: true }
        : {}),
      ...("next" in send
        ? {
            requests: [
              {
                setupRequest: (request: autocannon.Request, context: object): autocannon.Request => {
                  const planned = send.next();
                  asked.set(context, planned);
                  return {
                    ...request,
                    method: planned.method,
                    path: planned.path,
                    headers: planned.headers,
                    ...(planned.body !== undefined ? { body: planned.body } : {}),
                  };
                },
                onResponse: (status: number, _body: string, context: object): void => {
                  const request = asked.get(context);
                  answered = request ? { request, status } : undefined;
                },
              },
            ],
          }
        : {
            method: send.request.method,
            ...(send.request.body !== undefined ? { body: send.request.body } : {}),
            setupClient: (client: autocannon.Client) => {
              const headers = send.headersPerConnection[connectionIndex % send.headersPerConnection.length];
              connectionIndex += 1;
              client.setHeaders({ ...send.request.headers, ...headers });
            },
          }),
    },
    (error: unknown, result: autocannon.Result) => finished(error, result),
  );
  // autocannon's tracker passes the client first (its type definitions leave it out).
  instance.on("response", (...args: unknown[]) => {
    const [, statusCode, , responseTime] = args;
    const current = "next" in send ? answered : { request: send.request, status: Number(statusCode) };
    answered = undefined;
    if (!current || typeof responseTime !== "number") return;
    const { request, status } = current;
    let kind = raw.get(request.kind);
    if (!kind) {
      kind = { latencies: [], ok: 0, unexpected: {} };
      raw.set(request.kind, kind);
    }
    kind.latencies.push(responseTime);
    if (status === request.expect) kind.ok += 1;
    else kind.unexpected[String(status)] = (kind.unexpected[String(status)] ?? 0) + 1;
  });
  const result = await done;
  return summarize({
    title: options.title,
    durationSeconds: result.duration,
    errors: result.errors,
    timeouts: result.timeouts,
    kinds: raw,
  });
}

function summarize(raw: RawLoad): ScaleLoadResult {
  const seconds = raw.durationSeconds;
  const kinds: Record<string, KindResult> = {};
  const all: number[] = [];
  let ok = 0;
  let wrong = 0;
  for (const [kind, k] of raw.kinds) {
    ok += k.ok;
    wrong += Object.values(k.unexpected).reduce((sum, n) => sum + n, 0);
    for (const v of k.latencies) all.push(v);
    kinds[kind] = {
      ...latencyOf(k.latencies),
      ok: k.ok,
      unexpected: k.unexpected,
      perSecond: k.ok / seconds,
    };
  }
  return {
    title: raw.title,
    durationSeconds: seconds,
    okPerSecond: ok / seconds,
    ok,
    unexpected: wrong,
    errors: raw.errors,
    timeouts: raw.timeouts,
    all: latencyOf(all),
    kinds,
    raw,
  };
}

/** Several runs of the same load as one: answers pooled, durations added. */
export function mergeLoads(results: readonly ScaleLoadResult[]): ScaleLoadResult {
  const kinds = new Map<string, RawKind>();
  for (const result of results) {
    for (const [kind, k] of result.raw.kinds) {
      const merged = kinds.get(kind) ?? { latencies: [], ok: 0, unexpected: {} };
      for (const v of k.latencies) merged.latencies.push(v);
      merged.ok += k.ok;
      for (const [status, n] of Object.entries(k.unexpected)) {
        merged.unexpected[status] = (merged.unexpected[status] ?? 0) + n;
      }
      kinds.set(kind, merged);
    }
  }
  return summarize({
    title: results[0]?.title ?? "",
    durationSeconds: results.reduce((sum, r) => sum + r.durationSeconds, 0),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    timeouts: results.reduce((sum, r) => sum + r.timeouts, 0),
    kinds,
  });
}

/** A run with an unexpected answer or an error measured nothing it claims to: it fails the bench. */
export function assertClean(result: ScaleLoadResult): void {
  if (result.ok === 0 || result.unexpected > 0 || result.errors > 0) {
    const wrong = Object.entries(result.kinds)
      .filter(([, k]) => Object.keys(k.unexpected).length > 0)
      .map(([kind, k]) => `${kind} ${JSON.stringify(k.unexpected)}`)
      .join(", ");
    throw new Error(
      `${result.title}: ${result.ok} ok, ${result.unexpected} unexpected (${wrong || "none"}), ${result.errors} errors (${result.timeouts} timeouts)`,
    );
  }
}
