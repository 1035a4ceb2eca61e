import type { Locale } from "../config/config.ts";

// How a shop's permission (an OpenID Connect grant) is described, the same words wherever it is
// shown: the consent page (src/oidc/pages.ts) and Login & security -> "Apps and websites"
// (src/account/connected-apps-page.ts), through src/oidc/grant-description.ts.
//
// What the duration says is what Mamori does (src/oidc/adapter.ts, docs/integration.md): without
// `offline_access` a shop's tokens end with the sign-in they came from (signed out or expired);
// with it they end when the person signs out, outlive a sign-in that merely expires (closing the
// browser, the idle limit), and end when the person removes the shop's access.
const ja = {
  canSee: "確認できる情報",
  scopes: {
    openid: "会員ID（ログインしていること）",
    email: "Eメールアドレス",
    profile: "氏名",
    phone: "確認済みの携帯電話番号",
  } as Record<string, string>,
  durationLabel: "期間",
  untilSignOut: "ログアウトするか、ログインの有効期限が切れるまで",
  offline:
    "ログアウトするまで。ログインの有効期限が切れた後も続き、「お店・アプリ」でアクセスを削除すると終わります",
};

export type GrantText = typeof ja;

const en: GrantText = {
  canSee: "Can see",
  scopes: {
    openid: "Your account ID (that you are signed in)",
    email: "Your email address",
    profile: "Your name",
    phone: "Your verified mobile number",
  },
  durationLabel: "For how long",
  untilSignOut: "Until you sign out or your sign-in expires",
  offline:
    "Until you sign out. It continues after your sign-in expires, and ends when you remove the shop's access under Apps and websites",
};

export function grantText(locale: Locale): GrantText {
  return locale === "en" ? en : ja;
}
