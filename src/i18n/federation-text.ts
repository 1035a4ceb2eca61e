import type { Locale } from "../config/config.ts";
import type { FederationRefusal } from "../federation/federation-flow.ts";

// What the social sign-in buttons and pages say. ログイン, never サインイン (the seed article's words).
const ja = {
  or: "または",
  /**
   * Each provider's own wording for its button (LINE, Yahoo! JAPAN and Google's button rules);
   * Apple's guidelines fix its title, 「Appleでサインイン」, the one サインイン in new text.
   */
  button: (label: string): string => (label === "Apple" ? "Appleでサインイン" : `${label}でログイン`),
  signUpButton: (label: string): string => `${label}で登録`,
  failedTitle: "ログインできませんでした",
  backToSignIn: "ログインページへ戻る",
  refusals: {
    flow_not_found:
      "このログインの手続きは見つからないか、期限が切れているか、別のブラウザで始められたものです。もう一度ログインしてください。",
    cancelled:
      "ログインがキャンセルされました。もう一度お試しいただくか、Eメールアドレスとパスワードでログインしてください。",
    refused: "ログインサービスからの応答を確認できませんでした。もう一度お試しください。",
    unavailable: "ログインサービスに接続できません。しばらくしてからもう一度お試しください。",
    email_in_use:
      "このEメールアドレスのアカウントは既にあります。まずEメールアドレスとパスワード（またはパスキー）でログインし、「ログインとセキュリティ」→「ログイン方法」から連携してください。",
    identity_in_use: "このアカウントは既に別のアカウントと連携されています。",
    account_suspended: "このアカウントは停止されています。お問い合わせください。",
    account_closed: "このアカウントは閉鎖されています。",
    country_not_allowed: "お住まいの地域からはログインできません。",
    too_many_attempts: "試行回数が多すぎます。しばらくしてからもう一度お試しください。",
  } satisfies Record<FederationRefusal, string>,
  emailTitle: "Eメールアドレスを確認",
  emailIntro: (label: string): string =>
    `${label}からEメールアドレスを受け取れなかったか、確認済みのアドレスではありませんでした。ご連絡に使うEメールアドレスを入力してください。セキュリティコードをお送りします。`,
  email: "Eメールアドレス",
  sendCode: "セキュリティコードを送信",
  codeTitle: "セキュリティコードを入力",
  codeIntro: (email: string): string => `${email}に6桁のセキュリティコードを送信しました。`,
  code: "セキュリティコード",
  verify: "確認してアカウントを作成",
  otherEmail: "別のEメールアドレスを使う",
  methodsTitle: "ログイン方法",
  methodsIntro: "このアカウントにログインする方法です。最後の1つは削除・解除できません。",
  password: "パスワード",
  passwordSet: "設定済み",
  passwordNone: "未設定",
  addPassword: "パスワードを設定",
  passkeys: "パスキー",
  passkeyCount: (n: number): string => `${n}個`,
  linked: "連携済み",
  linkedAt: (time: string): string => `連携日時: ${time}`,
  lastUsedAt: (time: string): string => `最終使用日時: ${time}`,
  link: (label: string): string => `${label}と連携`,
  unlink: "連携を解除",
  unlinkLabel: (label: string): string => `${label}の連携を解除`,
  doneLinked: "連携しました。",
  doneUnlinked: "連携を解除しました。",
  lastWayIn:
    "これがこのアカウントにログインする最後の方法のため、解除できません。先にパスワードかパスキーを設定してください。",
  recentSignInNeeded: "この操作の前に、もう一度ログインしてください。",
  back: "ログインとセキュリティへ戻る",
  reauthWith: (label: string): string => `${label}で本人確認`,
  addPasswordTitle: "パスワードを設定",
  addPasswordIntro:
    "パスワードを設定すると、Eメールアドレスとパスワードでもログインできます。連携したサービスを使えなくなったときの備えにもなります。",
  newPassword: "新しいパスワード",
  newPasswordHint: (min: number): string =>
    `${min}文字以上。長いフレーズがおすすめです。氏名やEメールアドレスは使えません。`,
  submitPassword: "パスワードを設定",
  donePassword: "パスワードを設定しました。",
  noProviders: "連携できるサービスはありません。",
  methodsSummary: "パスワード・パスキー・連携サービス",
  manage: "管理",
  manageLabel: "ログイン方法を管理",
};

type FederationText = typeof ja;

const en: FederationText = {
  or: "or",
  button: (label) => `Sign in with ${label}`,
  signUpButton: (label) => `Sign up with ${label}`,
  failedTitle: "We couldn't sign you in",
  backToSignIn: "Back to sign-in",
  refusals: {
    flow_not_found:
      "This sign-in was not found, has expired, or was started in another browser. Please sign in again.",
    cancelled: "The sign-in was cancelled. Try again, or sign in with your email and password.",
    refused: "We couldn't check the answer from the sign-in service. Please try again.",
    unavailable: "The sign-in service cannot be reached. Please try again later.",
    email_in_use:
      "An account with this email address already exists. Sign in to it first with your email and password (or a passkey), then link it in Login & security → Ways to sign in.",
    identity_in_use: "This account is already linked to another account.",
    account_suspended: "This account is suspended. Please contact us.",
    account_closed: "This account is closed.",
    country_not_allowed: "Sign-in is not available from your region.",
    too_many_attempts: "Too many attempts. Please try again later.",
  },
  emailTitle: "Confirm your email address",
  emailIntro: (label) =>
    `${label} gave us no email address, or one it has not verified. Enter the email address we should use; we'll send you a security code.`,
  email: "Email address",
  sendCode: "Send a security code",
  codeTitle: "Enter the security code",
  codeIntro: (email) => `We sent a 6-digit security code to ${email}.`,
  code: "Security code",
  verify: "Confirm and create the account",
  otherEmail: "Use another email address",
  methodsTitle: "Ways to sign in",
  methodsIntro: "How you can sign in to this account. The last one cannot be removed.",
  password: "Password",
  passwordSet: "Set",
  passwordNone: "Not set",
  addPassword: "Set a password",
  passkeys: "Passkeys",
  passkeyCount: (n) => `${n}`,
  linked: "Linked",
  linkedAt: (time) => `Linked: ${time}`,
  lastUsedAt: (time) => `Last used: ${time}`,
  link: (label) => `Link ${label}`,
  unlink: "Unlink",
  unlinkLabel: (label) => `Unlink ${label}`,
  doneLinked: "Linked.",
  doneUnlinked: "Unlinked.",
  lastWayIn:
    "This is the last way to sign in to this account, so it cannot be unlinked. Set a password or add a passkey first.",
  recentSignInNeeded: "Please sign in again before this change.",
  back: "Back to Login & security",
  reauthWith: (label) => `Confirm with ${label}`,
  addPasswordTitle: "Set a password",
  addPasswordIntro:
    "With a password you can also sign in with your email address and password, and keep a way in if you lose the linked service.",
  newPassword: "New password",
  newPasswordHint: (min) =>
    `At least ${min} characters. A long phrase is best. Not your name or email address.`,
  submitPassword: "Set the password",
  donePassword: "Your password is set.",
  noProviders: "No services can be linked.",
  methodsSummary: "Password, passkeys, linked services",
  manage: "Manage",
  manageLabel: "Manage ways to sign in",
};

export function federationText(locale: Locale): FederationText {
  return locale === "ja" ? ja : en;
}
