import type { Locale } from "../config/config.ts";

// zxcvbn-ts answers with keys (`topTen`, `useWords`); these are the words for them. The package's
// own Japanese is machine-like (「一般的に使用されるパスワードです」 for the ten most used), so the
// Japanese here is written for the shop's customers, in the pages' polite style.

export type StrengthWarningKey =
  | "straightRow"
  | "keyPattern"
  | "simpleRepeat"
  | "extendedRepeat"
  | "sequences"
  | "recentYears"
  | "dates"
  | "topTen"
  | "topHundred"
  | "common"
  | "similarToCommon"
  | "wordByItself"
  | "namesByThemselves"
  | "commonNames"
  | "userInputs"
  | "pwned";

export type StrengthSuggestionKey =
  | "l33t"
  | "reverseWords"
  | "allUppercase"
  | "capitalization"
  | "dates"
  | "recentYears"
  | "associatedYears"
  | "sequences"
  | "repeated"
  | "longerKeyboardPattern"
  | "anotherWord"
  | "useWords"
  | "noNeed"
  | "pwned";

type StrengthText = {
  /** By the meter's level, 0 to 4 (strength-scale.ts: the crack time's band). */
  labels: readonly [string, string, string, string, string];
  /** Instead of the score's label when the policy refuses the password (its reason follows). */
  refused: string;
  /** Around the crack time on the page: `{time}` is `crackTime.display`. */
  crackTime: string;
  warnings: Record<StrengthWarningKey, string>;
  suggestions: Record<StrengthSuggestionKey, string>;
  durations: {
    lessThanSecond: string;
    seconds: string;
    minutes: string;
    hours: string;
    days: string;
    months: string;
    years: string;
    centuries: string;
  };
};

const ja: StrengthText = {
  labels: ["とても弱い", "弱い", "普通", "強い", "とても強い"],
  refused: "このパスワードは使えません",
  crackTime: "破られるまでの目安: {time}",
  warnings: {
    straightRow: "キーボードで一列に並んだキーは推測されやすいです。",
    keyPattern: "短いキーボードのパターンは推測されやすいです。",
    simpleRepeat: "「aaa」のような同じ文字の繰り返しは推測されやすいです。",
    extendedRepeat: "「abcabcabc」のような文字列の繰り返しは推測されやすいです。",
    sequences: "「abc」や「123」のような並びは推測されやすいです。",
    recentYears: "最近の年は推測されやすいです。",
    dates: "日付は推測されやすいです。",
    topTen: "非常によく使われているパスワードです。",
    topHundred: "とてもよく使われているパスワードです。",
    common: "よく使われているパスワードです。",
    similarToCommon: "よく使われているパスワードに似ています。",
    wordByItself: "単語ひとつだけでは推測されやすいです。",
    namesByThemselves: "名前や名字だけでは推測されやすいです。",
    commonNames: "よくある名前や名字は推測されやすいです。",
    userInputs: "氏名やEメールアドレスなど、ご本人に関する言葉は含めないでください。",
    pwned: "このパスワードは過去にインターネット上に流出しています。",
  },
  suggestions: {
    l33t: "「a」を「@」にするような、予想しやすい文字の置き換えは避けてください。",
    reverseWords: "よくある単語を逆から書くのは避けてください。",
    allUppercase: "すべてではなく、一部の文字だけを大文字にしてください。",
    capitalization: "先頭以外の文字にも大文字を使ってください。",
    dates: "ご自身に関係する日付や年は避けてください。",
    recentYears: "最近の年は避けてください。",
    associatedYears: "ご自身に関係する年は避けてください。",
    sequences: "よくある文字の並びは避けてください。",
    repeated: "単語や文字の繰り返しは避けてください。",
    longerKeyboardPattern: "キーボードのパターンを使うなら、長くして、打つ向きを何度も変えてください。",
    anotherWord: "あまり使われない単語を足してください。",
    useWords: "いくつかの単語を組み合わせてください。よくあるフレーズは避けてください。",
    noNeed: "記号や数字、大文字を使わなくても、強いパスワードは作れます。",
    pwned: "このパスワードを他のサービスで使っている場合は、変更してください。",
  },
  durations: {
    lessThanSecond: "1秒未満",
    seconds: "{n}秒",
    minutes: "{n}分",
    hours: "{n}時間",
    days: "{n}日",
    months: "{n}か月",
    years: "{n}年",
    centuries: "数世紀",
  },
};

