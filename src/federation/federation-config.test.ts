import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { test } from "node:test";
import { ConfigError, loadConfig } from "../config/config.ts";
import { amrOf } from "../integration/assurance.ts";

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig({ NODE_ENV: "test", ...env });
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

test("a preset without its secret refuses to start, and says which variable and why", () => {
  const problems = problemsOf({
    MAMORI_FEDERATION_PROVIDERS: "line",
    MAMORI_FEDERATION_LINE_CLIENT_ID: "1650000000",
  });
  assert.equal(problems.length, 1);
  assert.match(
    problems[0] ?? "",
    /MAMORI_FEDERATION_LINE_CLIENT_SECRET is required: the LINE Login channel secret/,
  );
});

test("a generic provider needs its issuer and label; presets know theirs", () => {
  const problems = problemsOf({
    MAMORI_FEDERATION_PROVIDERS: "acme",
    MAMORI_FEDERATION_ACME_CLIENT_ID: "id",
    MAMORI_FEDERATION_ACME_CLIENT_SECRET: "secret",
  });
  assert.ok(problems.some((p) => p.includes("MAMORI_FEDERATION_ACME_ISSUER is required")));
  assert.ok(problems.some((p) => p.includes("MAMORI_FEDERATION_ACME_LABEL is required")));
  const config = loadConfig({
    NODE_ENV: "test",
    MAMORI_FEDERATION_PROVIDERS: "google,yahoo_japan",
    MAMORI_FEDERATION_GOOGLE_CLIENT_ID: "g",
    MAMORI_FEDERATION_GOOGLE_CLIENT_SECRET: "gs",
    MAMORI_FEDERATION_YAHOO_JAPAN_CLIENT_ID: "y",
    MAMORI_FEDERATION_YAHOO_JAPAN_CLIENT_SECRET: "ys",
  });
  assert.deepEqual(
    config.federation.providers.map((p) => [p.name, p.issuer.href, p.idTokenAlg, p.acceptProviderMfa]),
    [
      ["google", "https://accounts.google.com/", "RS256", false],
      ["yahoo_japan", "https://auth.login.yahoo.co.jp/yconnect/v2", "RS256", false],
    ],
  );
});

test("a provider's issuer must be https, except loopback outside production", () => {
  const base = {
    MAMORI_FEDERATION_PROVIDERS: "google",
    MAMORI_FEDERATION_GOOGLE_CLIENT_ID: "g",
    MAMORI_FEDERATION_GOOGLE_CLIENT_SECRET: "gs",
  };
  assert.deepEqual(problemsOf({ ...base, MAMORI_FEDERATION_GOOGLE_ISSUER: "http://127.0.0.1:9999" }), []);
  assert.ok(
    problemsOf({ ...base, MAMORI_FEDERATION_GOOGLE_ISSUER: "http://idp.example" }).some((p) =>
      p.includes("must be an https:// URL"),
    ),
  );
});

test("Apple without the key that makes its client secret refuses to start, and says which parts", () => {
  const problems = problemsOf({
    MAMORI_FEDERATION_PROVIDERS: "apple",
    MAMORI_FEDERATION_APPLE_CLIENT_ID: "jp.example.shop",
    MAMORI_FEDERATION_APPLE_TEAM_ID: "TEAM123456",
  });
  assert.equal(problems.length, 1);
  assert.match(problems[0] ?? "", /MAMORI_FEDERATION_APPLE_KEY_ID .*MAMORI_FEDERATION_APPLE_PRIVATE_KEY/);
  const notEc = problemsOf({
    MAMORI_FEDERATION_PROVIDERS: "apple",
    MAMORI_FEDERATION_APPLE_CLIENT_ID: "jp.example.shop",
    MAMORI_FEDERATION_APPLE_TEAM_ID: "TEAM123456",
    MAMORI_FEDERATION_APPLE_KEY_ID: "KEY1234567",
    MAMORI_FEDERATION_APPLE_PRIVATE_KEY: "not a key",
  });
  assert.match(notEc[0] ?? "", /not a PEM private key/);
});

test("only Apple's exact callback path is let past the origin check, and only when Apple is configured", () => {
  const base = { NODE_ENV: "test" };
  assert.equal(loadConfig(base).federation.formPostPaths.size, 0);
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const config = loadConfig({
    ...base,
    MAMORI_FEDERATION_PROVIDERS: "apple,google",
    MAMORI_FEDERATION_APPLE_CLIENT_ID: "jp.example.shop",
    MAMORI_FEDERATION_APPLE_TEAM_ID: "TEAM123456",
    MAMORI_FEDERATION_APPLE_KEY_ID: "KEY1234567",
    MAMORI_FEDERATION_APPLE_PRIVATE_KEY: String(
      privateKey.export({ type: "pkcs8", format: "pem" }),
    ).replaceAll("\n", "\\n"),
    MAMORI_FEDERATION_GOOGLE_CLIENT_ID: "g",
    MAMORI_FEDERATION_GOOGLE_CLIENT_SECRET: "gs",
  });
  assert.deepEqual([...config.federation.formPostPaths], ["/sign-in/federation/apple/callback"]);
});

test("OIDC to shops reports a social sign-in honestly: amr fed", () => {
  assert.deepEqual(amrOf(["federated"], 1), ["fed"]);
});

test("the pages' form-action lets a sign-in button's redirect reach each configured provider, and no other", async () => {
  // Chromium holds a form's redirects to the page's form-action: without the provider's origin,
  // 「Googleでログイン」 would stop at Mamori (found by test/browser/social-sign-in.test.ts).
  const { securityHeaders } = await import("../http/security-headers.ts");
  const config = loadConfig({
    NODE_ENV: "test",
    MAMORI_FEDERATION_PROVIDERS: "google",
    MAMORI_FEDERATION_GOOGLE_CLIENT_ID: "g",
    MAMORI_FEDERATION_GOOGLE_CLIENT_SECRET: "gs",
  });
  const csp = securityHeaders(config)["content-security-policy"] ?? "";
  assert.match(csp, /form-action 'self' https:\/\/accounts\.google\.com;/);
  assert.match(
    securityHeaders(loadConfig({ NODE_ENV: "test" }))["content-security-policy"] ?? "",
    /form-action 'self';/,
  );
});

test("a provider's accepted MFA makes the sign-in AAL2 for shops but never stands in for the account's own second factor at step-up", async () => {
  const { assuranceLevel, provesSecondFactorNow } = await import("../session/sessions.ts");
  assert.equal(assuranceLevel(["federated"]), 1);
  assert.equal(assuranceLevel(["federated", "federated_mfa"]), 2);
  assert.equal(provesSecondFactorNow(["federated", "federated_mfa"]), false);
  assert.equal(provesSecondFactorNow(["federated", "totp"]), true);
  assert.deepEqual(amrOf(["federated", "federated_mfa"], 2), ["fed", "mfa"]);
});
