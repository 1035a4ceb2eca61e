import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, loadConfig } from "./config.ts";
import { isRpIdSuffixOf, isValidRpId } from "./passkey-config.ts";

function problemsOf(source: Record<string, string>): readonly string[] {
  try {
    loadConfig(source);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

test("development passkeys default to RP ID localhost and the origin http://localhost:3000", () => {
  const config = loadConfig({});
  assert.equal(config.passkeys.rpId, "localhost");
  assert.deepEqual(config.passkeys.origins, ["http://localhost:3000"]);
});

test("the RP ID defaults to the public URL's host, and MAMORI_ORIGINS are passkey origins too", () => {
  const config = loadConfig({
    MAMORI_PUBLIC_URL: "https://login.example.jp",
    MAMORI_RP_ID: "example.jp",
    MAMORI_ORIGINS: "https://shop.example.jp",
  });
  assert.equal(config.passkeys.rpId, "example.jp");
  assert.deepEqual(config.passkeys.origins, ["https://login.example.jp", "https://shop.example.jp"]);
  assert.equal(
    loadConfig({ MAMORI_PUBLIC_URL: "https://login.example.jp" }).passkeys.rpId,
    "login.example.jp",
  );
});

test("start-up is refused when the RP ID is not a registrable suffix of every origin's host", () => {
  const problems = problemsOf({
    MAMORI_PUBLIC_URL: "https://login.example.jp",
    MAMORI_RP_ID: "example.jp",
    MAMORI_ORIGINS: "https://shop.example.com",
  });
  assert.equal(problems.length, 1);
  assert.match(problems[0] ?? "", /MAMORI_RP_ID example\.jp is not shop\.example\.com/);
  // A sibling is not a parent: login.example.jp cannot serve www.example.jp.
  assert.match(
    problemsOf({ MAMORI_PUBLIC_URL: "https://www.example.jp", MAMORI_RP_ID: "login.example.jp" }).join("\n"),
    /not www\.example\.jp/,
  );
  // A suffix of the text is not a parent domain: evilexample.jp is not under example.jp.
  assert.match(
    problemsOf({ MAMORI_PUBLIC_URL: "https://evilexample.jp", MAMORI_RP_ID: "example.jp" }).join("\n"),
    /not evilexample\.jp/,
  );
});

test("start-up is refused for an RP ID that is an address, a URL or a top-level domain", () => {
  for (const rpId of ["192.0.2.1", "https://example.jp", "jp", "exa mple.jp"]) {
    assert.match(
      problemsOf({ MAMORI_PUBLIC_URL: "https://login.example.jp", MAMORI_RP_ID: rpId }).join("\n"),
      /MAMORI_RP_ID must be a domain name/,
      rpId,
    );
  }
});

test("production refuses an address as the public host instead of guessing an RP ID", () => {
  const problems = problemsOf({
    NODE_ENV: "production",
    MAMORI_BRAND_NAME: "やまだ商店",
    MAMORI_PUBLIC_URL: "https://192.0.2.10",
    MAMORI_TRUST_PROXY: "true",
    SMTP_URL: "smtps://user:pass@mail.example.jp:465",
    MAMORI_SECRET_KEYS: "6JW4OqhdhsTBUck3DBdxt5jgHs/87O2wjdMk1ad7uRQ=",
  });
  assert.match(problems.join("\n"), /MAMORI_RP_ID must be a domain name/);
});

test("a loopback test server offers passkeys on the same port by name (browsers refuse addresses)", () => {
  const config = loadConfig({ MAMORI_PUBLIC_URL: "http://127.0.0.1:41234" });
  assert.equal(config.passkeys.rpId, "localhost");
  assert.deepEqual(config.passkeys.origins, ["http://localhost:41234"]);
});

test("production refuses a plain-http passkey origin (WebAuthn needs a secure context)", () => {
  const problems = problemsOf({
    NODE_ENV: "production",
    MAMORI_BRAND_NAME: "やまだ商店",
    MAMORI_PUBLIC_URL: "https://login.example.jp",
    MAMORI_ORIGINS: "http://shop.example.jp",
    MAMORI_RP_ID: "example.jp",
    MAMORI_TRUST_PROXY: "true",
    SMTP_URL: "smtps://user:pass@mail.example.jp:465",
    MAMORI_SECRET_KEYS: "6JW4OqhdhsTBUck3DBdxt5jgHs/87O2wjdMk1ad7uRQ=",
  });
  assert.deepEqual(problems, [
    "MAMORI_ORIGINS: passkeys need https:// (or http://localhost): http://shop.example.jp",
  ]);
});

test("RP ID helpers: parent domains match, look-alikes do not", () => {
  assert.equal(isRpIdSuffixOf("example.jp", "example.jp"), true);
  assert.equal(isRpIdSuffixOf("example.jp", "a.b.example.jp"), true);
  assert.equal(isRpIdSuffixOf("example.jp", "badexample.jp"), false);
  assert.equal(isValidRpId("localhost"), true);
  assert.equal(isValidRpId("::1"), false);
});