const en: StrengthText = {
  labels: ["Very weak", "Weak", "Fair", "Strong", "Very strong"],
  refused: "This password can't be used",
  crackTime: "Time to crack, roughly: {time}",
  warnings: {
    straightRow: "Straight rows of keys on your keyboard are easy to guess.",
    keyPattern: "Short keyboard patterns are easy to guess.",
    simpleRepeat: 'Repeated characters like "aaa" are easy to guess.',
    extendedRepeat: 'Repeated character patterns like "abcabcabc" are easy to guess.',
    sequences: 'Common character sequences like "abc" or "123" are easy to guess.',
    recentYears: "Recent years are easy to guess.",
    dates: "Dates are easy to guess.",
    topTen: "This is a heavily used password.",
    topHundred: "This is a frequently used password.",
    common: "This is a commonly used password.",
    similarToCommon: "This is similar to a commonly used password.",
    wordByItself: "Single words are easy to guess.",
    namesByThemselves: "Single names or surnames are easy to guess.",
    commonNames: "Common names and surnames are easy to guess.",
    userInputs: "Don't use your name, your email address or other words about you.",
    pwned: "This password has been exposed in a data breach on the Internet.",
  },
  suggestions: {
    l33t: "Avoid predictable letter substitutions like '@' for 'a'.",
    reverseWords: "Avoid reversed spellings of common words.",
    allUppercase: "Capitalize some, but not all letters.",
    capitalization: "Capitalize more than the first letter.",
    dates: "Avoid dates and years that are associated with you.",
    recentYears: "Avoid recent years.",
    associatedYears: "Avoid years that are associated with you.",
    sequences: "Avoid common character sequences.",
    repeated: "Avoid repeated words and characters.",
    longerKeyboardPattern: "Use longer keyboard patterns and change typing direction multiple times.",
    anotherWord: "Add more words that are less common.",
    useWords: "Use several words, but avoid common phrases.",
    noNeed: "You can create strong passwords without using symbols, numbers, or uppercase letters.",
    pwned: "If you use this password elsewhere, change it there too.",
  },
  durations: {
    lessThanSecond: "less than a second",
    seconds: "{n} seconds",
    minutes: "{n} minutes",
    hours: "{n} hours",
    days: "{n} days",
    months: "{n} months",
    years: "{n} years",
    centuries: "centuries",
  },
};

export function strengthText(locale: Locale): StrengthText {
  return locale === "en" ? en : ja;
}

function isKeyOf<K extends string>(table: Record<K, string>, key: string): key is K {
  return Object.hasOwn(table, key);
}

/** zxcvbn's warning key in words; null for no warning (or a key this table does not know yet). */
export function strengthWarning(key: string | null, locale: Locale): string | null {
  const table = strengthText(locale).warnings;
  return key !== null && isKeyOf(table, key) ? table[key] : null;
}

/** zxcvbn's suggestion keys in words, in zxcvbn's order (the first is the most useful). */
export function strengthSuggestions(keys: readonly string[], locale: Locale): string[] {
  const table = strengthText(locale).suggestions;
  return keys.flatMap((key) => (isKeyOf(table, key) ? [table[key]] : []));
}

const minute = 60;
const hour = 60 * minute;
const day = 24 * hour;
// zxcvbn's own units: a month of 31 days, a year of 12 such months.
const month = 31 * day;
const year = 12 * month;
const century = 100 * year;
const units = [
  ["years", year],
  ["months", month],
  ["days", day],
  ["hours", hour],
  ["minutes", minute],
  ["seconds", 1],
] as const;

/**
 * A crack time as people say it, rounded to its largest whole unit as zxcvbn does: "3 hours",
 * 「3時間」. English has "1 hour", not "1 hours"; Japanese has no plural.
 */
export function crackTimeDisplay(seconds: number, locale: Locale): string {
  const words = strengthText(locale).durations;
  if (seconds < 1) return words.lessThanSecond;
  if (seconds >= century) return words.centuries;
  const [unit, size] = units.find(([, size]) => seconds >= size) ?? ["seconds", 1];
  const n = Math.round(seconds / size);
  const text = words[unit].replace("{n}", String(n));
  // "1 seconds" -> "1 second": only English has a plural, and only "s" at the end.
  return locale === "en" && n === 1 ? text.replace(/s$/, "") : text;
}
