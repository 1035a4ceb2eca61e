/**
 * A small client for a shop's Node back end: "who is this request's person?", asked of Mamori's
 * `GET /api/v1/session/check` with the session cookie or bearer token the request carried.
 * Depends on nothing but the platform's `fetch`, so a shop can copy this one file.
 *
 *   const mamori = createMamoriClient({ baseUrl: "https://shop.example.jp" });
 *   const result = await mamori.checkRequest(request.headers);
 *   if (result.ok) console.log(result.identity.account.name);
 *
 * Expected outcomes are values (`{ ok: false, reason }`); it throws only for a bug in the caller
 * (a bad option). Mamori down or slow is `reason: "unavailable"`: the shop decides whether that
 * means "signed out" or an error page, never this client.
 */

export type MamoriIdentity = {
  account: {
    id: string;
    email: string;
    emailVerified: boolean;
    name: string;
    /** A verified mobile number in E.164, else null. */
    phone: string | null;
    phoneVerified: boolean;
    locale: "ja" | "en";
  };
  session: {
    id: string;
    /** Assurance level: 2 once two-step verification (or a trusted browser) was passed. */
    aal: 1 | 2;
    /** "urn:mamori:aal1" or "urn:mamori:aal2". */
    acr: string;
    /** RFC 8176 methods: pwd, otp, sms, tel, swk, mfa, … */
    amr: string[];
    authenticatedAt: string;
    expiresAt: string;
  };
};

export type CheckFailureReason =
  /** No live session: none sent, expired, revoked, or the account is suspended or closed. */
  | "unauthenticated"
  /** A live session without the two-step verification `requireTwoStep` asked for. */
  | "insufficient_assurance"
  /** Mamori did not answer in time, or answered something unexpected (see `detail`). */
  | "unavailable";

export type CheckResult =
  | { ok: true; identity: MamoriIdentity }
  | { ok: false; reason: CheckFailureReason; detail?: string };

export type Credentials =
  /** The browser's session cookie value (`id.secret`), as read from the request. */
  | { sessionCookie: string }
  /** A bearer token from an app (`"sessionType": "token"` sign-in). */
  | { bearerToken: string };

export type CheckOptions = {
  /** Ask for assurance level 2: a session without two-step verification is "insufficient_assurance". */
  requireTwoStep?: boolean;
};

export type MamoriClientOptions = {
  /** Where Mamori answers, e.g. "https://shop.example.jp" or "http://127.0.0.1:3000". */
  baseUrl: string;
  /** How long to wait for Mamori (default 3,000 ms). */
  timeoutMs?: number;
  /** The session cookie's name: `__Host-mamori_session` in production, `mamori_session` in development. */
  cookieName?: string;
  /** For tests or a custom agent; the global fetch by default. */
  fetch?: typeof fetch;
};

export type MamoriClient = {
  check(credentials: Credentials, options?: CheckOptions): Promise<CheckResult>;
  /**
   * Checks whatever an incoming request carries: `Authorization: Bearer …` first, else the session
   * cookie in its `Cookie` header. Without either, "unauthenticated" without asking Mamori.
   */
  checkRequest(
    headers: Record<string, string | string[] | undefined>,
    options?: CheckOptions,
  ): Promise<CheckResult>;
};

const defaultTimeoutMs = 3_000;

export function createMamoriClient(options: MamoriClientOptions): MamoriClient {
  const base = new URL(options.baseUrl);
  if (base.protocol !== "https:" && base.protocol !== "http:") {
    throw new TypeError(`baseUrl must be an http(s) URL, got ${options.baseUrl}`);
  }
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
    throw new TypeError("timeoutMs must be a positive number");
  const cookieName =
    options.cookieName ?? (base.protocol === "https:" ? "__Host-mamori_session" : "mamori_session");
  const doFetch = options.fetch ?? fetch;

  async function check(credentials: Credentials, checkOptions: CheckOptions = {}): Promise<CheckResult> {
    const url = new URL("api/v1/session/check", base.href.endsWith("/") ? base : `${base.href}/`);
    if (checkOptions.requireTwoStep) url.searchParams.set("aal", "2");
    const headers: Record<string, string> = { accept: "application/json" };
    if ("bearerToken" in credentials) headers.authorization = `Bearer ${credentials.bearerToken}`;
    else headers.cookie = `${cookieName}=${credentials.sessionCookie}`;
    let response: Response;
    try {
      response = await doFetch(url, { headers, redirect: "error", signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      return { ok: false, reason: "unavailable", detail: (error as Error).message };
    }
    if (response.status === 401) return { ok: false, reason: "unauthenticated" };
    if (response.status === 403) return { ok: false, reason: "insufficient_assurance" };
    if (response.status !== 200)
      return { ok: false, reason: "unavailable", detail: `HTTP ${response.status}` };
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      return { ok: false, reason: "unavailable", detail: "the answer is not JSON" };
    }
    const identity = parseIdentity(body);
    if (!identity) return { ok: false, reason: "unavailable", detail: "the answer is not a session check" };
    return { ok: true, identity };
  }

  return {
    check,
    async checkRequest(headers, checkOptions = {}): Promise<CheckResult> {
      const authorization = firstHeader(headers.authorization);
      const bearer = authorization ? /^Bearer\s+(\S+)$/i.exec(authorization)?.[1] : undefined;
      if (bearer) return check({ bearerToken: bearer }, checkOptions);
      const cookie = readCookie(firstHeader(headers.cookie), cookieName);
      if (cookie) return check({ sessionCookie: cookie }, checkOptions);
      return { ok: false, reason: "unauthenticated" };
    },
  };
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join("; ") : value;
}

/** One cookie's value from a `Cookie` header, or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const pair of header.split(/;\s*/)) {
    const equals = pair.indexOf("=");
    if (equals > 0 && pair.slice(0, equals).trim() === name) {
      const value = pair.slice(equals + 1).trim();
      return value.length > 0 ? value : undefined;
    }
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Checks the answer's shape field by field: a proxy's error page must not pass for a person. */
function parseIdentity(body: unknown): MamoriIdentity | undefined {
  if (!isRecord(body) || !isRecord(body.account) || !isRecord(body.session)) return undefined;
  const a = body.account;
  const s = body.session;
  if (
    typeof a.id !== "string" ||
    typeof a.email !== "string" ||
    typeof a.emailVerified !== "boolean" ||
    typeof a.name !== "string" ||
    !(typeof a.phone === "string" || a.phone === null) ||
    typeof a.phoneVerified !== "boolean" ||
    (a.locale !== "ja" && a.locale !== "en") ||
    typeof s.id !== "string" ||
    (s.aal !== 1 && s.aal !== 2) ||
    typeof s.acr !== "string" ||
    !Array.isArray(s.amr) ||
    !s.amr.every((m) => typeof m === "string") ||
    typeof s.authenticatedAt !== "string" ||
    typeof s.expiresAt !== "string"
  ) {
    return undefined;
  }
  return {
    account: {
      id: a.id,
      email: a.email,
      emailVerified: a.emailVerified,
      name: a.name,
      phone: a.phone,
      phoneVerified: a.phoneVerified,
      locale: a.locale,
    },
    session: {
      id: s.id,
      aal: s.aal,
      acr: s.acr,
      amr: s.amr.filter((m): m is string => typeof m === "string"),
      authenticatedAt: s.authenticatedAt,
      expiresAt: s.expiresAt,
    },
  };
}
