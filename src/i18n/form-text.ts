import type { Locale } from "../config/config.ts";
import type { ErrorCode } from "../http/errors.ts";

/**
 * The words every form shares: the 表示 toggle of a password field, the reminder after a suggested
 * password is used, the error summary's heading when the problem is not a typing mistake, what to
 * say about full-width input, and the way to the "why can't I log in" page.
 */
export type FormText = {
  show: string;
  showPassword: string;
  generatedSave: string;
  headings: { wait: string; suspended: string; closed: string; country: string; expired: string };
  halfWidthEmail: string;
  halfWidthPhone: string;
  halfWidthCode: string;
  helpLink: string;
  /** What an empty field asks for, by the field's name (the forms' and the JSON API's). */
  missing: {
    identifier: string;
    password: string;
    currentPassword: string;
    newPassword: string;
    name: string;
    email: string;
    code: string;
  };
};

const ja: FormText = {
  show: "表示",
  showPassword: "パスワードを表示",
  generatedSave:
    "提案されたパスワードを入力しました。パスワードマネージャーに保存するか、安全な場所に控えてから次に進んでください。",
  headings: {
    wait: "しばらくしてからもう一度お試しください",
    suspended: "このアカウントは停止されています",
    closed: "このアカウントは閉鎖されています",
    country: "この国・地域からはログインできません",
    expired: "手続きの有効期限が切れたか、見つかりません",
  },
  halfWidthEmail: "Eメールアドレスは半角で入力してください（例: taro@example.jp）。",
  halfWidthPhone: "携帯電話番号は半角数字で入力してください（例: 090-1234-5678）。",
  halfWidthCode: "セキュリティコードは半角数字で入力してください。",
  helpLink: "ログインできない場合",
  missing: {
    identifier: "Eメールアドレスまたは携帯電話番号を入力してください。",
    password: "パスワードを入力してください。",
    currentPassword: "現在のパスワードを入力してください。",
    newPassword: "新しいパスワードを入力してください。",
    name: "氏名を入力してください。",
    email: "Eメールアドレスを入力してください。",
    code: "セキュリティコードを入力してください。",
  },
};

const en: FormText = {
  show: "Show",
  showPassword: "Show password",
  generatedSave:
    "The suggested password has been filled in. Save it in your password manager or note it somewhere safe before you continue.",
  headings: {
    wait: "Please wait a moment and try again",
    suspended: "This account is suspended",
    closed: "This account is closed",
    country: "Sign-in isn't available from this country or region",
    expired: "This has expired or was not found",
  },
  halfWidthEmail: "Type the email address in half-width characters (for example taro@example.jp).",
  halfWidthPhone: "Type the mobile number in half-width digits (for example 090-1234-5678).",
  halfWidthCode: "Type the security code in half-width digits.",
  helpLink: "Can't sign in?",
  missing: {
    identifier: "Enter your email address or mobile number.",
    password: "Enter your password.",
    currentPassword: "Enter your current password.",
    newPassword: "Enter a new password.",
    name: "Enter your name.",
    email: "Enter your email address.",
    code: "Enter the security code.",
  },
};

export function formText(locale: Locale): FormText {
  return locale === "en" ? en : ja;
}

type HeadingKind = keyof FormText["headings"];

// Problems that are not a mistake in what was typed, each with the heading that says what happened.
const headingOf: Partial<Record<ErrorCode, HeadingKind>> = {
  too_many_attempts: "wait",
  throttle_unavailable: "wait",
  database_unavailable: "wait",
  account_suspended: "suspended",
  account_closed: "closed",
  country_not_allowed: "country",
  code_expired: "expired",
  challenge_expired: "expired",
  challenge_not_found: "expired",
  registration_not_found: "expired",
  password_reset_not_found: "expired",
  email_reminder_not_found: "expired",
  enrollment_not_found: "expired",
  profile_change_not_found: "expired",
  two_step_recovery_not_found: "expired",
  undo_link_invalid: "expired",
};

/** The error summary's heading for this problem, or undefined for an input mistake (the usual heading). */
export function problemHeading(locale: Locale, code: ErrorCode | undefined): string | undefined {
  const kind = code === undefined ? undefined : headingOf[code];
  return kind === undefined ? undefined : formText(locale).headings[kind];
}

// Anything outside printable ASCII once NFKC has made full-width letters and digits half-width:
// kana, kanji, 。 and other marks a Japanese keyboard types that have no half-width form.
const notHalfWidth = /[^\x20-\x7e]/;

/** True when input is still not half-width after NFKC, so 「半角で入力してください」 explains the refusal. */
export function hasNonHalfWidth(input: string): boolean {
  return notHalfWidth.test(input.normalize("NFKC"));
}

/** The message for an empty `field`, or undefined for a field this table does not know. */
export function missingFieldMessage(locale: Locale, field: string): string | undefined {
  const missing: Record<string, string> = formText(locale).missing;
  return Object.hasOwn(missing, field) ? missing[field] : undefined;
}

/**
 * What is wrong with a typed security code before it is checked (and before it spends a try):
 * empty, or holding characters with no half-width form (一二三, kana) once NFKC has read
 * １２３４５６ as 123456. Undefined when the code can be checked.
 */
export function codeSlip(locale: Locale, code: string): string | undefined {
  if (code.trim() === "") return formText(locale).missing.code;
  return hasNonHalfWidth(code.replace(/[\s\u3000]/g, "")) ? formText(locale).halfWidthCode : undefined;
}

/**
 * 「半角で入力してください」 for an identifier that is neither an address nor a number because it
 * is not half-width even after NFKC (。 for ., kanji digits); undefined when that is not why.
 */
export function notHalfWidthIdentifier(locale: Locale, identifier: string): string | undefined {
  if (!hasNonHalfWidth(identifier.trim())) return undefined;
  const t = formText(locale);
  return identifier.normalize("NFKC").includes("@") ? t.halfWidthEmail : t.halfWidthPhone;
}
