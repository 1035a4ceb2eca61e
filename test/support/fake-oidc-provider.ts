import { createHash, generateKeyPairSync, type KeyObject, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWK, jwtVerify, SignJWT } from "jose";

/**
 * A small OpenID Connect provider on loopback that behaves as each real one does for the code
 * flow: its discovery document (a YConnect-like issuer with a path for Yahoo! JAPAN), the
 * authorization endpoint (it signs the test's chosen person in at once, or answers
 * `error=access_denied` as a person who cancels), the token endpoint (client authentication, PKCE
 * S256, the redirect URI) and the ID token:
 * - google: RS256 (JWKS), `email` and `email_verified` in the ID token;
 * - line: HS256 signed with the channel secret, `email` only when the person shares it, no
 *   `email_verified`; client_secret_post;
 * - yahoo_japan: RS256, the email and `email_verified` at the UserInfo endpoint only;
 * - apple: response_mode=form_post (an HTML page that posts the answer back), the client secret an
 *   ES256 JWT checked against the team key's public half, `email_verified` as the string "true",
 *   and the person's name posted (`user`) on the first authorization of each person only.
 * A test may make the next answer wrong on purpose (another client's `aud`, a wrong nonce, a
 * signature by another key) to prove Mamori refuses it.
 */
export type FakeKind = "google" | "line" | "yahoo_japan" | "apple";

export type FakePerson = {
  sub: string;
  name?: string;
  email?: string;
  emailVerified?: boolean;
  amr?: string[];
};

export type Tamper = { aud?: string; nonce?: string; wrongKey?: boolean; iss?: string };

export type FakeProvider = {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Who the next authorization signs in (until changed). */
  person: FakePerson;
  /** The next authorization is refused by the person (`error=access_denied`). */
  cancelNext: boolean;
  /** The next ID token is made wrong this way. */
  tamperNext: Tamper | undefined;
  /** How many codes the token endpoint exchanged. */
  exchanged: number;
  /** Apple: the team key's public half, to check the client secret JWT; its team and key IDs. */
  appleKey: { publicKey: KeyObject; teamId: string; keyId: string } | undefined;
  /** Apple: the client secrets it was sent (to see them made anew). */
  clientSecrets: string[];
  close(): Promise<void>;
};

type Grant = {
  person: FakePerson;
  nonce: string;
  challenge: string;
  redirectUri: string;
  tamper: Tamper | undefined;
};

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => {
      body += chunk;
    });
    request.on("end", () => resolve(body));
    request.on("error", reject);
  });
}

function json(response: ServerResponse, status: number, value: unknown): void {
  response.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  response.end(JSON.stringify(value));
}

/**
 * `host`: the name the provider is reached by (it listens on 127.0.0.1 either way). A browser counts
 * 127.0.0.1 on another port as the same site (ports do not count), so a test of a cross-site POST
 * gives the provider `localhost`, another site that also resolves to loopback.
 */
