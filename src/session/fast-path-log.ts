import type { IncomingMessage } from "node:http";
import pino, { type Logger } from "pino";
import { loggedUrl } from "../operations/logger.ts";

/** Logs one request answered before Fastify; `started` is its performance.now() on arrival. */
export type FastPathLog = (request: IncomingMessage, url: string, started: number) => void;

/** Where pino writes, and what it puts in every line of this logger (see `fastPathLog`). */
type PinoInternals = {
  stream: { write(line: string): void };
  /** `,"pid":…,"hostname":"…"` and any child bindings: the tail of every line's head. */
  bindings: string;
  /** `,"time":…` as this logger writes it. */
  time: () => string;
};

function pinoInternals(log: Logger): PinoInternals | undefined {
  const fields = log as unknown as Record<symbol, unknown>;
  const stream = fields[pino.symbols.streamSym];
  const bindings = fields[pino.symbols.chindingsSym];
  const time = fields[pino.symbols.timeSym];
  const writes = typeof stream === "object" && stream !== null && "write" in stream;
  if (!writes || typeof bindings !== "string" || typeof time !== "function") return undefined;
  return {
    stream: stream as PinoInternals["stream"],
    bindings,
    time: time as () => string,
  };
}

/**
 * The log line of a request answered before Fastify, when requests are logged (LOG_LEVEL info or
 * debug): Fastify's "request completed" line (reqId, res.statusCode, responseTime) with the `req`
 * of its "incoming request" line, written once instead of twice. It is written straight to the
 * logger's output in the shape pino gives it (a test compares the two): pino's child logger,
 * serializers and redaction pass cost more than the session check itself, and the line holds no
 * header, cookie or token for redaction to remove. Should pino's internals ever be missing, the
 * line goes through pino.
 */
export function fastPathLog(log: Logger): FastPathLog | undefined {
  if (!log.isLevelEnabled("info")) return undefined;
  let count = 0;
  const internals = pinoInternals(log);
  if (!internals) {
    const child = log.child({}, { redact: { paths: [] } });
    return (request, url, started) => {
      count += 1;
      child.info(
        {
          reqId: `fast-${count}`,
          req: loggedRequest(request, url),
          res: { statusCode: 200 },
          responseTime: performance.now() - started,
        },
        "request completed",
      );
    };
  }
  const { stream, bindings, time } = internals;
  const level = log.levels.values.info;
  return (request, url, started) => {
    count += 1;
    const req = JSON.stringify(loggedRequest(request, url));
    const responseTime = performance.now() - started;
    stream.write(
      `{"level":${level}${time()}${bindings},"reqId":"fast-${count}","req":${req},"res":{"statusCode":200},"responseTime":${responseTime},"msg":"request completed"}\n`,
    );
  };
}

/** The `req` of the line, as the logger's serializer (main.ts) gives it for a Fastify request. */
function loggedRequest(request: IncomingMessage, url: string) {
  return {
    method: request.method,
    url: loggedUrl(url),
    host: request.headers.host,
    remoteAddress: request.socket.remoteAddress,
    remotePort: request.socket.remotePort,
  };
}
