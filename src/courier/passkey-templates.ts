/**
 * The mails that tell an owner about their passkeys: one added, one removed, and one refused
 * because its signature counter went backwards (a sign that the passkey may have been copied).
 */
export type PasskeyChange = "added" | "removed" | "clone_signal";

export type PasskeyCopy = { subject: string; lines: string[] };

const ja: Record<PasskeyChange, { subject: string; lines: string[] }> = {
  added: {
    subject: "パスキーを追加しました",
    lines: ["お客様のアカウントにパスキー「{passkey}」が追加されました。"],
  },
  removed: {
    subject: "パスキーを削除しました",
    lines: ["お客様のアカウントからパスキー「{passkey}」が削除されました。"],
  },
  clone_signal: {
    subject: "複製された可能性のあるパスキーでのログインを拒否しました",
    lines: [
      "パスキー「{passkey}」でのログインを拒否しました。認証器の使用回数が前回より戻っていたため、このパスキーが複製された可能性があります。",
      "このパスキーを削除し、パスワードを再設定することをお勧めします。",
    ],
  },
};

const en: Record<PasskeyChange, { subject: string; lines: string[] }> = {
  added: {
    subject: "A passkey was added",
    lines: ["The passkey “{passkey}” was added to your account."],
  },
  removed: {
    subject: "A passkey was removed",
    lines: ["The passkey “{passkey}” was removed from your account."],
  },
  clone_signal: {
    subject: "A possibly copied passkey was refused",
    lines: [
      "A sign-in with the passkey “{passkey}” was refused: its authenticator's use counter went backwards, so the passkey may have been copied.",
      "We recommend removing this passkey and resetting your password.",
    ],
  },
};

export function passkeyCopy(change: PasskeyChange, locale: "ja" | "en"): PasskeyCopy {
  const copy = (locale === "ja" ? ja : en)[change];
  return locale === "ja"
    ? {
        subject: copy.subject,
        lines: [
          "{name} 様",
          ...copy.lines,
          "お心当たりがない場合は、すぐにパスワードを再設定し、ログインとセキュリティを確認してください: {securityUrl}",
        ],
      }
    : {
        subject: copy.subject,
        lines: [
          "Hello {name},",
          ...copy.lines,
          "If this wasn't you, reset your password now and check Login & security: {securityUrl}",
        ],
      };
}
