import type { CompiledQuery, Kysely, Selectable } from "kysely";
import { constantTimeEqual, sha256Hex } from "../crypto/secrets.ts";
import { cachedRowChangesOf, startSessionChangeFeed } from "../db/database.ts";
import type { AccountTable, Schema } from "../db/schema.ts";
import { SessionCache } from "./session-cache.ts";
import { PostgresSessionCache } from "./session-cache-postgres.ts";
import { type AuthenticatedSession, lifetimes, type SessionDeps, type SessionRow } from "./sessions.ts";

// last_seen_at is written at most once a minute per session: a session check stays a single read.
const touchIntervalMs = 60_000;

/** The session and its account, by session id: the read every authenticated request makes. */
function sessionLookup(db: Kysely<Schema>) {
  return db
    .selectFrom("session")
    .innerJoin("account", "account.id", "session.account_id")
    .selectAll("session")
    .select([
      "account.email",
      "account.email_verified_at",
      "account.name",
      "account.phone",
      "account.phone_verified_at",
      "account.password_hash",
      "account.password_changed_at",
      "account.locale",
      "account.status",
      "account.status_reason",
      "account.created_at as account_created_at",
      "account.updated_at as account_updated_at",
      "account.two_step_enabled_at",
      "account.closed_at",
      "account.erase_after",
      "account.erased_at",
      "account.phone_source",
    ])
    .where("session.id", "=", "");
}

type SessionLookupRow = Awaited<ReturnType<ReturnType<typeof sessionLookup>["executeTakeFirstOrThrow"]>>;
type SessionLookup = CompiledQuery<SessionLookupRow>;

// The lookup is compiled once per database handle and run with the id as its only parameter:
// building and compiling the query cost more than the indexed read itself.
const compiledLookups = new WeakMap<Kysely<Schema>, SessionLookup>();

function compiledSessionLookup(db: Kysely<Schema>): SessionLookup {
  let compiled = compiledLookups.get(db);
  if (!compiled) {
    compiled = sessionLookup(db).compile();
    if (compiled.parameters.length !== 1) throw new Error("the session lookup must take the id alone");
    compiledLookups.set(db, compiled);
  }
  return compiled;
}

// The sessions of a small shop's busiest minutes (one SQLite process); about 1.5 KiB each with the
// answer made of it, so at most 3 MiB. Beyond it the oldest row goes and is read again when needed.
const cachedSessions = 2_000;
// On PostgreSQL a process serves a share of a larger shop: at most about 15 MiB.
const cachedSessionsPostgres = 10_000;

/** What both caches offer: SQLite's (session-cache.ts) and PostgreSQL's (session-cache-postgres.ts). */
type RowCache = {
  generation(): number | undefined;
  get(id: string): SessionLookupRow | undefined;
  /** true: `get` answers what the database holds now; a promise: once it resolves true; false: read. */
  settled(): true | Promise<boolean> | false;
  /** As `settled` without a promise: "waiting" when `waiter` will be told (true or false) instead. */
  whenSettled(waiter: (settled: boolean) => void): true | "waiting" | false;
  remember(id: string, row: SessionLookupRow, generation: number | undefined): void;
};
const caches = new WeakMap<Kysely<Schema>, RowCache | null>();

/**
 * The session cache of a database: SQLite's, told of changes by PRAGMA data_version; PostgreSQL's,
 * told by its change feed (started here, on the first lookup; none once the database is closed).
 */
function sessionCacheOf(db: Kysely<Schema>): RowCache | undefined {
  let cache = caches.get(db);
  if (cache === undefined) {
    const changes = cachedRowChangesOf(db);
    if (changes) cache = new SessionCache<SessionLookupRow>(changes, cachedSessions);
    else {
      const postgres = new PostgresSessionCache<SessionLookupRow>(cachedSessionsPostgres);
      const feed = startSessionChangeFeed(db, postgres);
      if (feed) postgres.attach(feed);
      cache = feed ? postgres : null;
    }
    caches.set(db, cache);
  }
  return cache ?? undefined;
}

/** The cached row for a session id, once the cache can vouch for it (see RowCache.settled). */
function settledRow(
  cache: RowCache,
  id: string,
): SessionLookupRow | undefined | Promise<SessionLookupRow | undefined> {
  if (!cache.get(id)) return undefined;
  const settled = cache.settled();
  if (settled === true) return cache.get(id);
  if (settled === false) return undefined;
  // A row evicted while the barrier was on its way is gone from the cache: get() says so.
  return settled.then((yes) => (yes ? cache.get(id) : undefined));
}

type ParsedToken = { id: string; secret: string };

function parseToken(token: string): ParsedToken | undefined {
  const dot = token.indexOf(".");
  if (dot <= 0 || token.length > 200) return undefined;
  return { id: token.slice(0, dot), secret: token.slice(dot + 1) };
}