export async function startFakeProvider(
  kind: FakeKind,
  clientId = `client-${kind}`,
  options: { host?: "127.0.0.1" | "localhost" } = {},
): Promise<FakeProvider> {
  const rsa = await generateKeyPair("RS256", { extractable: true });
  const other = await generateKeyPair("RS256", { extractable: true });
  const publicJwk: JWK = { ...(await exportJWK(rsa.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  const clientSecret = randomBytes(16).toString("hex");
  const codes = new Map<string, Grant>();
  const namesSent = new Set<string>();
  const accessTokens = new Map<string, FakePerson>();
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const base = `http://${options.host ?? "127.0.0.1"}:${port}`;
  const issuer = kind === "yahoo_japan" ? `${base}/yconnect/v2` : base;
  const prefix = kind === "yahoo_japan" ? "/yconnect/v2" : "";

  const provider: FakeProvider = {
    issuer,
    clientId,
    clientSecret,
    person: { sub: "U1" },
    cancelNext: false,
    tamperNext: undefined,
    exchanged: 0,
    appleKey: undefined,
    clientSecrets: [],
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };

  async function idToken(grant: Grant): Promise<string> {
    const claims: Record<string, unknown> = {
      nonce: grant.tamper?.nonce ?? grant.nonce,
      amr: grant.person.amr ?? ["pwd"],
    };
    if (grant.person.name !== undefined) claims.name = grant.person.name;
    if (kind !== "yahoo_japan" && grant.person.email !== undefined) {
      claims.email = grant.person.email;
      if (kind === "google") claims.email_verified = grant.person.emailVerified ?? false;
      if (kind === "apple") {
        claims.email_verified = String(grant.person.emailVerified ?? false);
        claims.is_private_email = String(grant.person.email.endsWith("@privaterelay.appleid.com"));
      }
    }
    const jwt = new SignJWT(claims)
      .setIssuer(grant.tamper?.iss ?? issuer)
      .setSubject(grant.person.sub)
      .setAudience(grant.tamper?.aud ?? clientId)
      .setIssuedAt()
      .setExpirationTime("10m");
    if (kind === "line") {
      const secret = grant.tamper?.wrongKey ? "not-the-channel-secret" : clientSecret;
      return jwt.setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(new TextEncoder().encode(secret));
    }
    return jwt
      .setProtectedHeader({ alg: "RS256", kid: "k1", typ: "JWT" })
      .sign(grant.tamper?.wrongKey ? other.privateKey : rsa.privateKey);
  }

  async function clientAuthenticated(request: IncomingMessage, form: URLSearchParams): Promise<boolean> {
    if (kind === "apple") {
      const secret = form.get("client_secret") ?? "";
      provider.clientSecrets.push(secret);
      const key = provider.appleKey;
      if (!key || form.get("client_id") !== clientId) return false;
      try {
        const { protectedHeader } = await jwtVerify(secret, key.publicKey, {
          algorithms: ["ES256"],
          issuer: key.teamId,
          subject: clientId,
          audience: "https://appleid.apple.com",
        });
        return protectedHeader.kid === key.keyId;
      } catch {
        return false;
      }
    }
    if (kind === "line")
      return form.get("client_id") === clientId && form.get("client_secret") === clientSecret;
    // RFC 6749 2.3.1: HTTP Basic of the form-urlencoded id and secret.
    const header = request.headers.authorization ?? "";
    if (!header.startsWith("Basic ")) return false;
    const [id = "", secret = ""] = Buffer.from(header.slice(6), "base64")
      .toString("utf8")
      .split(":")
      .map((part) => decodeURIComponent(part.replace(/\+/g, " ")));
    return id === clientId && secret === clientSecret;
  }

  server.on("request", (request, response) => {
    void (async () => {
      const url = new URL(request.url ?? "/", base);
      const path = url.pathname.slice(prefix.length);
      if (path === "/.well-known/openid-configuration") {
        return json(response, 200, {
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: `${issuer}/jwks`,
          ...(kind === "line" || kind === "apple" ? {} : { userinfo_endpoint: `${issuer}/userinfo` }),
          response_types_supported: ["code"],
          subject_types_supported: ["public", "pairwise"],
          id_token_signing_alg_values_supported: kind === "line" ? ["HS256"] : ["RS256"],
          code_challenge_methods_supported: ["S256"],
          token_endpoint_auth_methods_supported:
            kind === "line" || kind === "apple"
              ? ["client_secret_post"]
              : ["client_secret_basic", "client_secret_post"],
          ...(kind === "apple" ? { response_modes_supported: ["query", "fragment", "form_post"] } : {}),
          scopes_supported: ["openid", "email", "profile"],
        });
      }
      // A browser on the provider's own page (Apple's form_post) asks for its icon, as of any site.
      if (url.pathname === "/favicon.ico") {
        response.writeHead(204).end();
        return;
      }
      if (path === "/jwks") return json(response, 200, { keys: kind === "line" ? [] : [publicJwk] });
      if (path === "/authorize") {
        const q = url.searchParams;
        const redirect = new URL(q.get("redirect_uri") ?? "");
        const state = q.get("state") ?? "";
        if (q.get("client_id") !== clientId || q.get("code_challenge_method") !== "S256" || !q.get("nonce")) {
          response.writeHead(400).end("bad authorization request");
          return;
        }
        if (provider.cancelNext) {
          provider.cancelNext = false;
          redirect.searchParams.set("error", "access_denied");
          redirect.searchParams.set("state", state);
        } else {
          const code = randomBytes(16).toString("hex");
          codes.set(code, {
            person: { ...provider.person },
            nonce: q.get("nonce") ?? "",
            challenge: q.get("code_challenge") ?? "",
            redirectUri: redirect.href,
            tamper: provider.tamperNext,
          });
          provider.tamperNext = undefined;
          redirect.searchParams.set("code", code);
          redirect.searchParams.set("state", state);
        }
        if (kind === "apple") {
          // form_post: Apple's page posts the answer to the redirect URI; the name only the first time.
          if (q.get("response_mode") !== "form_post") {
            response.writeHead(400).end("Apple needs response_mode=form_post for name and email");
            return;
          }
          const fields = Object.fromEntries(redirect.searchParams);
          if (fields.code && !namesSent.has(provider.person.sub) && provider.person.name) {
            namesSent.add(provider.person.sub);
            const [lastName, firstName] = provider.person.name.split(" ");
            fields.user = JSON.stringify({ name: { firstName, lastName }, email: provider.person.email });
          }
          const action = `${redirect.origin}${redirect.pathname}`;
          const inputs = Object.entries(fields)
            .map(
              ([n, v]) =>
                `<input type="hidden" name="${n}" value="${v.replace(/&/g, "&amp;").replace(/"/g, "&quot;")}">`,
            )
            .join("");
          response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
          response.end(
            `<!doctype html><body onload="document.forms[0].submit()"><form method="post" action="${action}">${inputs}</form></body>`,
          );
          return;
        }
        response.writeHead(302, { location: redirect.href }).end();
        return;
      }
      if (path === "/token" && request.method === "POST") {
        const form = new URLSearchParams(await readBody(request));
        if (!(await clientAuthenticated(request, form)))
          return json(response, 401, { error: "invalid_client" });
        const code = form.get("code") ?? "";
        const grant = codes.get(code);
        codes.delete(code); // single use, as every real provider's
        const verifier = form.get("code_verifier") ?? "";
        const challenge = createHash("sha256").update(verifier).digest("base64url");
        if (!grant || grant.challenge !== challenge || grant.redirectUri !== form.get("redirect_uri"))
          return json(response, 400, { error: "invalid_grant" });
        provider.exchanged++;
        const accessToken = randomBytes(16).toString("hex");
        accessTokens.set(accessToken, grant.person);
        return json(response, 200, {
          access_token: accessToken,
          token_type: "Bearer",
          expires_in: 3600,
          id_token: await idToken(grant),
        });
      }
      if (path === "/userinfo") {
        const person = accessTokens.get((request.headers.authorization ?? "").replace(/^Bearer /, ""));
        if (!person) return json(response, 401, { error: "invalid_token" });
        return json(response, 200, {
          sub: person.sub,
          ...(person.name !== undefined ? { name: person.name } : {}),
          ...(person.email !== undefined
            ? { email: person.email, email_verified: person.emailVerified ?? false }
            : {}),
        });
      }
      response.writeHead(404).end();
    })().catch((error: unknown) => {
      response.writeHead(500).end(String(error));
    });
  });
  return provider;
}

/** The environment that points Mamori's preset `kind` at this fake provider (Apple: a new team key). */
export function federationEnv(
  providers: readonly { kind: FakeKind; fake: FakeProvider }[],
): Record<string, string> {
  const env: Record<string, string> = { MAMORI_FEDERATION_PROVIDERS: providers.map((p) => p.kind).join(",") };
  for (const { kind, fake } of providers) {
    const prefix = `MAMORI_FEDERATION_${kind.toUpperCase()}`;
    env[`${prefix}_ISSUER`] = fake.issuer;
    env[`${prefix}_CLIENT_ID`] = fake.clientId;
    if (kind === "apple") {
      const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
      fake.appleKey = { publicKey, teamId: "TEAM123456", keyId: "KEY1234567" };
      env[`${prefix}_TEAM_ID`] = fake.appleKey.teamId;
      env[`${prefix}_KEY_ID`] = fake.appleKey.keyId;
      env[`${prefix}_PRIVATE_KEY`] = String(privateKey.export({ type: "pkcs8", format: "pem" }));
    } else {
      env[`${prefix}_CLIENT_SECRET`] = fake.clientSecret;
    }
  }
  return env;
}
