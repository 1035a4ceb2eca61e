import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { isIPv4, isIPv6 } from "node:net";
import { type FederationConfig, parseFederationConfig } from "../federation/federation-config.ts";
import { type Brands, parseBrands } from "./brand-config.ts";
import { type HibpConfig, parseHibpConfig } from "./hibp-config.ts";
import { type Limits, parseInteger, parseLimits } from "./limits.ts";
import { type MetricsConfig, parseMetricsConfig } from "./metrics-config.ts";
import { parseIssuer } from "./oidc-config.ts";
import { type PasskeyConfig, parsePasskeyConfig } from "./passkey-config.ts";
import { parseSupportContact, type SupportContact } from "./support-config.ts";
import { parseTimeouts, type Timeouts } from "./timeouts.ts";
import { parseTwilioConfig, type TwilioConfig } from "./twilio-config.ts";
import { parseWebhookConfig, type WebhookConfig } from "./webhook-config.ts";

export type { Limits } from "./limits.ts";
export type { Timeouts } from "./timeouts.ts";

export type Environment = "development" | "test" | "production";
export type Locale = "ja" | "en";

export type Config = {
  environment: Environment;
  port: number;
  host: string;
  databaseUrl: string;
  publicUrl: URL;
  /** Origins allowed to make cookie-authenticated state changes (the public URL's origin, plus MAMORI_ORIGINS). */
  allowedOrigins: ReadonlySet<string>;
  /**
   * Whose X-Forwarded-For to believe: false (no proxy), true (any: only when nothing but the proxy
   * can reach Mamori; production warns at start), or the proxies' addresses/CIDRs
   * (`127.0.0.1,10.0.0.0/8`), which is safest.
   */
  trustProxy: boolean | readonly string[];
  smtpUrl: string | undefined;
  /** Redis or Valkey for throttle counters shared by many processes (`redis://host:6379/0`). */
  redisUrl: string | undefined;
  mailFrom: string;
  devOutbox: boolean;
  /** SMS and voice through Twilio; undefined when no TWILIO_* variable is set (see src/config/twilio-config.ts). */
  twilio: TwilioConfig | undefined;
  /** AES/HMAC keys, newest first: the first signs and encrypts, all verify and decrypt (rotation). */
  secretKeys: readonly Buffer[];
  /** The first of `secretKeys`: what signs and encrypts today. */
  signingKey: Buffer;
  cookieSecure: boolean;
  sessionCookieName: string;
  logLevel: string;
  limits: Limits;
  /** Database connect and query timeouts, the readiness probe's, and the shutdown bound. */
  timeouts: Timeouts;
  /** Countries besides Japan whose phone numbers may take codes (MAMORI_PHONE_COUNTRIES=US,KR). */
  phoneCountries: ReadonlySet<string>;
  /** Countries sign-in is allowed from (MAMORI_ALLOWED_COUNTRIES=JP); empty: everywhere. */
  allowedCountries: ReadonlySet<string>;
  /** The breached-password range API (MAMORI_HIBP_URL), or null: the offline list only. */
  hibp: HibpConfig;
  /** Passkeys: relying-party ID (MAMORI_RP_ID) and origins (see src/config/passkey-config.ts). */
  passkeys: PasskeyConfig;
  /** The OpenID Connect issuer: the public URL's origin + /oidc (MAMORI_ISSUER, src/config/oidc-config.ts). */
  issuer: URL;
  /** The Prometheus endpoint's own port, or undefined: off (MAMORI_METRICS_*, src/config/metrics-config.ts). */
  metrics: MetricsConfig;
  /** The shop's support contact on refusal pages and in mail (MAMORI_SUPPORT_*; src/config/support-config.ts). */
  support: SupportContact;
  /** The shop's name, logo and colour, per language (MAMORI_BRAND_*; src/config/brand-config.ts). */
  brands: Brands;
  /** Webhooks to the shop (src/config/webhook-config.ts). */
  webhooks: WebhookConfig;
  /** Sign-in with other OpenID Connect providers (src/federation/federation-config.ts). */
  federation: FederationConfig;
};

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

  const trustProxy = parseTrustProxy(source.MAMORI_TRUST_PROXY, problems);
  const smtpUrl = source.SMTP_URL?.trim() || undefined;
  const redisUrl = source.REDIS_URL?.trim() || undefined;
  if (redisUrl && !/^rediss?:\/\//.test(redisUrl))
    problems.push("REDIS_URL must start with redis:// or rediss://");
  const devOutbox = parseBoolean(
    "MAMORI_DEV_OUTBOX",
    source.MAMORI_DEV_OUTBOX,
    !production && !smtpUrl,
    problems,
  );
  const secretKeys = parseSecretKeys(source.MAMORI_SECRET_KEYS, production, problems);
  const twilio = parseTwilioConfig(source, production, problems);

  const limits = parseLimits(source, production, problems);
  if (limits.passwordMinLength > limits.passwordMaxLength) {
    problems.push("MAMORI_PASSWORD_MIN_LENGTH must not exceed MAMORI_PASSWORD_MAX_LENGTH");
  }
  // A send still running when its lease ends is claimed and sent again by another process: every
  // SMTP send must end (delivered or failed) before its lease does.
  if (smtpUrl && limits.outboxLeaseSeconds <= limits.smtpTimeoutSeconds) {
    problems.push(
      `MAMORI_OUTBOX_LEASE_SECONDS (${limits.outboxLeaseSeconds}) must be longer than MAMORI_SMTP_TIMEOUT_SECONDS (${limits.smtpTimeoutSeconds}): a slow mail server would otherwise have its mail claimed and sent again by another process`,
    );
  }

  if (production) {
    if (devOutbox) problems.push("MAMORI_DEV_OUTBOX must be off in production: it shows every security code");
    if (!smtpUrl) problems.push("SMTP_URL is required in production: codes must reach people's mailboxes");
    if (publicUrl.protocol !== "https:") {
      problems.push("MAMORI_PUBLIC_URL must be https:// in production (cookies are Secure and __Host-)");
    }
    if (trustProxy === false) {
      problems.push(
        "MAMORI_TRUST_PROXY is required in production: Mamori serves plain HTTP behind a TLS proxy; set it to that proxy's address or CIDR (127.0.0.1)",
      );
    }
  }
  const timeouts = parseTimeouts(source, problems);
  const phoneCountries = parseCountries("MAMORI_PHONE_COUNTRIES", source.MAMORI_PHONE_COUNTRIES, problems);
  const allowedCountries = parseCountries(
    "MAMORI_ALLOWED_COUNTRIES",
    source.MAMORI_ALLOWED_COUNTRIES,
    problems,
  );
  const brands = parseBrands(source, production, problems);
  const passkeys = parsePasskeyConfig(source, publicUrl, allowedOrigins, brands.ja.name, problems);
  const issuer = parseIssuer(source.MAMORI_ISSUER, publicUrl, problems);
  const metrics = parseMetricsConfig(source, port, problems);
  const support = parseSupportContact(source, problems);
  const hibp = parseHibpConfig(source.MAMORI_HIBP_URL, source.MAMORI_HIBP_TIMEOUT_MS, production, problems);
  const webhooks = parseWebhookConfig(source, limits.outboxLeaseSeconds, problems);
  const federation = parseFederationConfig(source, production, problems);
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
    redisUrl,
    // The shop's name as the sender; quotes are dropped from it so the display name stays one phrase.
    mailFrom:
      source.MAIL_FROM?.trim() || `"${brands.ja.name.replaceAll('"', "")}" <no-reply@${publicUrl.hostname}>`,
    devOutbox,
    twilio,
    secretKeys,
    // loadConfig refuses an empty key list (a problem above), so the first key exists here.
    signingKey: secretKeys[0] ?? developmentKey,
    cookieSecure,
    sessionCookieName: cookieSecure ? "__Host-mamori_session" : "mamori_session",
    logLevel: source.LOG_LEVEL?.trim() || (environment === "test" ? "silent" : "info"),
    limits,
    timeouts,
    phoneCountries,
    allowedCountries,
    hibp,
    passkeys,
    issuer,
    metrics,
    support,
    brands,
    webhooks,
    federation,
  };
}

