/**
 * The mails of "I can't receive my two-step codes" (docs/flows/two-step-recovery.md): the code that
 * proves the mailbox, the notice that a recovery is waiting (with its single-use cancel link), the
 * notice that it was cancelled, and the notice that two-step was turned off and should be set up
 * again. They name the shop's service plainly, never the software behind it.
 */
export type TwoStepRecoveryMail =
  | { kind: "two_step_recovery_code"; name: string; code: string; lifetimeMinutes: number }
  | {
      kind: "two_step_recovery_started";
      name: string;
      /** When two-step will be turned off, already formatted in the owner's language (Japan time). */
      completesAt: string;
      cancelUrl: string;
      /** The operator's reason when support started it; "—" when the customer did. */
      reason: string;
      startedBy: "account" | "operator";
    }
  | { kind: "two_step_recovery_cancelled"; name: string; securityUrl: string }
  | { kind: "two_step_recovery_completed"; name: string; securityUrl: string; immediate: "yes" | "no" };

export type TwoStepRecoveryCopy = { subject: string; lines: string[] };

export function twoStepRecoveryCopy(mail: TwoStepRecoveryMail, locale: "ja" | "en"): TwoStepRecoveryCopy {
  const ja = locale === "ja";
  switch (mail.kind) {
    case "two_step_recovery_code":
      return ja
        ? {
            subject: "【重要】2段階認証の解除手続きのセキュリティコード",
            lines: [
              "{name} 様",
              "2段階認証のコードを受け取れない場合の手続きを進めるには、次のセキュリティコードを入力してください。",
              "セキュリティコード: {code}",
              "このコードの有効期限は{minutes}分です。このコードを誰にも教えないでください。",
              "お心当たりがない場合は、このメールを無視し、パスワードを再設定してください。パスワードを知られている可能性があります。",
            ],
          }
        : {
            subject: "Important: your two-step recovery code",
            lines: [
              "Hello {name},",
              "To continue because you can't receive your two-step codes, enter this security code:",
              "Security code: {code}",
              "It expires in {minutes} minutes. Never share it with anyone.",
              "If this wasn't you, ignore this email and reset your password: someone may know it.",
            ],
          };
    case "two_step_recovery_started":
      return ja
        ? {
            subject: "【重要】2段階認証の解除手続きが始まりました",
            lines: [
              "{name} 様",
              mail.startedBy === "operator"
                ? "サポート担当者の操作により、お客様のアカウントの2段階認証を解除する手続きが始まりました（理由: {reason}）。"
                : "お客様のアカウントで「2段階認証のコードを受け取れない場合」の手続きが行われ、Eメールのセキュリティコードとパスワードが確認されました。",
              "{completesAt}に2段階認証が無効になり、パスワードだけでログインできるようになります。",
              "お心当たりがない場合は、すぐに次のリンクから取り消してください（1回だけ使えます）: {cancelUrl}",
              "2段階認証でログインできる端末からは、ログインとセキュリティのページでも取り消せます。2段階認証でログインすると、この手続きは自動的に取り消されます。",
            ],
          }
        : {
            subject: "Important: a two-step recovery has started",
            lines: [
              "Hello {name},",
              mail.startedBy === "operator"
                ? "Support started turning off two-step verification for your account (reason: {reason})."
                : "Someone said they can't receive the two-step codes for your account, and proved this email address and the password.",
              "On {completesAt}, two-step verification will be turned off and the password alone will sign in.",
              "If this wasn't you, cancel it now with this link (it works once): {cancelUrl}",
              "You can also cancel it on Login & security from a device that is signed in. Signing in with your two-step method cancels it too.",
            ],
          };
    case "two_step_recovery_cancelled":
      return ja
        ? {
            subject: "2段階認証の解除手続きを取り消しました",
            lines: [
              "{name} 様",
              "2段階認証の解除手続きは取り消されました。2段階認証はこれまで通り有効です。",
              "ご自身で手続きをしていない場合は、パスワードを知られている可能性があります。パスワードを変更し、ログインとセキュリティを確認してください: {securityUrl}",
            ],
          }
        : {
            subject: "The two-step recovery was cancelled",
            lines: [
              "Hello {name},",
              "The two-step recovery was cancelled. Two-step verification stays on.",
              "If you didn't start it, someone may know your password. Change it and check Login & security: {securityUrl}",
            ],
          };
    case "two_step_recovery_completed":
      return ja
        ? {
            subject: "2段階認証を無効にしました。もう一度設定してください",
            lines: [
              "{name} 様",
              mail.immediate === "yes"
                ? "サポート担当者の操作により、お客様のアカウントの2段階認証を無効にしました。"
                : "待機期間が終わったため、お客様のアカウントの2段階認証を無効にしました。",
              "コードを要求しないブラウザはすべて解除され、すべての端末からログアウトしました。",
              "次回ログインした後、2段階認証をもう一度設定してください: {securityUrl}",
              "お心当たりがない場合は、すぐにパスワードを再設定し、サポートにお問い合わせください。",
            ],
          }
        : {
            subject: "Two-step verification is off: please set it up again",
            lines: [
              "Hello {name},",
              mail.immediate === "yes"
                ? "Support turned off two-step verification for your account."
                : "The waiting period ended, so two-step verification was turned off for your account.",
              "Every trusted browser was forgotten and every device was signed out.",
              "After you next sign in, please set up two-step verification again: {securityUrl}",
              "If this wasn't you, reset your password now and contact support.",
            ],
          };
  }
}

/** The SMS that tells each of the account's mobile numbers, with the same single-use cancel link. */
export function twoStepRecoverySms(locale: "ja" | "en"): string {
  // Short: a URL and Japanese text make two or three UCS-2 segments at most.
  return locale === "ja"
    ? "【{shop}】2段階認証の解除手続きが始まりました。{completesAt}に無効になります。心当たりがなければ取り消し: {cancelUrl}"
    : "{shop}: a two-step recovery started; two-step turns off on {completesAt}. Not you? Cancel: {cancelUrl}";
}
