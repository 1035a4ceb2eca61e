import type { Locale } from "../config/config.ts";

// The words of Login & security -> "Apps and websites" (src/account/connected-apps-page.ts): the
// shops allowed to sign the person in with their account here, as Google's "Third-party apps with account
// access" and Amazon's "Apps and services" show them.
const ja = {
  row: "お店・アプリ",
  rowNone: "なし",
  rowCount: "{count}件",
  manage: "管理",
  manageLabel: "お店・アプリを管理",
  title: "{shop}のアカウントでログインしているお店・アプリ",
  intro:
    "「{shop}のアカウントでログイン」を許可したお店やアプリです。アクセスを削除すると、そのお店はあなたとしてログインできなくなり、あなたの情報も受け取れなくなります。次に使うときは改めて許可を求められます。",
  none: "{shop}のアカウントでのログインを許可したお店・アプリはありません。",
  allowedAt: "許可した日時: {time}",
  lastUsedAt: "最後の利用: {time}",
  neverUsed: "最後の利用: まだありません",
  remove: "アクセスを削除",
  removeLabel: "{app}のアクセスを削除",
  removed: "お店・アプリのアクセスを削除しました。確認のメールをお送りしました。",
  notFoundTitle: "このお店・アプリは見つかりません",
  back: "ログインとセキュリティへ戻る",
};

export type ConnectedAppsText = typeof ja;

const en: ConnectedAppsText = {
  row: "Apps and websites",
  rowNone: "None",
  rowCount: "{count} shop(s)",
  manage: "Manage",
  manageLabel: "Manage apps and websites",
  title: "Apps and websites you sign in to with your {shop} account",
  intro:
    "Shops and apps you have allowed to sign you in with your {shop} account. Remove one and it can no longer sign you in or receive your information; it asks for your permission again the next time you use it.",
  none: "You have not allowed any shop or app to sign you in with your {shop} account.",
  allowedAt: "Allowed: {time}",
  lastUsedAt: "Last used: {time}",
  neverUsed: "Last used: not yet",
  remove: "Remove access",
  removeLabel: "Remove access for {app}",
  removed: "The shop's access was removed. We have emailed you a confirmation.",
  notFoundTitle: "This shop or app was not found",
  back: "Back to Login & security",
};

export function connectedAppsText(locale: Locale): ConnectedAppsText {
  return locale === "en" ? en : ja;
}
