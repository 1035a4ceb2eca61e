import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { phoneTexts } from "../config/brand-config.ts";
import type { Locale } from "../config/config.ts";
import { loadConfig } from "../config/config.ts";
import { messageSamples } from "../courier/message-samples.ts";
import { renderPhoneMessage } from "../courier/phone-templates.ts";
import { renderMessage } from "../courier/templates.ts";
import { twoStepRecoverySms } from "../courier/two-step-recovery-templates.ts";
import { describeMethod, toNoticeMethod } from "../factors/two-step/notify.ts";
import { methodName } from "../flows/two-step-settings/pages-shared.ts";
import { activityText } from "./activity-text.ts";
import { closingText } from "./closing-text.ts";
import { connectedAppsText } from "./connected-apps-text.ts";
import { consoleText } from "./console-text.ts";
import { deviceText } from "./device-text.ts";
import { errorMessages } from "./error-messages.ts";
import { federationText } from "./federation-text.ts";
import { formText } from "./form-text.ts";
import { generatorText } from "./generator-text.ts";
import { grantText } from "./grant-text.ts";
import { helpText } from "./help-text.ts";
import { maintenanceText } from "./maintenance-text.ts";
import { oidcText } from "./oidc-text.ts";
import { pageText } from "./page-text.ts";
import { passkeyText } from "./passkey-text.ts";
import { profileText } from "./profile-text.ts";
import { shopText } from "./shop-text.ts";
import { strengthText } from "./strength-text.ts";
import { twoStepText } from "./two-step-text.ts";
import { twoStepRecoveryText } from "./two-step-text-recovery.ts";

// docs/glossary.md as a test: every text a customer (or a staff member, in the console) reads, in
// both languages, uses the glossary's one word for each concept and one style of punctuation.

type Text = { where: string; text: string };

// Every *Text(locale) catalogue in src/i18n/; the file list below makes a new catalogue without an
// entry here fail "every catalogue in src/i18n is held to the glossary".
const catalogues: Record<string, (locale: Locale) => unknown> = {
  "activity-text.ts": activityText,
  "closing-text.ts": closingText,
  "connected-apps-text.ts": connectedAppsText,
  "console-text.ts": consoleText,
  "device-text.ts": deviceText,
  "error-messages.ts": (locale) => errorMessages[locale],
  "federation-text.ts": federationText,
  "form-text.ts": formText,
  "generator-text.ts": generatorText,
  "grant-text.ts": grantText,
  "help-text.ts": helpText,
  "maintenance-text.ts": maintenanceText,
  "oidc-text.ts": oidcText,
  "page-text.ts": pageText,
  "passkey-text.ts": passkeyText,
  "profile-text.ts": profileText,
  "shop-text.ts": shopText,
  "strength-text.ts": strengthText,
  "two-step-text.ts": twoStepText,
  "two-step-text-en.ts": () => twoStepText("en"),
  "two-step-text-recovery.ts": twoStepRecoveryText,
};
const notCatalogues = new Set(["locale.ts"]);

// A placeholder for a function's arguments: `${label}で` comes out as 「{arg}で」, checked as a template.
const argument = "{arg}";

function walk(value: unknown, where: string, into: Text[]): void {
  if (typeof value === "string") into.push({ where, text: value });
  else if (typeof value === "function") {
    const args = Array.from({ length: value.length }, () => argument);
    walk((value as (...args: string[]) => unknown)(...args), `${where}()`, into);
  } else if (value !== null && typeof value === "object")
    for (const [key, item] of Object.entries(value)) walk(item, `${where}.${key}`, into);
}

function catalogueTexts(locale: Locale): Text[] {
  const texts: Text[] = [];
  for (const [file, catalogue] of Object.entries(catalogues)) walk(catalogue(locale), file, texts);
  return texts;
}

const brands = loadConfig({
  MAMORI_BRAND_NAME: "テスト商店",
  MAMORI_BRAND_NAME_EN: "Test Shop",
  MAMORI_SUPPORT_URL: "https://shop.example.jp/help",
});

function mailTexts(locale: Locale): Text[] {
  const texts: Text[] = [];
  for (const template of Object.values(messageSamples).flat()) {
    const mail = renderMessage(template, locale, brands.brands[locale], brands.support);
    texts.push({ where: `mail ${template.kind} subject`, text: mail.subject });
    for (const line of mail.text.split("\n")) texts.push({ where: `mail ${template.kind}`, text: line });
  }
  return texts;
}

