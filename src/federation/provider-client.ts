import { jwtVerify, SignJWT } from "jose";
import * as client from "openid-client";
import type { AppleKey, FederationProvider } from "./federation-config.ts";

/**
 * Talking to a provider, all through openid-client (no JWT or PKCE code of Mamori's own): issuer
 * discovery, the authorization URL with state, nonce and PKCE S256, and the callback's checks —
 * `state`, RFC 9207 `iss` when the provider sends it, the code exchange with the PKCE verifier,
 * and the ID token's `iss`, `aud`, `azp`, `exp`, `iat` and `nonce`. The ID token's signature is
 * checked too, though it came straight from the token endpoint over TLS: against the provider's
 * JWKS (RS256/ES256), or, for LINE's HS256, with the channel secret (jose).
 */

// A provider that does not answer within this is down for this sign-in: the person is told so.
const providerTimeoutSeconds = 10;

const configurations = new Map<string, Promise<client.Configuration>>();

// Apple accepts a client secret JWT for up to 6 months; Mamori makes one for a day and makes the
// next an hour before that one expires, so the secret in use is never close to its end.
const appleSecretSeconds = 24 * 3600;
const appleRenewBeforeSeconds = 3600;
const appleSecrets = new Map<string, { jwt: string; expiresAt: number }>();

/** Sign in with Apple's client secret: an ES256 JWT signed with the team's key (jose). */
export async function appleClientSecret(
  key: AppleKey,
  clientId: string,
  nowMs = Date.now(),
): Promise<string> {
  const cacheKey = `${key.teamId}|${key.keyId}|${clientId}`;
  const cached = appleSecrets.get(cacheKey);
  if (cached && cached.expiresAt - appleRenewBeforeSeconds * 1000 > nowMs) return cached.jwt;
  const issuedAt = Math.floor(nowMs / 1000);
  const jwt = await new SignJWT({})
    .setProtectedHeader({ alg: "ES256", kid: key.keyId })
    .setIssuer(key.teamId)
    .setSubject(clientId)
    .setAudience("https://appleid.apple.com")
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + appleSecretSeconds)
    .sign(key.privateKey);
  appleSecrets.set(cacheKey, { jwt, expiresAt: (issuedAt + appleSecretSeconds) * 1000 });
  return jwt;
}

function clientAuth(provider: FederationProvider): client.ClientAuth {
  const appleKey = provider.appleKey;
  if (appleKey) {
    // client_secret_post with a secret made (or renewed) at each token request.
    return async (_as, metadata, body) => {
      body.set("client_id", metadata.client_id);
      body.set("client_secret", await appleClientSecret(appleKey, metadata.client_id));
    };
  }
  // LINE's token endpoint takes the channel secret in the body; the others accept HTTP Basic.
  return provider.kind === "line"
    ? client.ClientSecretPost(provider.clientSecret)
    : client.ClientSecretBasic(provider.clientSecret);
}

async function discover(provider: FederationProvider): Promise<client.Configuration> {
  const insecure = provider.issuer.protocol === "http:"; // loopback outside production only (config)
  const configuration = await client.discovery(
    provider.issuer,
    provider.clientId,
    { id_token_signed_response_alg: provider.idTokenAlg },
    clientAuth(provider),
    { timeout: providerTimeoutSeconds, ...(insecure ? { execute: [client.allowInsecureRequests] } : {}) },
  );
  if (provider.idTokenAlg !== "HS256") client.enableNonRepudiationChecks(configuration);
  // The pages' form-action allows the issuer's origin only (src/http/security-headers.ts).
  const endpoint = configuration.serverMetadata().authorization_endpoint;
  if (!endpoint || new URL(endpoint).origin !== provider.issuer.origin)
    throw new Error(
      `${provider.name}: the authorization endpoint ${endpoint ?? "(none)"} is not on the issuer's origin ${provider.issuer.origin}`,
    );
  return configuration;
}

/** The provider's configuration, discovered once per process (again after a failure). */
export function providerConfiguration(provider: FederationProvider): Promise<client.Configuration> {
  const key = `${provider.name}|${provider.issuer.href}|${provider.clientId}`;
  let found = configurations.get(key);
  if (!found) {
    found = discover(provider);
    configurations.set(key, found);
    found.catch(() => configurations.delete(key));
  }
  return found;
}

export type AuthorizationStart = { url: URL; codeVerifier: string; nonce: string };

