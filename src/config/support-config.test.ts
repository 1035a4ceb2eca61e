import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, loadConfig } from "./config.ts";

test("the support contact is optional, and each part is read as the operator wrote it", () => {
  assert.deepEqual(loadConfig({}).support, {
    url: undefined,
    phone: undefined,
    hours: undefined,
    hoursEn: undefined,
  });
  const support = loadConfig({
    MAMORI_SUPPORT_URL: " https://shop.example.jp/help ",
    MAMORI_SUPPORT_PHONE: "0120-123-456",
    MAMORI_SUPPORT_HOURS: "平日 10:00〜18:00",
    MAMORI_SUPPORT_HOURS_EN: "Weekdays 10:00-18:00 JST",
  }).support;
  assert.deepEqual(support, {
    url: "https://shop.example.jp/help",
    phone: "0120-123-456",
    hours: "平日 10:00〜18:00",
    hoursEn: "Weekdays 10:00-18:00 JST",
  });
  assert.equal(
    loadConfig({ MAMORI_SUPPORT_URL: "mailto:support@shop.example.jp" }).support.url,
    "mailto:support@shop.example.jp",
  );
});

test("a support contact that would put a script or a broken link on the refusal pages is refused at start", () => {
  for (const [name, value] of [
    ["MAMORI_SUPPORT_URL", "javascript:alert(1)"],
    ["MAMORI_SUPPORT_URL", "not a url"],
    ["MAMORI_SUPPORT_PHONE", "call us"],
    ["MAMORI_SUPPORT_HOURS", "line one\nline two"],
    ["MAMORI_SUPPORT_HOURS", "x".repeat(201)],
  ] as const) {
    assert.throws(
      () => loadConfig({ [name]: value }),
      (error: unknown) => error instanceof ConfigError && error.problems.some((p) => p.startsWith(name)),
      `${name}=${value}`,
    );
  }
});
