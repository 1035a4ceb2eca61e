import type { IncomingMessage } from "node:http";
import proxyAddr from "@fastify/proxy-addr";
import pino, { type Logger } from "pino";
import type { Config } from "../config/config.ts";
import { loggedUrl } from "../operations/logger.ts";

/** Logs one request answered before Fastify; `started` is its performance.now() on arrival. */
export type FastPathLog = (request: IncomingMessage, started: number) => void;

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
export function fastPathLog(log: Logger, trustProxy: Config["trustProxy"] = false): FastPathLog | undefined {
  if (!log.isLevelEnabled("info")) return undefined;
  let count = 0;
  const describe = requestDescriber(trustProxy);
  const internals = pinoInternals(log);
  if (!internals) {
    const child = log.child({}, { redact: { paths: [] } });
    return (request, started) => {
      count += 1;
      child.info(
        {
          reqId: `fast-${count}`,
          req: describe(request),
          res: { statusCode: 200 },
          responseTime: performance.now() - started,
        },
        "request completed",
      );
    };
  }
  const { stream, bindings, time } = internals;
  const level = log.levels.values.info;
  return (request, started) => {
    count += 1;
    const req = JSON.stringify(describe(request));
    const responseTime = performance.now() - started;
    stream.write(
      `{"level":${level}${time()}${bindings},"reqId":"fast-${count}","req":${req},"res":{"statusCode":200},"responseTime":${responseTime},"msg":"request completed"}\n`,
    );
  };
}

type LoggedRequest = {
  method: string | undefined;
  url: string;
  host: string;
  remoteAddress: string | undefined;
  remotePort: number | undefined;
};

/**
 * The `req` of the line, as the logger's serializer (logger.ts) gives it for a Fastify request
 * answered under the same MAMORI_TRUST_PROXY: behind a trusted proxy the client's address from
 * X-Forwarded-For and the host from X-Forwarded-Host, as Fastify's `request.ip` and `request.host`
 * (fastify/lib/request.js) read them; otherwise the socket's address and the Host header.
 */
function requestDescriber(trustProxy: Config["trustProxy"]): (request: IncomingMessage) => LoggedRequest {
  const trusted =
    trustProxy === false ? undefined : trustProxy === true ? () => true : proxyAddr.compile([...trustProxy]);
  return (request) => {
    const socket = request.socket;
    let host = request.headers.host ?? "";
    let remoteAddress = socket.remoteAddress;
    if (trusted) {
      const addresses = proxyAddr.all(request, trusted);
      remoteAddress = addresses[addresses.length - 1];
      const forwardedHost = request.headers["x-forwarded-host"];
      if (typeof forwardedHost === "string" && forwardedHost !== "" && trusted(socket.remoteAddress ?? "", 0))
        host = (forwardedHost.split(",").pop() ?? "").trim();
    }
    return {
      method: request.method,
      url: loggedUrl(request.url ?? ""),
      host,
      remoteAddress,
      remotePort: socket.remotePort,
    };
  };
}
