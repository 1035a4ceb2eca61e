/**
 * The mail an owner gets when a shop's permission to sign them in with their account here is removed
 * (Login & security -> Apps and websites), so a removal they did not make is noticed.
 */
export type ConnectedAppCopy = { subject: string; lines: string[] };

export function connectedAppRemovedCopy(locale: "ja" | "en"): ConnectedAppCopy {
  return locale === "ja"
    ? {
        subject: "お店・アプリのアクセスを削除しました",
        lines: [
          "{name} 様",
          "「{app}」が{shop}のアカウントでお客様としてログインし、お客様の情報を確認できる許可を削除しました。「{app}」からはログアウトされます。",
          "もう一度使うときは「{shop}のアカウントでログイン」を選び、改めて許可してください。",
          "お心当たりがない場合は、すぐにパスワードを再設定し、ログインとセキュリティを確認してください: {securityUrl}",
        ],
      }
    : {
        subject: "A shop's access to your account was removed",
        lines: [
          "Hello {name},",
          "“{app}” can no longer sign you in with your {shop} account or see your information, and it has been signed out.",
          "To use it again, choose “Sign in with {shop}” there and allow it again.",
          "If this wasn't you, reset your password now and check Login & security: {securityUrl}",
        ],
      };
}
