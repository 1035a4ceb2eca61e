import { createPrivateKey, type KeyObject } from "node:crypto";
import type { ConfigSource } from "../config/config.ts";

/**
 * Sign-in with other OpenID Connect providers (MAMORI_FEDERATION_PROVIDERS=google,line,…). Each
 * name is a preset (google, line, yahoo_japan) or any other lower-case name for a generic provider;
 * its settings are MAMORI_FEDERATION_<NAME>_{ISSUER,CLIENT_ID,CLIENT_SECRET,SCOPES,LABEL}. A preset
 * knows its issuer, scopes and token quirks; a generic provider needs an issuer and a label. Every
 * provider needs a client id and secret: without them Mamori refuses to start and says which.
 */
export type ProviderKind = "google" | "line" | "yahoo_japan" | "apple" | "generic";

/** Sign in with Apple's client secret is a JWT (ES256) Mamori makes from the team's key. */
export type AppleKey = { teamId: string; keyId: string; privateKey: KeyObject };

export type FederationProvider = {
  /** The name in URLs and in the database (`google`, `line`, `yahoo_japan`, or the operator's). */
  name: string;
  kind: ProviderKind;
  issuer: URL;
  clientId: string;
  clientSecret: string;
  scopes: readonly string[];
  /** What the button and the lists call it (a preset's own brand name; the operator's for generic). */
  label: string;
  /** The ID token's signing algorithm this client expects (LINE: HS256 with the channel secret). */
  idTokenAlg: "RS256" | "HS256" | "ES256";
  /** Google only: the Workspace domain every account must be in (`hd`), or undefined. */
  hostedDomain: string | undefined;
  /** Accept the provider's own multi-factor sign-in (`amr` has "mfa") as Mamori's second step. */
  acceptProviderMfa: boolean;
  /** `form_post` (Apple): the callback is a cross-site POST; else the query of a GET. */
  responseMode: "query" | "form_post";
  /** Apple only: what makes its client secret (`clientSecret` is then empty). */
  appleKey: AppleKey | undefined;
};

/** Where a form_post provider's callback arrives: the one POST the origin check lets in from another site. */
function formPostCallbackPaths(providers: readonly FederationProvider[]): ReadonlySet<string> {
  return new Set(
    providers
      .filter((p) => p.responseMode === "form_post")
      .map((p) => `/sign-in/federation/${p.name}/callback`),
  );
}

export type FederationConfig = {
  providers: readonly FederationProvider[];
  /** The callback paths of form_post providers (Apple): the origin check lets these POSTs in. */
  formPostPaths: ReadonlySet<string>;
};

type Preset = { issuer: string; scopes: readonly string[]; label: string; idTokenAlg: "RS256" | "HS256" };

/** What each preset provider publishes (docs/social-sign-in.md has their consoles' steps). */
export const presets: Readonly<Record<Exclude<ProviderKind, "generic">, Preset>> = {
  google: {
    issuer: "https://accounts.google.com",
    scopes: ["openid", "email", "profile"],
    label: "Google",
    idTokenAlg: "RS256",
  },
  // LINE Login v2.1: the web login's ID token is signed HS256 with the channel secret; the email
  // comes only when the channel has the email permission and the person agreed to share it.
  line: {
    issuer: "https://access.line.me",
    scopes: ["openid", "profile", "email"],
    label: "LINE",
    idTokenAlg: "HS256",
  },
  // YConnect v2 (https://auth.login.yahoo.co.jp/yconnect/v2/.well-known/openid-configuration), RS256.
  yahoo_japan: {
    issuer: "https://auth.login.yahoo.co.jp/yconnect/v2",
    scopes: ["openid", "email", "profile"],
    label: "Yahoo! JAPAN ID",
    idTokenAlg: "RS256",
  },
  // Sign in with Apple: form_post (the name and email scopes need it), RS256, the client secret an
  // ES256 JWT from the team's key; the name comes only on the first authorization.
  apple: {
    issuer: "https://appleid.apple.com",
    scopes: ["openid", "name", "email"],
    label: "Apple",
    idTokenAlg: "RS256",
  },
};

/** A provider's name as people know it (a preset's brand; a generic provider's own name). */
export function providerLabel(name: string): string {
  return isPreset(name) ? presets[name].label : name;
}

function isPreset(name: string): name is Exclude<ProviderKind, "generic"> {
  return Object.hasOwn(presets, name);
}

const namePattern = /^[a-z][a-z0-9_]{0,31}$/;

function variable(name: string, setting: string): string {
  return `MAMORI_FEDERATION_${name.toUpperCase()}_${setting}`;
}

function parseUrl(label: string, value: string, production: boolean, problems: string[]): URL | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problems.push(`${label} is not a URL: ${value}`);
    return undefined;
  }
  // A provider on plain HTTP only on this machine (the tests' fake provider), and never in production.
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback && !production)) {
    problems.push(`${label} must be an https:// URL (got ${value})`);
    return undefined;
  }
  if (url.search || url.hash) {
    problems.push(`${label} must be an issuer without query or fragment (got ${value})`);
    return undefined;
  }
  return url;
}

function parseFlag(name: string, value: string | undefined, problems: string[]): boolean {
  const v = value?.trim().toLowerCase() ?? "";
  if (v === "" || ["0", "false", "off", "no"].includes(v)) return false;
  if (["1", "true", "on", "yes"].includes(v)) return true;
  problems.push(`${name} must be true or false (got ${value})`);
  return false;
}

