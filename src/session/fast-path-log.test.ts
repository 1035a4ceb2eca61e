import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { Writable } from "node:stream";
import { test } from "node:test";
import Fastify from "fastify";
import type { Config } from "../config/config.ts";
import { createLogOutput } from "../operations/log-output.ts";
import { createLogger } from "../operations/logger.ts";
import { fastPathLog } from "./fast-path-log.ts";

/** Mamori's logger (main.ts's), writing into an array, with each line written at once. */
function capturingLogger(level: "info" | "warn") {
  const lines: string[] = [];
  const sink = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      done();
    },
  });
  const output = createLogOutput(sink, new Writable({ write: (_c, _e, done) => done() }));
  const log = createLogger({ logLevel: level }, output);
  const parsed = (): Record<string, unknown>[] => {
    output.writePending();
    return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  };
  return { log, parsed };
}

const url = "/api/v1/session/check?aal=2";

const trustSettings: { name: string; trustProxy: Config["trustProxy"] }[] = [
  { name: "no proxy trusted", trustProxy: false },
  { name: "every proxy trusted", trustProxy: true },
  { name: "a listed proxy trusted", trustProxy: ["127.0.0.1"] },
  { name: "another proxy listed", trustProxy: ["192.0.2.1"] },
];

for (const { name, trustProxy } of trustSettings) {
  for (const forwarded of [false, true]) {
    test(`the fast path's request line has the req Fastify logs for the same request (${name}, ${forwarded ? "with" : "without"} X-Forwarded-*)`, async (t) => {
      const { log, parsed } = capturingLogger("info");
      const write = fastPathLog(log, trustProxy);
      assert.ok(write, "logged at info");
      const app = Fastify({
        loggerInstance: log,
        trustProxy: typeof trustProxy === "boolean" ? trustProxy : [...trustProxy],
      });
      t.after(() => app.close());
      // Fastify logs this request's "incoming request" line; the fast path logs the same raw request.
      app.get("/api/v1/session/check", async (request) => {
        write(request.raw, performance.now());
        return {};
      });
      const response = await app.inject({
        method: "GET",
        url,
        headers: {
          host: "mamori.internal:3000",
          ...(forwarded
            ? { "x-forwarded-for": "203.0.113.9, 198.51.100.4", "x-forwarded-host": "login.shop.example" }
            : {}),
        },
      });
      assert.equal(response.statusCode, 200);
      const lines = parsed();
      const incoming = lines.find((line) => line.msg === "incoming request");
      const fast = lines.find((line) => typeof line.reqId === "string" && line.reqId.startsWith("fast-"));
      assert.ok(incoming && fast, JSON.stringify(lines));
      assert.deepEqual(fast.req, incoming.req);
      assert.equal((fast.req as { url?: string }).url, "/api/v1/session/check?aal=[redacted]");
      if (forwarded && trustProxy !== false && !(Array.isArray(trustProxy) && trustProxy[0] === "192.0.2.1"))
        assert.equal((fast.req as { host?: string }).host, "login.shop.example");
    });
  }
}

test("the fast path's request line is the line pino writes for the same fields", () => {
  const fast = capturingLogger("info");
  const write = fastPathLog(fast.log);
  assert.ok(write, "logged at info");
  const request = {
    method: "GET",
    url,
    headers: { host: "shop.example:3000" },
    socket: { remoteAddress: "192.0.2.7", remotePort: 51_234 },
  } as unknown as IncomingMessage;
  write(request, performance.now());

  // What the logger writes for Fastify's request (its `req` serializer) with the same fields.
  const viaPino = capturingLogger("info");
  viaPino.log.info(
    {
      reqId: "fast-1",
      req: { method: "GET", url, host: "shop.example:3000", ip: "192.0.2.7", socket: { remotePort: 51_234 } },
      res: { statusCode: 200 },
      responseTime: 0,
    },
    "request completed",
  );

  const [line] = fast.parsed();
  const [expected] = viaPino.parsed();
  assert.ok(line && expected);
  assert.equal(typeof line.time, "number");
  assert.equal(typeof line.responseTime, "number");
  const { time: _t1, responseTime: _r1, ...rest } = line;
  const { time: _t2, responseTime: _r2, ...expectedRest } = expected;
  assert.deepEqual(rest, expectedRest);
});

test("the fast path writes no request line when requests are not logged (LOG_LEVEL warn)", () => {
  assert.equal(fastPathLog(capturingLogger("warn").log), undefined);
});

test("each line of the fast path has its own request id", () => {
  const fast = capturingLogger("info");
  const write = fastPathLog(fast.log);
  assert.ok(write);
  const request = {
    method: "GET",
    url: "/api/v1/session",
    headers: { host: "shop.example" },
    socket: { remoteAddress: "192.0.2.7", remotePort: 51_234 },
  } as unknown as IncomingMessage;
  for (let i = 0; i < 3; i++) write(request, performance.now());
  assert.deepEqual(
    fast.parsed().map((line) => line.reqId),
    ["fast-1", "fast-2", "fast-3"],
  );
});
