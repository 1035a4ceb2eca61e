import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { groupedKey, hotp, otpauthUri, toBase32, totpStep, verifyTotp } from "./totp.ts";

// RFC 6238 Appendix B: the SHA-1 seed is the ASCII string "12345678901234567890".
const rfcSecret = Buffer.from("12345678901234567890", "ascii");

test("the RFC 6238 SHA-1 test vectors", () => {
  const vectors: [number, string][] = [
    [59, "94287082"],
    [1_111_111_109, "07081804"],
    [1_111_111_111, "14050471"],
    [1_234_567_890, "89005924"],
    [2_000_000_000, "69279037"],
    [20_000_000_000, "65353130"],
  ];
  for (const [seconds, expected] of vectors) {
    assert.equal(hotp(rfcSecret, Math.floor(seconds / 30), 8), expected, `T=${seconds}`);
  }
});

test("the RFC 4226 HOTP test vectors", () => {
  const expected = [
    "755224",
    "287082",
    "359152",
    "969429",
    "338314",
    "254676",
    "287922",
    "162583",
    "399871",
    "520489",
  ];
  for (const [counter, code] of expected.entries())
    assert.equal(hotp(rfcSecret, counter), code, `counter ${counter}`);
});

test("a TOTP code is accepted one step early or late, not two", () => {
  const at = new Date(1_700_000_000_000);
  const step = totpStep(at);
  for (const offset of [-1, 0, 1]) {
    assert.deepEqual(verifyTotp(rfcSecret, hotp(rfcSecret, step + offset), at, null), {
      ok: true,
      step: step + offset,
    });
  }
  for (const offset of [-2, 2]) {
    assert.deepEqual(verifyTotp(rfcSecret, hotp(rfcSecret, step + offset), at, null), {
      ok: false,
      reason: "incorrect",
    });
  }
});

test("a TOTP code is accepted once per step: a replay is refused", () => {
  // Attack: a code read over the shoulder (or phished) is used again within its 30 seconds.
  const at = new Date(1_700_000_000_000);
  const code = hotp(rfcSecret, totpStep(at));
  const first = verifyTotp(rfcSecret, code, at, null);
  assert.equal(first.ok, true);
  const lastUsed = first.ok ? first.step : null;
  assert.deepEqual(verifyTotp(rfcSecret, code, at, lastUsed), { ok: false, reason: "replayed" });
  // An older step's code after a newer one is refused too.
  assert.deepEqual(verifyTotp(rfcSecret, hotp(rfcSecret, totpStep(at) - 1), at, lastUsed), {
    ok: false,
    reason: "replayed",
  });
});

test("codes typed with spaces or full-width digits still count; junk does not", () => {
  const at = new Date(1_700_000_000_000);
  const code = hotp(rfcSecret, totpStep(at));
  const spaced = `${code.slice(0, 3)} ${code.slice(3)}`;
  assert.equal(verifyTotp(rfcSecret, spaced, at, null).ok, true);
  const fullWidth = [...code].map((d) => String.fromCharCode(0xff10 + Number(d))).join("");
  assert.equal(verifyTotp(rfcSecret, fullWidth, at, null).ok, true);
  assert.equal(verifyTotp(rfcSecret, "12345", at, null).ok, false);
});

test("base32 and the otpauth URI are what authenticator apps read", () => {
  assert.equal(toBase32(Buffer.from("foobar")), "MZXW6YTBOI"); // RFC 4648 section 10, unpadded
  assert.equal(groupedKey("JBSWY3DPEHPK3PXP"), "JBSW Y3DP EHPK 3PXP");
  const uri = new URL(otpauthUri("Mamori", "hanako@example.jp", rfcSecret));
  assert.equal(uri.protocol, "otpauth:");
  assert.equal(uri.host, "totp");
  assert.equal(decodeURIComponent(uri.pathname), "/Mamori:hanako@example.jp");
  assert.equal(uri.searchParams.get("secret"), toBase32(rfcSecret));
  assert.equal(uri.searchParams.get("issuer"), "Mamori");
});

test("oathtool, an independent implementation, computes the same codes", () => {
  // oathtool comes from Debian (.ci/run installs it), as a phone's app would: not from this code.
  const at = new Date();
  const fromOathtool = execFileSync("oathtool", ["--totp", "--base32", toBase32(rfcSecret)], {
    encoding: "utf8",
  }).trim();
  assert.equal(verifyTotp(rfcSecret, fromOathtool, at, null).ok, true);
});
