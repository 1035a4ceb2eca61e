import assert from "node:assert/strict";
import { PassThrough, Writable } from "node:stream";
import { test } from "node:test";
import { createLogOutput } from "./log-output.ts";

/** Standard error as a test sees it: every notice line. */
function noticeSink(): { stream: PassThrough; lines(): string[] } {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on("data", (chunk: Buffer) => chunks.push(chunk.toString("utf8")));
  return { stream, lines: () => chunks.join("").split("\n").filter(Boolean) };
}

/** A reader that keeps up: every chunk written, as it came. */
function keepingReader(): { stream: Writable; writes: string[] } {
  const writes: string[] = [];
  const stream = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      writes.push(chunk.toString("utf8"));
      done();
    },
  });
  return { stream, writes };
}

test("a reader that stops reading costs log lines, never memory beyond the cap: the rest are dropped and counted", async () => {
  // A log shipper that hangs: it accepts nothing, and no write ever completes.
  const stalled = new Writable({ highWaterMark: 1024, write: () => {} });
  const notices = noticeSink();
  const output = createLogOutput(stalled, notices.stream);
  const line = `${"x".repeat(999)}\n`;
  for (let i = 0; i < 3000; i++) output.write(line);
  // About a mebibyte waits (the first write is taken, the others queue up to the cap).
  assert.ok(stalled.writableLength <= 1024 * 1024, `${stalled.writableLength} bytes wait`);
  const waiting = Math.ceil((1024 * 1024) / line.length);
  assert.ok(output.dropped() >= 3000 - waiting - 1, `${output.dropped()} dropped`);
  const droppedBeforeFlush = output.dropped();
  // Shutdown waits a bounded time, then counts what never left.
  await output.flush(50);
  assert.equal(output.dropped(), 3000, `${droppedBeforeFlush} dropped, then the waiting ones`);
  output.reportDropped();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(notices.lines().length, 2, notices.lines().join("\n"));
  assert.match(notices.lines()[0] ?? "", /log lines are being dropped \(output not read\)/);
  assert.equal(notices.lines()[1], "mamori: log lines dropped: 3000");
});

test("a reader that went away (EPIPE) is not retried: every later line is dropped and counted at once", async () => {
  const gone = new Writable({
    write: (_chunk, _encoding, done) => done(Object.assign(new Error("write EPIPE"), { code: "EPIPE" })),
  });
  const notices = noticeSink();
  const output = createLogOutput(gone, notices.stream);
  output.write("first\n");
  await new Promise((resolve) => setImmediate(resolve));
  for (let i = 0; i < 100; i++) output.write("later\n");
  assert.equal(output.dropped(), 101);
  // Nothing waits, so shutdown does not wait either.
  const started = performance.now();
  await output.flush(10_000);
  assert.ok(performance.now() - started < 1000);
  assert.equal(output.dropped(), 101);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(notices.lines().length, 1, "standard error is told once");
  assert.match(notices.lines()[0] ?? "", /output closed: EPIPE/);
});

test("a reader that keeps up gets every line and nothing is counted", async () => {
  const { stream: healthy, writes: received } = keepingReader();
  const output = createLogOutput(healthy, noticeSink().stream);
  for (let i = 0; i < 500; i++) output.write(`line ${i}\n`);
  await output.flush(5000);
  assert.equal(received.join("").split("\n").filter(Boolean).length, 500);
  assert.equal(output.dropped(), 0);
});

test("the lines of one turn of the event loop leave in one write, in order, by the end of that turn", async () => {
  const { stream: reader, writes } = keepingReader();
  const output = createLogOutput(reader, noticeSink().stream);
  for (let i = 0; i < 50; i++) output.write(`first turn ${i}\n`);
  assert.equal(writes.length, 0, "nothing is written before the turn ends");
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(writes.length, 1, "one write for the turn");
  assert.deepEqual(
    writes[0]?.split("\n").filter(Boolean),
    Array.from({ length: 50 }, (_, i) => `first turn ${i}`),
  );
  output.write("second turn\n");
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(writes.slice(1), ["second turn\n"]);
  await output.flush(5000);
  assert.equal(output.dropped(), 0);
});

test("lines still waiting when the process exits are written at once by writePending", () => {
  const { stream: reader, writes } = keepingReader();
  const output = createLogOutput(reader, noticeSink().stream);
  output.write("a fatal error\n");
  output.write("stopping\n");
  output.writePending();
  assert.deepEqual(writes, ["a fatal error\nstopping\n"]);
});

test("at exit the waiting lines go through the synchronous writer, and those a shutdown gave up on are neither written nor counted twice", async () => {
  const reader = new Writable({ write: (_chunk, _encoding, done) => done() });
  const output = createLogOutput(reader, noticeSink().stream);
  const now: string[] = [];
  output.write("fatal\n");
  output.writePending((text) => now.push(text));
  assert.deepEqual(now, ["fatal\n"]);
  assert.equal(output.dropped(), 0);

  // A reader that never takes anything: shutdown gives up on lines still gathered in this turn,
  // counts them, and the exit hook does not write or count them again.
  const stalled = new Writable({ highWaterMark: 16, write: () => {} });
  const stuck = createLogOutput(stalled, noticeSink().stream);
  stuck.write("first\n");
  stuck.write("second\n");
  await stuck.flush(0);
  assert.equal(stuck.dropped(), 2);
  const tried: string[] = [];
  stuck.writePending((text) => tried.push(text));
  assert.deepEqual(tried, []);
  assert.equal(stuck.dropped(), 2, "not counted again");
});
