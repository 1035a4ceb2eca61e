import assert from "node:assert/strict";
import { test } from "node:test";
import { describeBrowser } from "./user-agent.ts";

test("common browsers are named with their system, the specific engine before the generic one", () => {
  const cases: [string, string][] = [
    [
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 Edg/126.0",
      "Edge (Windows)",
    ],
    [
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
      "Safari (iPhone)",
    ],
    [
      "Mozilla/5.0 (Linux; Android 14; SO-51D) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36",
      "Chrome (Android)",
    ],
    ["Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:127.0) Gecko/20100101 Firefox/127.0", "Firefox (Mac)"],
    [
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0 Safari/537.36",
      "Chrome (Linux)",
    ],
  ];
  for (const [userAgent, name] of cases) assert.equal(describeBrowser(userAgent), name, userAgent);
});

test("an unknown or missing User-Agent gives no name, so the page says 'unknown browser'", () => {
  assert.equal(describeBrowser(null), undefined);
  assert.equal(describeBrowser("curl/8.5.0"), undefined);
});