/**
 * The session a token names, if it is live: the secret matches (constant time), not revoked, not
 * past its idle or absolute expiry, and its account is active. The row may come from the session
 * cache, which answers only what a read would (session-cache.ts on SQLite, session-cache-postgres.ts
 * on PostgreSQL); otherwise it is read. Either way a revocation anywhere takes effect at once.
 */
export async function authenticateSessionToken(
  db: Kysely<Schema>,
  deps: SessionDeps,
  token: string,
): Promise<AuthenticatedSession | undefined> {
  const parsed = parseToken(token);
  if (!parsed) return undefined;
  const cache = sessionCacheOf(db);
  const settled = cache ? settledRow(cache, parsed.id) : undefined;
  // Awaited only when there is something to wait for (PostgreSQL): a SQLite hit stays synchronous.
  let row = settled instanceof Promise ? await settled : settled;
  if (!row) {
    const generation = cache?.generation();
    const { rows } = await db.executeQuery<SessionLookupRow>({
      ...compiledSessionLookup(db),
      parameters: [parsed.id],
    });
    row = rows[0];
    if (row) cache?.remember(parsed.id, row, generation);
  }
  if (!row) return undefined;
  const now = deps.clock.now();
  if (!isLive(row, parsed.secret, now)) return undefined;
  const auth = toAuthenticated(row);
  if (now.getTime() - Date.parse(row.last_seen_at) >= touchIntervalMs)
    await touch(db, deps, auth.session, now);
  return auth;
}

type Render<T> = (auth: AuthenticatedSession) => T;
// Per render function, what it made of each cached row: a row that leaves the cache takes its
// answers with it.
const renderedByRender = new WeakMap<Render<unknown>, WeakMap<SessionLookupRow, unknown>>();

/** What `answerFromCache` returns when it will call its `later` instead. */
export const answeredLater: unique symbol = Symbol("answered later");

/**
 * `render` of the live session a token names, from the session cache alone: at once on SQLite; on
 * PostgreSQL `answeredLater`, and `later` is called with it once the change feed's barrier is back
 * (one barrier shared by the requests that arrived together, and no promise per request); undefined
 * (at once or to `later`) when the cache cannot say (no cached row, the feed down, a failed check,
 * or a touch of last_seen_at is due), and `authenticateSessionToken` must be asked. `render` must
 * depend on the session and account alone: what it makes of a cached row is kept with the row, and
 * goes with it.
 */
export function answerFromCache<T>(
  db: Kysely<Schema>,
  deps: Pick<SessionDeps, "clock">,
  token: string,
  render: Render<T>,
  later: (answer: T | undefined) => void,
): T | undefined | typeof answeredLater {
  const parsed = parseToken(token);
  const cache = sessionCacheOf(db);
  if (!parsed || !cache?.get(parsed.id)) return undefined;
  const settled = cache.whenSettled((yes) => {
    let answer: T | undefined;
    try {
      // A row evicted while the barrier was on its way is gone from the cache: get() says so.
      answer = yes ? renderLive(cache.get(parsed.id), parsed, deps, render) : undefined;
    } catch {
      // As when it fails at once: the caller asks the database instead (Fastify's route answers).
      answer = undefined;
    }
    later(answer);
  });
  if (settled === "waiting") return answeredLater;
  return settled ? renderLive(cache.get(parsed.id), parsed, deps, render) : undefined;
}

/** `answerFromCache` with a promise for the later answer (on PostgreSQL). */
export function renderCachedSession<T>(
  db: Kysely<Schema>,
  deps: Pick<SessionDeps, "clock">,
  token: string,
  render: Render<T>,
): T | undefined | Promise<T | undefined> {
  let resolveLater: (answer: T | undefined) => void = () => {};
  const answer = answerFromCache(db, deps, token, render, (value) => resolveLater(value));
  if (answer !== answeredLater) return answer;
  // `later` is never called before answerFromCache has returned: the barrier is a round trip away.
  return new Promise((resolve) => {
    resolveLater = resolve;
  });
}

function renderLive<T>(
  row: SessionLookupRow | undefined,
  parsed: ParsedToken,
  deps: Pick<SessionDeps, "clock">,
  render: Render<T>,
): T | undefined {
  if (!row) return undefined;
  // isLive's rule, with the row's part worked out once (livenessOf); the secret still every time.
  if (!constantTimeEqual(sha256Hex(parsed.secret), row.secret_hash)) return undefined;
  const liveness = livenessOf(row);
  // Written so that NaN (a timestamp that would not parse) never answers.
  if (!liveness.active || !(deps.clock.now().getTime() < liveness.answerableUntilMs)) return undefined;
  let rendered = renderedByRender.get(render);
  if (!rendered) {
    rendered = new WeakMap();
    renderedByRender.set(render, rendered);
  }
  if (rendered.has(row)) {
    // Only `render` itself put a value under this row in its own map, so the value is a T.
    return rendered.get(row) as T;
  }
  const answer = render(toAuthenticated(row));
  rendered.set(row, answer);
  return answer;
}

