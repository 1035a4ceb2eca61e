/**
 * The mails that tell an owner their two-step verification changed. Every change is mailed, so a
 * change the owner did not make is noticed; each mail says how to take the account back.
 */
export type TwoStepChange =
  | "enabled"
  | "disabled"
  | "method_added"
  | "method_removed"
  | "recovery_codes_replaced"
  | "recovery_code_used"
  | "locked";

export type TwoStepCopy = { subject: string; lines: string[] };

const ja: Record<TwoStepChange, { subject: string; line: string }> = {
  enabled: {
    subject: "2段階認証を有効にしました",
    line: "お客様のアカウントで2段階認証が有効になりました。パスワードだけでログインしていた他の端末からは、安全のためログアウトしました。",
  },
  disabled: {
    subject: "2段階認証を無効にしました",
    line: "お客様のアカウントで2段階認証が無効になりました。コードを要求しないブラウザはすべて解除され、他の端末からはログアウトしました。",
  },
  method_added: {
    subject: "2段階認証の方法を追加しました",
    line: "2段階認証の方法が追加されました: {method}",
  },
  method_removed: {
    subject: "2段階認証の方法を削除しました",
    line: "2段階認証の方法が削除されました: {method}",
  },
  recovery_codes_replaced: {
    subject: "リカバリーコードを作り直しました",
    line: "新しいリカバリーコードが作成されました。以前のコードは使えません。",
  },
  recovery_code_used: {
    subject: "リカバリーコードが使われました",
    line: "お客様のアカウントでリカバリーコードが1つ使われました（ログインまたは本人確認）。残りのコード: {left}個。",
  },
  locked: {
    subject: "セキュリティコードの入力が続けて間違っていました",
    line: "お客様のアカウントへのログインで、間違ったセキュリティコードが何度も入力されたため、2段階認証を一時的に停止しました。パスワードを知っている誰かが試している可能性があります。",
  },
};

const en: Record<TwoStepChange, { subject: string; line: string }> = {
  enabled: {
    subject: "Two-step verification is on",
    line: "Two-step verification was turned on for your account. For your security, other devices that were signed in with only your password were signed out.",
  },
  disabled: {
    subject: "Two-step verification is off",
    line: "Two-step verification was turned off for your account. Every trusted device was forgotten and your other devices were signed out.",
  },
  method_added: {
    subject: "A two-step method was added",
    line: "A two-step verification method was added: {method}",
  },
  method_removed: {
    subject: "A two-step method was removed",
    line: "A two-step verification method was removed: {method}",
  },
  recovery_codes_replaced: {
    subject: "New recovery codes",
    line: "New recovery codes were made for your account. The old ones no longer work.",
  },
  recovery_code_used: {
    subject: "A recovery code was used",
    line: "A recovery code was used to sign in to your account or to confirm it's you. Codes left: {left}.",
  },
  locked: {
    subject: "Wrong security codes were entered",
    line: "Wrong security codes were entered again and again while signing in to your account, so two-step sign-in is paused for a while. Someone who knows your password may be trying.",
  },
};

export function twoStepCopy(change: TwoStepChange, locale: "ja" | "en"): TwoStepCopy {
  const copy = (locale === "ja" ? ja : en)[change];
  return locale === "ja"
    ? {
        subject: copy.subject,
        lines: [
          "{name} 様",
          copy.line,
          "お心当たりがない場合は、すぐにパスワードを再設定し、ログインとセキュリティを確認してください: {securityUrl}",
        ],
      }
    : {
        subject: copy.subject,
        lines: [
          "Hello {name},",
          copy.line,
          "If this wasn't you, reset your password now and check Login & security: {securityUrl}",
        ],
      };
}
