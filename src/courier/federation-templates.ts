/**
 * The mail an owner gets when a provider (LINE, Yahoo! JAPAN ID, Google…) is linked to their
 * account or unlinked from it (Login & security -> ログイン方法): a link they did not make is a
 * new way into the account, which they must hear about at once.
 */
export type FederationChange = "linked" | "unlinked";

export function federationCopy(
  change: FederationChange,
  locale: "ja" | "en",
): { subject: string; lines: string[] } {
  if (change === "linked") {
    return locale === "ja"
      ? {
          subject: "{provider}でログインできるようになりました",
          lines: [
            "{name} 様",
            "お客様のアカウントに{provider}を連携しました。今後は{provider}でログインできます。",
            "お心当たりがない場合は、すぐにログインとセキュリティで連携を解除し、パスワードを再設定してください: {securityUrl}",
          ],
        }
      : {
          subject: "You can now sign in with {provider}",
          lines: [
            "Hello {name},",
            "{provider} was linked to your account: you can now sign in with it.",
            "If this wasn't you, unlink it in Login & security and reset your password now: {securityUrl}",
          ],
        };
  }
  return locale === "ja"
    ? {
        subject: "{provider}の連携を解除しました",
        lines: [
          "{name} 様",
          "お客様のアカウントと{provider}の連携を解除しました。{provider}ではログインできなくなりました。",
          "お心当たりがない場合は、すぐにログインとセキュリティを確認してください: {securityUrl}",
        ],
      }
    : {
        subject: "{provider} was unlinked",
        lines: [
          "Hello {name},",
          "{provider} was unlinked from your account: it can no longer sign you in.",
          "If this wasn't you, check Login & security now: {securityUrl}",
        ],
      };
}
