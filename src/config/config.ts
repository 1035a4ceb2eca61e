import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseTwilioConfig, type TwilioConfig } from "./twilio-config.ts";

export type Environment = "development" | "test" | "production";
export type Locale = "ja" | "en";

/** Every lifetime, limit and cooldown: configurable so black-box tests can run with tiny lifetimes. */
export type Limits = {
  emailCodeLifetimeSeconds: number;
  phoneCodeLifetimeSeconds: number;
  emailReminderRequestsPerPhone: number;
  codeMaxAttempts: number;
  codeResendCooldownSeconds: number;
  codeMaxSends: number;
  sessionIdleSeconds: number;
  sessionAbsoluteSeconds: number;
  browserSessionSeconds: number;
  reauthenticationWindowSeconds: number;
  passwordMinLength: number;
  passwordMaxLength: number;
  passwordMinScore: number;
  argon2MemoryKib: number;
  argon2Iterations: number;
  signInFailuresPerIdentifier: number;
  signInFailuresPerIp: number;
  signInFailureWindowSeconds: number;
  passwordHistoryCount: number;
  passwordResetRequestsPerIdentifier: number;
  passwordResetRequestsPerIp: number;
  passwordResetWindowSeconds: number;
  trustedDeviceSeconds: number;
  twoStepFailuresPerAccount: number;
  phoneSendsPerNumberPerHour: number;
  phoneSendsPerAccountPerHour: number;
  phoneSendsPerIpPerHour: number;
  phoneSendsGlobalPerHour: number;
  outboxMaxAttempts: number;
  outboxLeaseSeconds: number;
};

export type Config = {
  environment: Environment;
  port: number;
  host: string;
  databaseUrl: string;
  publicUrl: URL;
  /** Origins allowed to make cookie-authenticated state changes (the public URL's origin, plus MAMORI_ORIGINS). */
  allowedOrigins: ReadonlySet<string>;
  trustProxy: boolean;
  smtpUrl: string | undefined;
  mailFrom: string;
  devOutbox: boolean;
  /** SMS and voice through Twilio; undefined when no TWILIO_* variable is set (see src/config/twilio-config.ts). */
  twilio: TwilioConfig | undefined;
  /** AES/HMAC keys, newest first: the first signs and encrypts, all verify and decrypt (rotation). */
  secretKeys: readonly Buffer[];
  cookieSecure: boolean;
  sessionCookieName: string;
  logLevel: string;
  limits: Limits;
  /** Countries besides Japan whose phone numbers may take codes (MAMORI_PHONE_COUNTRIES=US,KR). */
  phoneCountries: ReadonlySet<string>;
};

type LimitRule = {
  key: keyof Limits;
  env: string;
  fallback: number;
  min: number;
  max: number;
  /** Narrower bounds enforced in production, where a test's tiny lifetime would be a hole. */
  production?: { min?: number; max?: number };
};

const DAY = 86_400;

