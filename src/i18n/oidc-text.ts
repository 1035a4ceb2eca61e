import type { Locale } from "../config/config.ts";

// The words of the "Sign in with {shop}" pages (src/oidc/pages.ts): consent, two-step required,
// sign out from a shop. The shop's name is the operator's `clients create --name`.
const ja = {
  consent: {
    title: "{client}にログイン",
    intro: "{client}が次の情報を求めています。",
    signedInAs: "{email}としてログインしています。",
    allow: "許可してログイン",
    deny: "キャンセル",
    notYou: "別のアカウントを使う",
  },
  twoStepRequired: {
    title: "2段階認証が必要です",
    intro:
      "{client}にログインするには、2段階認証（セキュリティコードによる本人確認）を有効にする必要があります。",
    setUp: "2段階認証を設定する",
    afterSetUp: "設定が終わったら、{client}でもう一度「{shop}のアカウントでログイン」を選んでください。",
    cancel: "{client}に戻る",
  },
  signOut: {
    title: "ログアウト",
    intro: "{client}からログアウトします。",
    introNoClient: "ログアウトします。",
    everywhere: "{shop}からもログアウトする",
    onlyShop: "このお店からだけログアウトする",
    done: "ログアウトしました。",
    back: "続ける",
  },
  error: {
    title: "ログインを続けられませんでした",
    intro: "お店から届いた依頼に問題がありました。お店のページに戻って、もう一度お試しください。",
    code: "エラーコード: {code}",
  },
  continuing: {
    title: "{client}に戻ります",
    link: "続ける",
  },
  aShop: "お店",
};

type OidcText = typeof ja;

const en: OidcText = {
  consent: {
    title: "Sign in to {client}",
    intro: "{client} is asking for:",
    signedInAs: "You are signed in as {email}.",
    allow: "Allow and sign in",
    deny: "Cancel",
    notYou: "Use another account",
  },
  twoStepRequired: {
    title: "Two-step verification is required",
    intro: "To sign in to {client}, turn on two-step verification (a code that proves it's you) first.",
    setUp: "Set up two-step verification",
    afterSetUp: 'When it is on, choose "Sign in with {shop}" at {client} again.',
    cancel: "Back to {client}",
  },
  signOut: {
    title: "Sign out",
    intro: "You are signing out of {client}.",
    introNoClient: "You are signing out.",
    everywhere: "Sign out of {shop} too",
    onlyShop: "Sign out of this shop only",
    done: "You have signed out.",
    back: "Continue",
  },
  error: {
    title: "The sign-in could not continue",
    intro: "The request from the shop had a problem. Go back to the shop's page and try again.",
    code: "Error code: {code}",
  },
  continuing: {
    title: "Returning to {client}",
    link: "Continue",
  },
  aShop: "the shop",
};

export function oidcText(locale: Locale): OidcText {
  return locale === "en" ? en : ja;
}
