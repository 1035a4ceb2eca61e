import { writeSync } from "node:fs";
import type { Writable } from "node:stream";

/**
 * Where log lines go: standard output, without ever waiting on it. A reader that went away (EPIPE)
 * or stopped reading (a full pipe) costs log lines, never requests or shutdown: lines that cannot
 * be written are dropped and counted, and standard error is told once.
 *
 * The lines of one turn of the event loop leave together, in one write from `setImmediate`: at the
 * default LOG_LEVEL=info every request is a line, and a write to a pipe is a system call that cost
 * more than the session check it logged (docs/decisions/0033). A line waits at most for the end of
 * the turn that wrote it, and `writePending` sends what waits at once (at exit).
 */
export type LogOutput = {
  /** Writes one line (pino's destination interface); drops it when the output is broken or full. */
  write(line: string): void;
  /**
   * Writes the lines of this turn now instead of at its end (the process is exiting): through
   * `now`, synchronously, when nothing written earlier still waits for the output.
   */
  writePending(now?: (text: string) => void): void;
  /** Lines dropped so far, including those still waiting when `flush` gave up. */
  dropped(): number;
  /** Waits, at most `timeoutMs`, for the waiting lines to leave; then counts the rest as dropped. */
  flush(timeoutMs: number): Promise<void>;
  /** Says on standard error how many lines were dropped, if any (at shutdown). */
  reportDropped(): void;
  /** One line for the operator on standard error, under the same rule (never waited on). */
  notice(text: string): void;
};

// A slow reader gets this much waiting in memory; after that new lines are dropped until it
// catches up. About four thousand request lines: a burst, not a backlog.
const maxWaitingBytes = 1024 * 1024;

export function createLogOutput(out: Writable, notices: Writable): LogOutput {
  let broken: string | undefined;
  let dropped = 0;
  let waiting = 0;
  let told = false;
  const notice = (text: string): void => {
    // Standard error may be as stuck as standard output: the same rule, without counting.
    if (!notices.writableEnded && !notices.destroyed && notices.writableLength < maxWaitingBytes)
      notices.write(`${text}\n`);
  };
  const drop = (count: number, why: string): void => {
    dropped += count;
    if (told) return;
    told = true;
    notice(`mamori: log lines are being dropped (${why}); the count is given at shutdown`);
  };
  const onError = (error: NodeJS.ErrnoException): void => {
    broken ??= error.code ?? error.message;
  };
  // Without a listener a broken pipe's 'error' event would end the process.
  out.on("error", onError);
  notices.on("error", () => {});

  let abandoned = false;
  let onIdle: (() => void) | undefined;
  /** Lines of this turn, not yet handed to `out`; counted in `waiting` already. */
  let pending: string[] = [];
  let pendingBytes = 0;
  let scheduled = false;
  const writePending = (now?: (text: string) => void): void => {
    scheduled = false;
    if (pending.length === 0) return;
    const lines = pending;
    const count = lines.length;
    pending = [];
    pendingBytes = 0;
    const text = count === 1 ? (lines[0] ?? "") : lines.join("");
    const closed = broken !== undefined || out.destroyed || out.writableEnded;
    const settle = (error?: Error | null): void => {
      waiting -= count;
      if (error) {
        onError(error);
        drop(count, `output closed: ${broken ?? error.message}`);
      }
      if (waiting === 0) onIdle?.();
    };
    if (closed) {
      waiting -= count;
      drop(count, `output closed: ${broken ?? "ended"}`);
      if (waiting === 0) onIdle?.();
      return;
    }
    if (now && out.writableLength === 0) {
      try {
        now(text);
        settle();
      } catch (error) {
        settle(error instanceof Error ? error : new Error(String(error)));
      }
      return;
    }
    out.write(text, (error) => {
      // After flush gave up, the lines were counted already.
      if (abandoned) return;
      settle(error);
    });
  };
  return {
    write(line: string): void {
      if (broken !== undefined || out.destroyed || out.writableEnded) {
        drop(1, `output closed: ${broken ?? "ended"}`);
        return;
      }
      if (out.writableLength + pendingBytes + line.length > maxWaitingBytes) {
        drop(1, "output not read");
        return;
      }
      waiting++;
      pending.push(line);
      pendingBytes += line.length;
      if (!scheduled) {
        scheduled = true;
        setImmediate(writePending);
      }
    },
    writePending,
    dropped: () => dropped,
    async flush(timeoutMs: number): Promise<void> {
      if (waiting === 0) return;
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        onIdle = resolve;
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
      onIdle = undefined;
      // What has not left by now is lost when the process exits.
      if (waiting > 0) {
        abandoned = true;
        // Counted below with the rest; the exit hook must not try them again.
        pending = [];
        pendingBytes = 0;
        drop(waiting, "output not read at shutdown");
        waiting = 0;
      }
    },
    reportDropped(): void {
      if (dropped > 0) notice(`mamori: log lines dropped: ${dropped}`);
    },
    notice,
  };
}

let standard: LogOutput | undefined;

/** The process's one output for log lines: standard output, notices on standard error. */
export function standardLogOutput(): LogOutput {
  if (!standard) {
    const output = createLogOutput(process.stdout, process.stderr);
    // process.exit() (a fatal error, the shutdown bound) ends the turn early: its lines go now,
    // with a synchronous write (a pipe is asynchronous on Linux, and nothing runs after "exit").
    process.on("exit", () => output.writePending(writeAllToStandardOutput));
    standard = output;
  }
  return standard;
}

/** Writes all of `text` to file descriptor 1 now; throws (EAGAIN: a full pipe) when it cannot. */
function writeAllToStandardOutput(text: string): void {
  let rest = Buffer.from(text);
  while (rest.length > 0) rest = rest.subarray(writeSync(1, rest));
}
