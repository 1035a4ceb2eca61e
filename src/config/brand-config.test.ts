import assert from "node:assert/strict";
import { test } from "node:test";
import { contrastWithWhite } from "./brand-config.ts";
import { ConfigError, loadConfig } from "./config.ts";

const production = {
  NODE_ENV: "production",
  MAMORI_PUBLIC_URL: "https://login.example.jp",
  MAMORI_SECRET_KEYS: "a".repeat(64),
  MAMORI_TRUST_PROXY: "127.0.0.1",
  SMTP_URL: "smtp://127.0.0.1:2525",
  DATABASE_URL: "postgres://mamori@127.0.0.1/mamori",
};

function problemsOf(source: Record<string, string>): string {
  try {
    loadConfig(source);
    return "";
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
}

test("production refuses to start without the shop's name, so no customer ever sees a placeholder brand", () => {
  assert.match(problemsOf(production), /MAMORI_BRAND_NAME is required in production/);
  assert.doesNotMatch(problemsOf({ ...production, MAMORI_BRAND_NAME: "やまだ商店" }), /MAMORI_BRAND_NAME/);
});

test("each brand setting has a Japanese value and an English one that falls back to it", () => {
  const brands = loadConfig({
    MAMORI_BRAND_NAME: "やまだ商店",
    MAMORI_BRAND_SPOKEN_NAME: "ヤマダショウテン",
    MAMORI_BRAND_LOGO_URL: "/assets/logo.svg",
    MAMORI_BRAND_COLOUR: "#1D4ED8",
  }).brands;
  assert.deepEqual(brands.ja, {
    name: "やまだ商店",
    shortName: "やまだ商店",
    spokenName: "ヤマダショウテン",
    logoUrl: "/assets/logo.svg",
    colour: "#1d4ed8",
  });
  assert.deepEqual(brands.en, brands.ja);
  const both = loadConfig({
    MAMORI_BRAND_NAME: "やまだ商店",
    MAMORI_BRAND_NAME_EN: "Yamada Shoten",
    MAMORI_BRAND_SHORT_NAME_EN: "Yamada",
  }).brands;
  assert.equal(both.en.name, "Yamada Shoten");
  assert.equal(both.en.shortName, "Yamada");
  assert.equal(both.en.spokenName, "Yamada Shoten");
  assert.equal(both.ja.shortName, "やまだ商店");
});

test("development without a brand shows a sample shop's name, never the software's", () => {
  const brands = loadConfig({}).brands;
  assert.equal(brands.ja.name, "サンプルショップ");
  assert.equal(brands.en.name, "Sample Shop");
});

test("a short name that would split the code text message into two is refused at start", () => {
  // 【】 + 29 characters + the code text is 70: one UCS-2 segment. One more is two messages.
  assert.doesNotMatch(
    problemsOf({ MAMORI_BRAND_SHORT_NAME: "あ".repeat(29), MAMORI_BRAND_SHORT_NAME_EN: "Yamada" }),
    /too long/,
  );
  assert.match(
    problemsOf({ MAMORI_BRAND_SHORT_NAME: "あ".repeat(30) }),
    /MAMORI_BRAND_SHORT_NAME is too long/,
  );
  // English in GSM-7 holds 160 characters, but one Japanese character makes it UCS-2 (70).
  assert.doesNotMatch(problemsOf({ MAMORI_BRAND_NAME_EN: "Yamada Shoten Online" }), /too long/);
  assert.match(
    problemsOf({ MAMORI_BRAND_SHORT_NAME_EN: "やまだ商店".repeat(4) }),
    /MAMORI_BRAND_SHORT_NAME_EN is too long/,
  );
});

test("a brand that would break a subject line, a page or the button text's contrast is refused at start", () => {
  for (const [name, value] of [
    ["MAMORI_BRAND_NAME", "【偽】商店"],
    ["MAMORI_BRAND_NAME", "<script>"],
    ["MAMORI_BRAND_NAME", "一行目\n二行目"],
    ["MAMORI_BRAND_NAME", "あ".repeat(41)],
    ["MAMORI_BRAND_LOGO_URL", "http://cdn.example.jp/logo.svg"],
    ["MAMORI_BRAND_LOGO_URL", "javascript:alert(1)"],
    ["MAMORI_BRAND_LOGO_URL", "//cdn.example.jp/logo.svg"],
    ["MAMORI_BRAND_COLOUR", "orange"],
    ["MAMORI_BRAND_COLOUR", "#fbbf24"],
  ] as const) {
    assert.match(problemsOf({ [name]: value }), new RegExp(name), `${name}=${value}`);
  }
  assert.ok(contrastWithWhite("#b45309") >= 4.5);
  assert.ok(contrastWithWhite("#fbbf24") < 4.5);
});

test("the sender's name in mail is the shop's unless MAIL_FROM says otherwise", () => {
  assert.equal(loadConfig({ MAMORI_BRAND_NAME: "やまだ商店" }).mailFrom, '"やまだ商店" <no-reply@localhost>');
  assert.equal(loadConfig({ MAMORI_BRAND_NAME: "やまだ商店" }).passkeys.rpName, "やまだ商店");
});