/** What the cache's answer needs of a row besides the secret: the same for every request, so made once. */
type Liveness = {
  /**
   * Not revoked, the account active, and both expiries in the one form Mamori writes
   * (`toISOString`), in which comparing them as numbers, as here, and as text, as isLive does, agree.
   */
  active: boolean;
  /**
   * Until when the row may answer from the cache: its idle expiry, its absolute expiry, or the
   * moment last_seen_at is due to be written (then the route reads and touches), whichever is
   * first. A timestamp Date.parse cannot read gives NaN, which never answers: the route decides.
   */
  answerableUntilMs: number;
};
const livenessByRow = new WeakMap<SessionLookupRow, Liveness>();

function livenessOf(row: SessionLookupRow): Liveness {
  let liveness = livenessByRow.get(row);
  if (!liveness) {
    liveness = {
      active:
        row.revoked_at === null &&
        row.status === "active" &&
        isCanonicalTime(row.idle_expires_at) &&
        isCanonicalTime(row.absolute_expires_at),
      answerableUntilMs: Math.min(
        Date.parse(row.idle_expires_at),
        Date.parse(row.absolute_expires_at),
        Date.parse(row.last_seen_at) + touchIntervalMs,
      ),
    };
    livenessByRow.set(row, liveness);
  }
  return liveness;
}

/** A timestamp in the form `toISOString` gives (UTC, milliseconds, "Z"), the only one Mamori writes. */
function isCanonicalTime(text: string): boolean {
  const time = Date.parse(text);
  return Number.isFinite(time) && new Date(time).toISOString() === text;
}

/** The token's secret matches (constant time), the session is neither revoked nor expired, and its account is active. */
function isLive(row: SessionLookupRow, secret: string, now: Date): boolean {
  if (!constantTimeEqual(sha256Hex(secret), row.secret_hash)) return false;
  const nowText = now.toISOString();
  if (row.revoked_at !== null || row.idle_expires_at <= nowText || row.absolute_expires_at <= nowText)
    return false;
  // Compared as text, an expiry overwritten by hand with something other than a time ("expired")
  // would count as the future: only the form Mamori writes is a time here.
  if (!isCanonicalTime(row.idle_expires_at) || !isCanonicalTime(row.absolute_expires_at)) return false;
  return row.status === "active";
}

/** The session and account of a looked-up row, as fresh objects (callers may change them). */
function toAuthenticated(row: SessionLookupRow): AuthenticatedSession {
  const session: SessionRow = {
    id: row.id,
    secret_hash: row.secret_hash,
    account_id: row.account_id,
    aal: row.aal,
    factors: row.factors,
    persistent: row.persistent,
    session_type: row.session_type,
    created_at: row.created_at,
    last_seen_at: row.last_seen_at,
    authenticated_at: row.authenticated_at,
    idle_expires_at: row.idle_expires_at,
    absolute_expires_at: row.absolute_expires_at,
    revoked_at: row.revoked_at,
    ip: row.ip,
    user_agent: row.user_agent,
    second_factor_at: row.second_factor_at,
  };
  const account: Selectable<AccountTable> = {
    id: row.account_id,
    email: row.email,
    email_verified_at: row.email_verified_at,
    name: row.name,
    phone: row.phone,
    phone_verified_at: row.phone_verified_at,
    password_hash: row.password_hash,
    password_changed_at: row.password_changed_at,
    locale: row.locale,
    status: row.status,
    status_reason: row.status_reason,
    created_at: row.account_created_at,
    updated_at: row.account_updated_at,
    two_step_enabled_at: row.two_step_enabled_at,
    closed_at: row.closed_at,
    erase_after: row.erase_after,
    erased_at: row.erased_at,
    phone_source: row.phone_source,
  };
  return { session, account };
}

/** Records that the session was used: last_seen_at now, and the idle expiry pushed on. */
async function touch(db: Kysely<Schema>, deps: SessionDeps, session: SessionRow, now: Date): Promise<void> {
  const { idleSeconds } = lifetimes(deps.limits, session.persistent === 1);
  session.last_seen_at = now.toISOString();
  session.idle_expires_at = new Date(now.getTime() + idleSeconds * 1000).toISOString();
  await db
    .updateTable("session")
    .set({ last_seen_at: session.last_seen_at, idle_expires_at: session.idle_expires_at })
    .where("id", "=", session.id)
    .execute();
}
