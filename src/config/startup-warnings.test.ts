import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { test } from "node:test";
import pino from "pino";
import { createDeps } from "../main.ts";
import { loadConfig } from "./config.ts";
import { startupWarnings } from "./startup-warnings.ts";

const production = {
  NODE_ENV: "production",
  MAMORI_BRAND_NAME: "やまだ商店",
  MAMORI_PUBLIC_URL: "https://login.example.jp",
  SMTP_URL: "smtps://user:pass@mail.example.jp:465",
  MAMORI_SECRET_KEYS: randomBytes(32).toString("base64"),
  DATABASE_URL: "sqlite::memory:",
};

const trustsEveryone = /MAMORI_TRUST_PROXY=true believes every client's X-Forwarded-For/;

test("production warns at start when MAMORI_TRUST_PROXY=true trusts every client's X-Forwarded-For, and not when it names the proxy", () => {
  // Attack: with `true`, a client that reaches the port (or whose proxy appends to the header)
  // sends `X-Forwarded-For: 203.0.113.9` and every per-address limit counts a new address.
  assert.match(
    startupWarnings(loadConfig({ ...production, MAMORI_TRUST_PROXY: "true" })).join("\n"),
    trustsEveryone,
  );
  for (const trusted of ["127.0.0.1", "10.0.0.0/8,127.0.0.1"]) {
    assert.doesNotMatch(
      startupWarnings(loadConfig({ ...production, MAMORI_TRUST_PROXY: trusted })).join("\n"),
      trustsEveryone,
      trusted,
    );
  }
  // Development on a laptop: no proxy to name, nothing to warn about.
  assert.doesNotMatch(startupWarnings(loadConfig({ MAMORI_TRUST_PROXY: "true" })).join("\n"), trustsEveryone);
});

test("the trust-everyone warning reaches the log when the process starts", async () => {
  const lines: { level: number; msg: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done): void {
      lines.push(JSON.parse(chunk.toString("utf8")) as { level: number; msg: string });
      done();
    },
  });
  const config = loadConfig({ ...production, MAMORI_TRUST_PROXY: "true" });
  const deps = await createDeps(config, pino({ level: "warn" }, sink));
  await deps.throttle.close();
  await deps.db.destroy();
  const warning = lines.find((line) => trustsEveryone.test(line.msg));
  assert.ok(warning, JSON.stringify(lines));
  // pino's level 40 is "warn".
  assert.equal(warning.level, 40);
});