function parseProvider(
  name: string,
  source: ConfigSource,
  production: boolean,
  problems: string[],
): FederationProvider | undefined {
  const setting = (key: string): string | undefined => source[variable(name, key)]?.trim() || undefined;
  const preset = isPreset(name) ? presets[name] : undefined;
  const before = problems.length;
  const clientId = setting("CLIENT_ID");
  const appleKey = name === "apple" ? parseAppleKey(setting, problems) : undefined;
  const clientSecret = name === "apple" ? "" : setting("CLIENT_SECRET");
  if (!clientId)
    problems.push(
      `${variable(name, "CLIENT_ID")} is required: the provider "${name}" is listed in MAMORI_FEDERATION_PROVIDERS`,
    );
  if (clientSecret === undefined) {
    const what =
      name === "line"
        ? "the LINE Login channel secret (it also signs LINE's ID tokens)"
        : "the client secret from the provider's console";
    problems.push(
      `${variable(name, "CLIENT_SECRET")} is required: ${what}; without it "${name}" cannot sign anyone in`,
    );
  }
  const issuerText = setting("ISSUER") ?? preset?.issuer;
  if (!issuerText)
    problems.push(
      `${variable(name, "ISSUER")} is required for the generic provider "${name}" (its OpenID Connect issuer URL)`,
    );
  const issuer = issuerText
    ? parseUrl(variable(name, "ISSUER"), issuerText, production, problems)
    : undefined;
  const label = setting("LABEL") ?? preset?.label;
  if (!label)
    problems.push(
      `${variable(name, "LABEL")} is required for the generic provider "${name}" (the name on its button)`,
    );
  const scopes = (setting("SCOPES") ?? preset?.scopes.join(" ") ?? "openid email profile")
    .split(/[\s,]+/)
    .filter(Boolean);
  if (!scopes.includes("openid")) problems.push(`${variable(name, "SCOPES")} must include openid`);
  const hostedDomain = setting("HOSTED_DOMAIN");
  if (hostedDomain && name !== "google")
    problems.push(`${variable(name, "HOSTED_DOMAIN")} is Google's only (hd)`);
  const acceptProviderMfa = parseFlag(variable(name, "ACCEPT_AMR"), setting("ACCEPT_AMR"), problems);
  if (problems.length > before || !clientId || clientSecret === undefined || !issuer || !label)
    return undefined;
  return {
    name,
    kind: preset ? (name as Exclude<ProviderKind, "generic">) : "generic",
    issuer,
    clientId,
    clientSecret,
    scopes,
    label,
    idTokenAlg: preset?.idTokenAlg ?? "RS256",
    hostedDomain,
    acceptProviderMfa,
    responseMode: name === "apple" ? "form_post" : "query",
    appleKey,
  };
}

/** The team ID, the key ID and the .p8 key (PEM; the two characters `\n` may stand for line breaks) of Sign in with Apple. */
function parseAppleKey(
  setting: (key: string) => string | undefined,
  problems: string[],
): AppleKey | undefined {
  const teamId = setting("TEAM_ID");
  const keyId = setting("KEY_ID");
  const pem = setting("PRIVATE_KEY")?.replaceAll("\\n", "\n");
  const missing = [
    teamId ? undefined : "MAMORI_FEDERATION_APPLE_TEAM_ID (the 10-character Team ID)",
    keyId ? undefined : "MAMORI_FEDERATION_APPLE_KEY_ID (the Sign in with Apple key's ID)",
    pem ? undefined : "MAMORI_FEDERATION_APPLE_PRIVATE_KEY (the key's .p8 file, PEM)",
  ].filter((m): m is string => m !== undefined);
  if (missing.length > 0 || !teamId || !keyId || !pem) {
    problems.push(
      `Sign in with Apple needs the key that makes its client secret: ${missing.join(", ")} required`,
    );
    return undefined;
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    problems.push("MAMORI_FEDERATION_APPLE_PRIVATE_KEY is not a PEM private key (the .p8 file from Apple)");
    return undefined;
  }
  if (privateKey.asymmetricKeyType !== "ec" || privateKey.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    problems.push(
      "MAMORI_FEDERATION_APPLE_PRIVATE_KEY must be an EC P-256 key (ES256), as Apple's .p8 keys are",
    );
    return undefined;
  }
  return { teamId, keyId, privateKey };
}

/** The providers of MAMORI_FEDERATION_PROVIDERS, each checked; problems are added to `problems`. */
export function parseFederationConfig(
  source: ConfigSource,
  production: boolean,
  problems: string[],
): FederationConfig {
  const names = (source.MAMORI_FEDERATION_PROVIDERS ?? "")
    .split(",")
    .map((n) => n.trim().toLowerCase())
    .filter(Boolean);
  const providers: FederationProvider[] = [];
  const seen = new Set<string>();
  for (const name of names) {
    if (!namePattern.test(name)) {
      problems.push(`MAMORI_FEDERATION_PROVIDERS: not a provider name (a-z, 0-9, _): ${name}`);
      continue;
    }
    if (seen.has(name)) {
      problems.push(`MAMORI_FEDERATION_PROVIDERS: ${name} is listed twice`);
      continue;
    }
    seen.add(name);
    const provider = parseProvider(name, source, production, problems);
    if (provider) providers.push(provider);
  }
  return { providers, formPostPaths: formPostCallbackPaths(providers) };
}