// Defaults and reasons are in shared/DESIGN.md, "Security numbers".
const limitRules: readonly LimitRule[] = [
  {
    key: "emailCodeLifetimeSeconds",
    env: "MAMORI_EMAIL_CODE_LIFETIME_SECONDS",
    fallback: 900,
    min: 1,
    max: DAY,
    production: { min: 60, max: 3600 },
  },
  {
    key: "phoneCodeLifetimeSeconds",
    env: "MAMORI_PHONE_CODE_LIFETIME_SECONDS",
    fallback: 600,
    min: 1,
    max: 3600,
    production: { min: 60, max: 900 },
  },
  // Each request may cost an SMS: a low cap per number stops SMS pumping through "forgot email".
  {
    key: "emailReminderRequestsPerPhone",
    env: "MAMORI_EMAIL_REMINDER_REQUESTS_PER_PHONE",
    fallback: 3,
    min: 1,
    max: 1000,
    production: { max: 10 },
  },
  // 6 digits = ~20 bits: safe only because a code dies after a few wrong tries (NIST SP 800-63B 5.2.2).
  {
    key: "codeMaxAttempts",
    env: "MAMORI_CODE_MAX_ATTEMPTS",
    fallback: 5,
    min: 1,
    max: 100,
    production: { max: 10 },
  },
  {
    key: "codeResendCooldownSeconds",
    env: "MAMORI_CODE_RESEND_COOLDOWN_SECONDS",
    fallback: 60,
    min: 0,
    max: 3600,
    production: { min: 10 },
  },
  {
    key: "codeMaxSends",
    env: "MAMORI_CODE_MAX_SENDS",
    fallback: 5,
    min: 1,
    max: 50,
    production: { max: 10 },
  },
  {
    key: "sessionIdleSeconds",
    env: "MAMORI_SESSION_IDLE_SECONDS",
    fallback: 14 * DAY,
    min: 1,
    max: 365 * DAY,
    production: { min: 300 },
  },
  {
    key: "sessionAbsoluteSeconds",
    env: "MAMORI_SESSION_ABSOLUTE_SECONDS",
    fallback: 90 * DAY,
    min: 1,
    max: 400 * DAY,
    production: { min: 300 },
  },
  {
    key: "browserSessionSeconds",
    env: "MAMORI_BROWSER_SESSION_SECONDS",
    fallback: DAY,
    min: 1,
    max: 7 * DAY,
    production: { min: 300 },
  },
  {
    key: "reauthenticationWindowSeconds",
    env: "MAMORI_REAUTH_WINDOW_SECONDS",
    fallback: 600,
    min: 1,
    max: 3600,
    production: { max: 3600 },
  },
  {
    key: "passwordMinLength",
    env: "MAMORI_PASSWORD_MIN_LENGTH",
    fallback: 8,
    min: 1,
    max: 64,
    production: { min: 8 },
  },
  { key: "passwordMaxLength", env: "MAMORI_PASSWORD_MAX_LENGTH", fallback: 256, min: 64, max: 1024 },
  {
    key: "passwordMinScore",
    env: "MAMORI_PASSWORD_MIN_SCORE",
    fallback: 3,
    min: 0,
    max: 4,
    production: { min: 2 },
  },
  // OWASP's argon2id floor: m=19 MiB, t=2, p=1.
  {
    key: "argon2MemoryKib",
    env: "MAMORI_ARGON2_MEMORY_KIB",
    fallback: 19_456,
    min: 8,
    max: 1_048_576,
    production: { min: 19_456 },
  },
  {
    key: "argon2Iterations",
    env: "MAMORI_ARGON2_ITERATIONS",
    fallback: 2,
    min: 1,
    max: 20,
    production: { min: 2 },
  },
  {
    key: "signInFailuresPerIdentifier",
    env: "MAMORI_SIGN_IN_FAILURES_PER_IDENTIFIER",
    fallback: 10,
    min: 1,
    max: 1000,
    production: { max: 100 },
  },
  { key: "signInFailuresPerIp", env: "MAMORI_SIGN_IN_FAILURES_PER_IP", fallback: 100, min: 1, max: 100_000 },
  {
    key: "signInFailureWindowSeconds",
    env: "MAMORI_SIGN_IN_FAILURE_WINDOW_SECONDS",
    fallback: 900,
    min: 1,
    max: DAY,
    production: { min: 60 },
  },
  // "Not one of your last 5 passwords" (issue: forgot password); 0 turns the check off outside production.
  {
    key: "passwordHistoryCount",
    env: "MAMORI_PASSWORD_HISTORY_COUNT",
    fallback: 5,
    min: 0,
    max: 24,
    production: { min: 1 },
  },
  {
    key: "passwordResetRequestsPerIdentifier",
    env: "MAMORI_PASSWORD_RESET_REQUESTS_PER_IDENTIFIER",
    fallback: 5,
    min: 1,
    max: 1000,
    production: { max: 50 },
  },
  {
    key: "passwordResetRequestsPerIp",
    env: "MAMORI_PASSWORD_RESET_REQUESTS_PER_IP",
    fallback: 50,
    min: 1,
    max: 100_000,
  },
  {
    key: "passwordResetWindowSeconds",
    env: "MAMORI_PASSWORD_RESET_WINDOW_SECONDS",
    fallback: 3600,
    min: 1,
    max: DAY,
    production: { min: 60 },
  },
  {
    key: "trustedDeviceSeconds",
    env: "MAMORI_TRUSTED_DEVICE_SECONDS",
    fallback: 30 * DAY,
    min: 1,
    max: 90 * DAY,
    production: { min: 3600 },
  },
  // Wrong second-factor codes across all of an account's challenges before a temporary lock.
  {
    key: "twoStepFailuresPerAccount",
    env: "MAMORI_TWO_STEP_FAILURES_PER_ACCOUNT",
    fallback: 10,
    min: 1,
    max: 1000,
    production: { max: 50 },
  },
  // SMS pumping: every text or call costs money, so sends are capped per number, account, IP and
  // for the whole service per hour (a tripped global budget is logged as an alert).
  {
    key: "phoneSendsPerNumberPerHour",
    env: "MAMORI_PHONE_SENDS_PER_NUMBER_PER_HOUR",
    fallback: 10,
    min: 1,
    max: 1000,
  },
  {
    key: "phoneSendsPerAccountPerHour",
    env: "MAMORI_PHONE_SENDS_PER_ACCOUNT_PER_HOUR",
    fallback: 20,
    min: 1,
    max: 1000,
  },
  {
    key: "phoneSendsPerIpPerHour",
    env: "MAMORI_PHONE_SENDS_PER_IP_PER_HOUR",
    fallback: 30,
    min: 1,
    max: 100_000,
  },
  {
    key: "phoneSendsGlobalPerHour",
    env: "MAMORI_PHONE_SENDS_GLOBAL_PER_HOUR",
    fallback: 1000,
    min: 1,
    max: 10_000_000,
  },
  { key: "outboxMaxAttempts", env: "MAMORI_OUTBOX_MAX_ATTEMPTS", fallback: 10, min: 1, max: 100 },
  { key: "outboxLeaseSeconds", env: "MAMORI_OUTBOX_LEASE_SECONDS", fallback: 60, min: 1, max: 3600 },
];

