/**
 * Mails about what the shop's support staff did to an account, from the operator console. The
 * reason the staff member gave is in every one: a change the owner cannot explain is the next call.
 */
export type StaffCopy = { subject: string; lines: string[] };

export function signedOutBySupportCopy(locale: "ja" | "en"): StaffCopy {
  return locale === "ja"
    ? {
        subject: "サポート担当者がすべての端末からログアウトしました",
        lines: [
          "{name} 様",
          "ショップのサポート担当者が、お客様のアカウントをすべての端末からログアウトしました。もう一度ログインしてご利用ください。",
          "理由: {reason}",
          "お心当たりがない場合は、パスワードを再設定し、ショップのサポートにお問い合わせください: {resetUrl}",
        ],
      }
    : {
        subject: "Support signed your account out everywhere",
        lines: [
          "Hello {name},",
          "The shop's support team signed your account out on every device. Sign in again to go on.",
          "Reason: {reason}",
          "If you did not ask for this, reset your password and contact the shop's support: {resetUrl}",
        ],
      };
}
