import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, loadConfig } from "./config.ts";

// MAMORI_ISSUER: the provider answers under /oidc of Mamori's public origin, nowhere else.

function problemsOf(source: Record<string, string>): string[] {
  try {
    loadConfig({ NODE_ENV: "test", ...source });
    return [];
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return [...error.problems];
  }
}

test("the issuer defaults to the public URL's origin + /oidc", () => {
  assert.equal(loadConfig({ NODE_ENV: "test" }).issuer.href, "http://localhost:3000/oidc");
  const config = loadConfig({ NODE_ENV: "test", MAMORI_PUBLIC_URL: "https://login.example.jp/" });
  assert.equal(config.issuer.href, "https://login.example.jp/oidc");
});

test("MAMORI_ISSUER may spell out the issuer, with or without a trailing slash", () => {
  for (const issuer of ["https://login.example.jp/oidc", "https://login.example.jp/oidc/"]) {
    const config = loadConfig({
      NODE_ENV: "test",
      MAMORI_PUBLIC_URL: "https://login.example.jp",
      MAMORI_ISSUER: issuer,
    });
    assert.equal(config.issuer.href, "https://login.example.jp/oidc");
  }
});

test("an issuer on another origin, path or scheme, or not a URL, refuses to start", () => {
  for (const issuer of [
    "https://evil.example/oidc",
    "http://login.example.jp/oidc",
    "https://login.example.jp/auth",
    "https://login.example.jp/oidc?x=1",
    "not a url",
  ]) {
    const problems = problemsOf({ MAMORI_PUBLIC_URL: "https://login.example.jp", MAMORI_ISSUER: issuer });
    assert.equal(problems.length, 1, issuer);
    assert.match(problems[0] ?? "", /MAMORI_ISSUER/);
  }
});