/** Where to send the browser: the provider's authorization endpoint with state, nonce and PKCE. */
export async function authorizationUrl(
  provider: FederationProvider,
  redirectUri: string,
  state: string,
  locale: string,
): Promise<AuthorizationStart> {
  const configuration = await providerConfiguration(provider);
  const codeVerifier = client.randomPKCECodeVerifier();
  const nonce = client.randomNonce();
  const parameters: Record<string, string> = {
    redirect_uri: redirectUri,
    scope: provider.scopes.join(" "),
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: "S256",
    ui_locales: locale,
  };
  if (provider.hostedDomain) parameters.hd = provider.hostedDomain;
  // Apple sends the answer as a POST from its own page (needed for the name and email scopes).
  if (provider.responseMode === "form_post") parameters.response_mode = "form_post";
  return { url: client.buildAuthorizationUrl(configuration, parameters), codeVerifier, nonce };
}

/** What a provider said about the person, after every check passed. */
export type ProviderClaims = {
  subject: string;
  email: string | undefined;
  emailVerified: boolean;
  name: string | undefined;
  /** The provider's own multi-factor sign-in, as its ID token's `amr` says. */
  providerMfa: boolean;
  hostedDomain: string | undefined;
};

export type CallbackOutcome =
  | { ok: true; claims: ProviderClaims }
  | { ok: false; reason: "cancelled" | "refused"; detail: string };

function stringClaim(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

/**
 * The callback: `currentUrl` is the public callback URL with the provider's query parameters.
 * Every failure is a value: the person cancelled (`error=access_denied`), or a check refused
 * the answer (forged state, another client's token, a wrong nonce, a bad signature…).
 */
export async function completeAuthorization(
  provider: FederationProvider,
  currentUrl: URL | Request,
  expected: { state: string; nonce: string; codeVerifier: string },
): Promise<CallbackOutcome> {
  const configuration = await providerConfiguration(provider);
  let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
  try {
    tokens = await client.authorizationCodeGrant(configuration, currentUrl, {
      pkceCodeVerifier: expected.codeVerifier,
      expectedState: expected.state,
      expectedNonce: expected.nonce,
      idTokenExpected: true,
    });
  } catch (error) {
    if (error instanceof client.AuthorizationResponseError && error.error === "access_denied")
      return { ok: false, reason: "cancelled", detail: error.error };
    return { ok: false, reason: "refused", detail: describe(error) };
  }
  const idToken = tokens.id_token;
  const claims = tokens.claims();
  if (!idToken || !claims) return { ok: false, reason: "refused", detail: "no ID token" };
  if (provider.idTokenAlg === "HS256") {
    // LINE signs its web login's ID token with the channel secret (HS256).
    try {
      await jwtVerify(idToken, new TextEncoder().encode(provider.clientSecret), {
        algorithms: ["HS256"],
        issuer: configuration.serverMetadata().issuer,
        audience: provider.clientId,
      });
    } catch (error) {
      return { ok: false, reason: "refused", detail: `ID token signature: ${describe(error)}` };
    }
  }
  let email = stringClaim(claims.email);
  // Apple writes booleans as strings ("true"); its private-relay addresses are verified relays.
  let emailVerified = claims.email_verified === true || claims.email_verified === "true";
  let name = stringClaim(claims.name);
  // Yahoo! JAPAN ID (and some generic providers) give the email and name at the UserInfo endpoint.
  if (!email && provider.kind !== "line" && configuration.serverMetadata().userinfo_endpoint) {
    try {
      const info = await client.fetchUserInfo(configuration, tokens.access_token, claims.sub);
      email = stringClaim(info.email);
      emailVerified = info.email_verified === true;
      name ??= stringClaim(info.name);
    } catch (error) {
      return { ok: false, reason: "refused", detail: `userinfo: ${describe(error)}` };
    }
  }
  const hostedDomain = stringClaim(claims.hd);
  if (provider.hostedDomain && hostedDomain !== provider.hostedDomain)
    return {
      ok: false,
      reason: "refused",
      detail: `hd ${hostedDomain ?? "(none)"} is not ${provider.hostedDomain}`,
    };
  const amr = Array.isArray(claims.amr) ? claims.amr : [];
  return {
    ok: true,
    claims: {
      subject: claims.sub,
      email,
      emailVerified: email !== undefined && emailVerified,
      name,
      providerMfa: amr.includes("mfa"),
      hostedDomain,
    },
  };
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as Error & { code?: unknown }).code;
    return typeof code === "string" ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
