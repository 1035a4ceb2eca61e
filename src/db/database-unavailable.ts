/**
 * The database cannot be reached or did not answer in time: an outage, not a bug in the request.
 * The error handler answers it with 503 `database_unavailable` and Retry-After, never 500.
 */
export class DatabaseUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`database unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "DatabaseUnavailableError";
  }
}

// SQLSTATE codes of a server that is going away, starting, full or cancelling (PostgreSQL
// appendix A): admin/crash shutdown, cannot connect now, too many connections, statement timeout.
const unavailableStates: ReadonlySet<string> = new Set(["57P01", "57P02", "57P03", "53300", "57014"]);

// Socket errors of a server that is down, unreachable or gone mid-answer.
const unavailableSocketCodes: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

// The pg driver's own words for a connection that ended, timed out or cannot be used any more.
const unavailableMessages: readonly RegExp[] = [
  /^Connection terminated/,
  /^Query read timeout$/,
  /^timeout exceeded when trying to connect$/,
  /is not queryable$/,
  /^Client was closed/,
];

/**
 * True for an error that means "the database is not there right now": a connection-class SQLSTATE
 * (08xxx), a shutdown, a timeout, a refused or reset socket, or the driver's "Connection terminated".
 * An error of the query itself (a constraint, a syntax error) is not one.
 */
export function isConnectionFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") {
    if (/^08[0-9A-Z]{3}$/.test(code) || unavailableStates.has(code)) return true;
    if (unavailableSocketCodes.has(code)) return true;
  }
  return unavailableMessages.some((pattern) => pattern.test(error.message));
}

/** True when the error, or one it was caused by, is the database being unavailable. */
export function isDatabaseUnavailable(error: unknown): boolean {
  let current: unknown = error;
  // A short chain: errors wrapped a few times at most; a cycle must not loop.
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current instanceof DatabaseUnavailableError) return true;
    current = current.cause;
  }
  return false;
}