function parseEnvironment(value: string | undefined, problems: string[]): Environment {
  const v = value?.trim() || "development";
  if (v === "development" || v === "test" || v === "production") return v;
  problems.push(`NODE_ENV must be development, test or production (got ${v})`);
  return "development";
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
    const weakness =
      key.length !== 32 ? "must be 32 bytes in base64" : production ? secretKeyWeakness(key) : null;
    if (weakness) {
      problems.push(`MAMORI_SECRET_KEYS: key ${index + 1} ${weakness} (\`openssl rand -base64 32\`)`);
    } else {
      keys.push(key);
    }
  }
  return keys;
}

// 32 random bytes show about 30 different values; fewer than 16 happens by chance with a
// probability far below 2^-100, so it means a made-up key ("aaaa…", one byte repeated, all zeros).
const minDistinctKeyBytes = 16;

/**
 * Why a 32-byte key must not sign and encrypt in production, or null: anyone can read the
 * development key in this file, and a key with few distinct bytes was typed, not drawn at random.
 */
export function secretKeyWeakness(key: Buffer): string | null {
  if (key.equals(developmentKey)) return "is the development key, which anyone can read in the source";
  const distinct = new Set(key).size;
  if (distinct < minDistinctKeyBytes)
    return `is not random (only ${distinct} different byte values of 32; a random key has about 30)`;
  return null;
}

/** A comma-separated list of ISO 3166 two-letter country codes (`JP,KR`). */
function parseCountries(name: string, value: string | undefined, problems: string[]): ReadonlySet<string> {
  const countries = new Set<string>();
  for (const code of (value ?? "")
    .split(",")
    .map((c) => c.trim().toUpperCase())
    .filter(Boolean)) {
    if (/^[A-Z]{2}$/.test(code)) countries.add(code);
    else problems.push(`${name}: not a two-letter country code: ${code}`);
  }
  return countries;
}

/** `true`/`false`, or a comma-separated list of proxy addresses or CIDR ranges. */
function parseTrustProxy(value: string | undefined, problems: string[]): boolean | readonly string[] {
  const text = value?.trim() ?? "";
  if (!/[.:/]/.test(text)) return parseBoolean("MAMORI_TRUST_PROXY", value, false, problems);
  const entries = text
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean);
  for (const entry of entries) {
    const [address = "", bits] = entry.split("/");
    const maxBits = isIPv6(address) ? 128 : 32;
    const validBits = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= maxBits);
    if (!(isIPv4(address) || isIPv6(address)) || !validBits) {
      problems.push(`MAMORI_TRUST_PROXY: not an address or CIDR range: ${entry}`);
    }
  }
  return entries;
}
