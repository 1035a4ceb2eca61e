import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { Writable } from "node:stream";
import { test } from "node:test";
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

function incoming(host: string | undefined): IncomingMessage {
  return {
    method: "GET",
    url,
    headers: host === undefined ? {} : { host },
    socket: { remoteAddress: "192.0.2.7", remotePort: 51_234 },
  } as unknown as IncomingMessage;
}

for (const host of ["shop.example:3000", undefined]) {
  test(`the fast path's request line is the line pino writes for the same request (${host ? "with" : "without"} a Host header)`, () => {
    const fast = capturingLogger("info");
    const write = fastPathLog(fast.log);
    assert.ok(write, "logged at info");
    write(incoming(host), "/api/v1/session/check?aal=[redacted]", performance.now());

    // What the logger writes for Fastify's request (its `req` serializer) with the same fields.
    const viaPino = capturingLogger("info");
    viaPino.log.info(
      {
        reqId: "fast-1",
        req: { method: "GET", url, host, ip: "192.0.2.7", socket: { remotePort: 51_234 } },
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
    assert.equal((rest.req as { url?: string }).url, "/api/v1/session/check?aal=[redacted]");
  });
}

test("the fast path writes no request line when requests are not logged (LOG_LEVEL warn)", () => {
  assert.equal(fastPathLog(capturingLogger("warn").log), undefined);
});

test("each line of the fast path has its own request id", () => {
  const fast = capturingLogger("info");
  const write = fastPathLog(fast.log);
  assert.ok(write);
  for (let i = 0; i < 3; i++) write(incoming("shop.example"), "/api/v1/session", performance.now());
  assert.deepEqual(
    fast.parsed().map((line) => line.reqId),
    ["fast-1", "fast-2", "fast-3"],
  );
});