function phoneTextsOf(locale: Locale): Text[] {
  const texts: Text[] = [
    { where: "SMS code", text: phoneTexts.sms[locale] },
    { where: "voice code", text: phoneTexts.voice[locale] },
    { where: "SMS two-step recovery", text: twoStepRecoverySms(locale) },
  ];
  const code = { kind: "phone_code", code: "012345", lifetimeMinutes: 10 } as const;
  for (const channel of ["sms", "voice"] as const)
    texts.push({
      where: `${channel} rendered`,
      text: renderPhoneMessage(code, locale, channel, brands.brands[locale]),
    });
  return texts;
}

function scriptTexts(): Text[] {
  const texts: Text[] = [];
  for (const file of readdirSync("public").filter((name) => name.endsWith(".js"))) {
    const source = readFileSync(`public/${file}`, "utf8");
    for (const match of source.matchAll(/(["'`])((?:(?!\1)[^\\\n]|\\.)*)\1/g))
      texts.push({ where: `public/${file}`, text: match[2] ?? "" });
  }
  return texts;
}

function allTexts(locale: Locale): Text[] {
  return [...catalogueTexts(locale), ...mailTexts(locale), ...phoneTextsOf(locale)];
}

const japaneseLetter = /[\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Han}]/u;
const japanese = (texts: Text[]): Text[] => texts.filter((t) => japaneseLetter.test(t.text));

// The glossary's Japanese: the word on the left is never used; docs/glossary.md names the one to use.
const forbiddenJapanese: [RegExp, string][] = [
  [/サインイン/, "ログイン"],
  [/サインアウト/, "ログアウト"],
  [/バックアップコード/, "リカバリーコード (the backup method is バックアップ方法)"],
  [/リカバリコード/, "リカバリーコード"],
  [/デバイス/, "端末"],
  [/ブラウザー/, "ブラウザ"],
  [/信頼済み/, "コードを要求しないブラウザ"],
  [/二段階認証|２段階認証|2 段階認証/, "2段階認証"],
  [/セキュリティーコード|確認コード/, "セキュリティコード"],
];

// English: "sign in" (verb), "sign-in" (noun), "sign out", "Login & security", "security code",
// "recovery codes", "two-step verification".
const forbiddenEnglish: [RegExp, string][] = [
  [
    /\blog ?in\b(?! & security)|\blog ?out\b|\blogged (in|out)\b/i,
    "sign in / sign out (the page is Login & security)",
  ],
  [/\bsign ?on\b|\bsignin\b|\bsignout\b/i, "sign in / sign-in / sign out"],
  [/\bbackup codes?\b/i, "recovery codes (the backup method is a backup method)"],
  [/\b(two|2)[- ]factor\b|\b2FA\b|\bMFA\b|\b2-step\b/i, "two-step verification"],
  [/\bverification codes?\b|\bone-time (pass)?codes?\b|\bOTP\b/i, "security code"],
];

function problems(texts: Text[], check: (text: string) => string | null): string[] {
  return texts.flatMap(({ where, text }) => {
    const problem = check(text);
    return problem === null ? [] : [`${where}: ${problem} in 「${text}」`];
  });
}

function withoutUrls(text: string): string {
  return text.replace(/https?:\/\/\S+/g, "");
}

// Apple's guidelines require its button to read 「Appleでサインイン」, Apple's own words.
const ownWords = ["Appleでサインイン"];

test("the Japanese of every catalogue, mail, SMS and call uses the glossary's words (ログイン, never サインイン)", () => {
  const found = problems(japanese(allTexts("ja")), (text) => {
    const rest = ownWords.reduce((left, words) => left.replaceAll(words, ""), text);
    const hit = forbiddenJapanese.find(([word]) => word.test(rest));
    return hit ? `${hit[0].source} (say ${hit[1]})` : null;
  });
  assert.deepEqual(found, []);
});

test("the English of every catalogue, mail, SMS and call uses the glossary's words (sign in, recovery codes)", () => {
  const found = problems(allTexts("en"), (text) => {
    const hit = forbiddenEnglish.find(([word]) => word.test(withoutUrls(text)));
    return hit ? `${hit[0].source} (say ${hit[1]})` : null;
  });
  assert.deepEqual(found, []);
});

// Names that come from data (a browser, a passkey) keep their own brackets: 「Safari (iPhone)」.
const dataNames = ["Safari (iPhone)", "Chrome (Mac)"];

test("Japanese sentences use full-width brackets （） and question marks ？", () => {
  const found = problems(japanese(allTexts("ja")), (text) => {
    const plain = dataNames.reduce((rest, name) => rest.replaceAll(name, ""), withoutUrls(text));
    if (/[?]/.test(plain)) return "half-width ?";
    if (/[()]/.test(plain)) return "half-width ( )";
    return null;
  });
  assert.deepEqual(found, []);
});

// A person's name keeps its space before the honorific, as a letter writes it: 「{name} 様」.
const honorific = /^(様|さん)/;

test("no space between a name or placeholder and the Japanese next to it, except 「{name} 様」", () => {
  const names = ["{arg}", "山田 花子", "やまだ商店", "テスト商店", "LINE", "Safari (iPhone)", "Chrome (Mac)"];
  const found = problems(japanese(allTexts("ja")), (text) => {
    const spaced = text.match(/\{\w+\}[ \u3000]+(?=[^ \u3000])/gu) ?? [];
    for (const match of spaced) {
      const after = text.slice(text.indexOf(match) + match.length);
      if (match.startsWith("{name}") && honorific.test(after)) continue;
      if (japaneseLetter.test(after.charAt(0))) return `a space after ${match.trim()}`;
    }
    if (/[\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Han}][ \u3000]+\{\w+\}/u.test(text))
      return "a space before a placeholder";
    for (const name of names) {
      const at = text.indexOf(`${name} `);
      if (at < 0) continue;
      const after = text.slice(at + name.length).trimStart();
      if (name === "山田 花子" && honorific.test(after)) continue;
      if (japaneseLetter.test(after.charAt(0))) return `a space after ${name}`;
    }
    return null;
  });
  assert.deepEqual(found, []);
});

test("masked phone numbers are written one way: ***-****-5678", () => {
  const found = problems([...allTexts("ja"), ...allTexts("en")], (text) => {
    const masks = text.match(/[+＋]?[*＊][*＊\-\d]*/g) ?? [];
    const odd = masks.filter((mask) => !/^\*{2,3}-\*{4}-\d{4}$/.test(mask) && /\d{4}$/.test(mask));
    return odd.length > 0 ? `masked as ${odd.join(", ")}` : null;
  });
  assert.deepEqual(found, []);
});

// The source of every queueMessage(…) call: what a mail or SMS is given to show.
function queuedMessages(source: string): string[] {
  const calls: string[] = [];
  for (let at = source.indexOf("queueMessage("); at >= 0; at = source.indexOf("queueMessage(", at + 1)) {
    let depth = 0;
    let end = at + "queueMessage".length;
    do {
      const c = source[end];
      if (c === "(") depth++;
      else if (c === ")") depth--;
      end++;
    } while (depth > 0 && end < source.length);
    calls.push(source.slice(at, end));
  }
  return calls;
}

test("mails and texts show a phone number masked only by maskedPhone (src/views/phone-number.ts)", () => {
  // maskPhone writes `+**********5678`; mails must show `***-****-5678`, as the pages do. maskPhone
  // stays for the JSON API's fields, whose format is part of the public contract.
  const offenders = readdirSync("src", { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts") && !file.endsWith(".test.ts"))
    .filter((file) =>
      queuedMessages(readFileSync(`src/${file}`, "utf8")).some((call) => /\bmaskPhone\(/.test(call)),
    );
  assert.deepEqual(offenders, []);
});

test("the customer-facing strings of public/*.js use the glossary's words", () => {
  const found = problems(scriptTexts(), (text) => {
    const hit =
      forbiddenJapanese.find(([word]) => word.test(text)) ??
      forbiddenEnglish.find(([word]) => word.test(withoutUrls(text)));
    return hit ? `${hit[0].source} (say ${hit[1]})` : null;
  });
  assert.deepEqual(found, []);
});

test("every catalogue in src/i18n is held to the glossary", () => {
  const files = readdirSync("src/i18n").filter(
    (file) => file.endsWith(".ts") && !file.endsWith(".test.ts") && !notCatalogues.has(file),
  );
  assert.deepEqual(files.sort(), Object.keys(catalogues).sort());
});

test("a two-step mail names a phone method as the pages do: 「SMS（***-****-5678）」", () => {
  // Before, the mail said 「SMS (+********5678)」: the JSON API's mask, beside the pages' ***-****-5678.
  const sms = toNoticeMethod({ id: "m1", method: "sms", phone: "+819012345678" });
  assert.equal(describeMethod(sms, "ja"), "SMS（***-****-5678）");
  assert.equal(describeMethod(sms, "en"), "text message (***-****-5678)");
  assert.equal(describeMethod(toNoticeMethod({ id: "m2", method: "totp", phone: null }), "ja"), "認証アプリ");
  // The pages name it the same way (before: 「SMS(***-****-5678)」 with half-width brackets).
  assert.equal(methodName("ja", { method: "sms", phone: "+819012345678" }), "SMS（***-****-5678）");
});