/** A configuration problem: the process prints every one of them and refuses to start. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`Mamori cannot start:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

export type ConfigSource = Record<string, string | undefined>;

/** Reads an optional JSON config file (MAMORI_CONFIG) under the environment: the environment wins. */
export function readConfigSource(env: ConfigSource): ConfigSource {
  const file = env.MAMORI_CONFIG;
  if (!file) return env;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new ConfigError([`MAMORI_CONFIG: cannot read ${file} as JSON (${(error as Error).message})`]);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError([`MAMORI_CONFIG: ${file} must hold a JSON object of VARIABLE: "value" pairs`]);
  }
  const fromFile: ConfigSource = {};
  for (const [key, value] of Object.entries(parsed)) fromFile[key] = String(value);
  return { ...fromFile, ...env };
}

// A fixed key for development and tests only; production refuses to start without MAMORI_SECRET_KEYS.
const developmentKey = createHash("sha256")
  .update("mamori development key: never use in production")
  .digest();

/** Validates the whole configuration at start-up and fails fast with every problem listed. */
export function loadConfig(source: ConfigSource): Config {
  const problems: string[] = [];
  const environment = parseEnvironment(source.NODE_ENV, problems);
  const production = environment === "production";

  const port = parseInteger("PORT", source.PORT, 3000, 0, 65_535, problems);
  const host = source.HOST?.trim() || "localhost";
  const databaseUrl = source.DATABASE_URL?.trim() || "sqlite:./data/mamori.db";
  if (!/^(sqlite:|postgres:\/\/|postgresql:\/\/)/.test(databaseUrl)) {
    problems.push("DATABASE_URL must start with sqlite: (a file path or :memory:) or postgres://");
  }

  let publicUrl = new URL(`http://localhost:${port}`);
  if (source.MAMORI_PUBLIC_URL) {
    try {
      publicUrl = new URL(source.MAMORI_PUBLIC_URL);
    } catch {
      problems.push(`MAMORI_PUBLIC_URL is not a URL: ${source.MAMORI_PUBLIC_URL}`);
    }
  }
  const allowedOrigins = new Set([publicUrl.origin]);
  for (const origin of (source.MAMORI_ORIGINS ?? "")
    .split(",")
    .map((o) => o.trim())
    .filter(Boolean)) {
    try {
      allowedOrigins.add(new URL(origin).origin);
    } catch {
      problems.push(`MAMORI_ORIGINS: not an origin: ${origin}`);
    }
  }

  const trustProxy = parseBoolean("MAMORI_TRUST_PROXY", source.MAMORI_TRUST_PROXY, false, problems);
  const smtpUrl = source.SMTP_URL?.trim() || undefined;
  const devOutbox = parseBoolean(
    "MAMORI_DEV_OUTBOX",
    source.MAMORI_DEV_OUTBOX,
    !production && !smtpUrl,
    problems,
  );
  const secretKeys = parseSecretKeys(source.MAMORI_SECRET_KEYS, production, problems);
  const twilio = parseTwilioConfig(source, production, problems);

  const limits = {} as Limits;
  for (const rule of limitRules) {
    const min = production ? Math.max(rule.min, rule.production?.min ?? rule.min) : rule.min;
    const max = production ? Math.min(rule.max, rule.production?.max ?? rule.max) : rule.max;
    limits[rule.key] = parseInteger(rule.env, source[rule.env], rule.fallback, min, max, problems);
  }
  if (limits.passwordMinLength > limits.passwordMaxLength) {
    problems.push("MAMORI_PASSWORD_MIN_LENGTH must not exceed MAMORI_PASSWORD_MAX_LENGTH");
  }

  if (production) {
    if (devOutbox) problems.push("MAMORI_DEV_OUTBOX must be off in production: it shows every security code");
    if (!smtpUrl) problems.push("SMTP_URL is required in production: codes must reach people's mailboxes");
    if (publicUrl.protocol !== "https:") {
      problems.push("MAMORI_PUBLIC_URL must be https:// in production (cookies are Secure and __Host-)");
    }
    if (!trustProxy) {
      problems.push(
        "MAMORI_TRUST_PROXY=true is required in production: Mamori serves plain HTTP behind a TLS proxy",
      );
    }
  }
  const phoneCountries = new Set<string>();
  for (const code of (source.MAMORI_PHONE_COUNTRIES ?? "")
    .split(",")
    .map((c) => c.trim().toUpperCase())
    .filter(Boolean)) {
    if (/^[A-Z]{2}$/.test(code)) phoneCountries.add(code);
    else problems.push(`MAMORI_PHONE_COUNTRIES: not a two-letter country code: ${code}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const cookieSecure = production || publicUrl.protocol === "https:";
  return {
    environment,
    port,
    host,
    databaseUrl,
    publicUrl,
    allowedOrigins,
    trustProxy,
    smtpUrl,
    mailFrom: source.MAIL_FROM?.trim() || `Mamori <no-reply@${publicUrl.hostname}>`,
    devOutbox,
    twilio,
    secretKeys,
    cookieSecure,
    sessionCookieName: cookieSecure ? "__Host-mamori_session" : "mamori_session",
    logLevel: source.LOG_LEVEL?.trim() || (environment === "test" ? "silent" : "info"),
    limits,
    phoneCountries,
  };
}

function parseEnvironment(value: string | undefined, problems: string[]): Environment {
  const v = value?.trim() || "development";
  if (v === "development" || v === "test" || v === "production") return v;
  problems.push(`NODE_ENV must be development, test or production (got ${v})`);
  return "development";
}

function parseInteger(
  name: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
  problems: string[],
): number {
  if (value === undefined || value.trim() === "") return fallback;
  if (!/^\d+$/.test(value.trim())) {
    problems.push(`${name} must be a whole number (got ${value})`);
    return fallback;
  }
  const n = Number(value);
  if (n < min || n > max) problems.push(`${name} must be between ${min} and ${max} here (got ${n})`);
  return n;
}

function parseBoolean(
  name: string,
  value: string | undefined,
  fallback: boolean,
  problems: string[],
): boolean {
  if (value === undefined || value.trim() === "") return fallback;
  const v = value.trim().toLowerCase();
  if (["1", "true", "on", "yes"].includes(v)) return true;
  if (["0", "false", "off", "no"].includes(v)) return false;
  problems.push(`${name} must be true or false (got ${value})`);
  return fallback;
}

function parseSecretKeys(value: string | undefined, production: boolean, problems: string[]): Buffer[] {
  if (!value?.trim()) {
    if (production) {
      problems.push(
        "MAMORI_SECRET_KEYS is required in production: one or more base64 keys of 32 bytes, newest first",
      );
    }
    return [developmentKey];
  }
  const keys: Buffer[] = [];
  for (const [index, text] of value
    .split(",")
    .map((k) => k.trim())
    .entries()) {
    const key = Buffer.from(text, "base64");
    if (key.length !== 32) {
      problems.push(
        `MAMORI_SECRET_KEYS: key ${index + 1} must be 32 bytes in base64 (\`openssl rand -base64 32\`)`,
      );
    } else {
      keys.push(key);
    }
  }
  return keys;
}
