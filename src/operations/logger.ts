import pino, { type Logger } from "pino";
import type { Config } from "../config/config.ts";
import { type LogOutput, standardLogOutput } from "./log-output.ts";

/**
 * A request's URL as the log shows it: the path and the query's names, never their values. A
 * link can carry a secret in its query (the console's enrolment link: `/admin/enrol?token=…`),
 * and whoever reads the log must not be able to use it.
 */
export function loggedUrl(url: string): string {
  const mark = url.indexOf("?");
  if (mark < 0) return url;
  const names = url
    .slice(mark + 1)
    .split("&")
    .filter((pair) => pair !== "")
    .map((pair) => `${pair.split("=")[0]}=[redacted]`);
  return `${url.slice(0, mark)}?${names.join("&")}`;
}

type LoggedRequest = {
  method: string;
  url: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number } | null;
};

/** The JSON logger; its lines go to `output`, which never holds up the process (log-output.ts). */
export function createLogger(
  config: Pick<Config, "logLevel">,
  output: LogOutput = standardLogOutput(),
): Logger {
  return pino(
    {
      level: config.logLevel,
      // Fastify's request fields, with the query's values left out (loggedUrl); this logger's
      // serializers take the place of Fastify's own.
      serializers: {
        req: (request: LoggedRequest) => ({
          method: request.method,
          url: loggedUrl(request.url),
          host: request.host,
          remoteAddress: request.ip,
          remotePort: request.socket?.remotePort,
        }),
      },
      // Secrets never reach the log: no cookies, tokens or bodies.
      redact: {
        paths: [
          "req.headers.authorization",
          "req.headers.cookie",
          'req.headers["x-mamori-flow-token"]',
          'res.headers["set-cookie"]',
        ],
        remove: true,
      },
    },
    output,
  );
}
