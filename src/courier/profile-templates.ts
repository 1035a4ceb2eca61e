/**
 * The mails about the profile (氏名, Eメールアドレス, 携帯電話番号): the code that confirms a new
 * address, the "this wasn't me" mail to the old address, the undo, and a number that moved to
 * another account.
 */
export type ProfileChange = "name" | "phone_added" | "phone_removed";

export type ProfileTemplate =
  | { kind: "email_change_code"; name: string; code: string; lifetimeMinutes: number }
  /** To the owner of an address someone tried to move another account to: nothing changed. */
  | { kind: "email_change_taken"; name: string; securityUrl: string }
  /** To the old address, at once: the new one (masked) and the link that undoes it. */
  | { kind: "email_changed"; name: string; newEmail: string; undoUrl: string; days: number }
  | { kind: "email_change_undone"; name: string; resetUrl: string }
  | { kind: "profile_changed"; name: string; change: ProfileChange; phone: string; securityUrl: string }
  /** To the account a mobile number left because another account verified it (numbers are recycled). */
  | { kind: "phone_moved"; name: string; phone: string; securityUrl: string };

export type ProfileCopy = { subject: string; lines: string[] };

const notMeJa =
  "お心当たりがない場合は、すぐにパスワードを再設定し、ログインとセキュリティを確認してください: {securityUrl}";
const notMeEn = "If this wasn't you, reset your password now and check Login & security: {securityUrl}";

const changeJa: Record<ProfileChange, ProfileCopy> = {
  name: {
    subject: "氏名を変更しました",
    lines: ["{name} 様", "お客様のアカウントの氏名を「{name}」に変更しました。", notMeJa],
  },
  phone_added: {
    subject: "携帯電話番号を登録しました",
    lines: [
      "{name} 様",
      "携帯電話番号{phone}をお客様のアカウントに登録しました。この番号でログインでき、「Eメールアドレスをお忘れの場合」にも使えます。",
      notMeJa,
    ],
  },
  phone_removed: {
    subject: "携帯電話番号を削除しました",
    lines: [
      "{name} 様",
      "携帯電話番号{phone}をお客様のアカウントから削除しました。この番号ではログインできなくなりました。",
      notMeJa,
    ],
  },
};

const changeEn: Record<ProfileChange, ProfileCopy> = {
  name: {
    subject: "Your name was changed",
    lines: ["Hello {name},", "The name on your account is now “{name}”.", notMeEn],
  },
  phone_added: {
    subject: "A mobile number was added",
    lines: [
      "Hello {name},",
      "The mobile number {phone} was added to your account. You can sign in with it and use it if you forget your email address.",
      notMeEn,
    ],
  },
  phone_removed: {
    subject: "Your mobile number was removed",
    lines: [
      "Hello {name},",
      "The mobile number {phone} was removed from your account: it no longer signs you in.",
      notMeEn,
    ],
  },
};

export function profileCopy(template: ProfileTemplate, locale: "ja" | "en"): ProfileCopy {
  const ja = locale === "ja";
  switch (template.kind) {
    case "email_change_code":
      return ja
        ? {
            subject: "Eメールアドレス変更のセキュリティコード",
            lines: [
              "{name} 様",
              "Eメールアドレスの変更を完了するには、次のセキュリティコードを入力してください。",
              "セキュリティコード: {code}",
              "このコードの有効期限は{minutes}分です。このコードを誰にも教えないでください。",
              "お心当たりがない場合は、このメールを無視してください。Eメールアドレスは変更されません。",
            ],
          }
        : {
            subject: "Your code to change your email address",
            lines: [
              "Hello {name},",
              "To finish changing your email address, enter this security code:",
              "Security code: {code}",
              "It expires in {minutes} minutes. Never share it with anyone.",
              "If this wasn't you, ignore this email: nothing will change.",
            ],
          };
    case "email_change_taken":
      return ja
        ? {
            subject: "お客様のEメールアドレスへの変更が試みられました",
            lines: [
              "{name} 様",
              "別のアカウントのEメールアドレスを、お客様のEメールアドレスに変更しようとする操作がありました。このアドレスは既にお客様のアカウントで使われているため、変更はされていません。",
              "お客様のアカウントに変更はありません。ご心配な場合はログインとセキュリティを確認してください: {securityUrl}",
            ],
          }
        : {
            subject: "Someone tried to use your email address",
            lines: [
              "Hello {name},",
              "Someone tried to change another account's email address to yours. Your address already belongs to your account, so nothing was changed.",
              "Your account is unchanged. If you are worried, check Login & security: {securityUrl}",
            ],
          };
    case "email_changed":
      return ja
        ? {
            subject: "Eメールアドレスを変更しました",
            lines: [
              "{name} 様",
              "お客様のアカウントのEメールアドレスが{newEmail}に変更されました。今後のログインには新しいEメールアドレスを使います。",
              "お心当たりがない場合は、{days}日以内に次のリンクから変更を取り消してください。Eメールアドレスはこのアドレスに戻り、すべての端末からログアウトされます: {undoUrl}",
            ],
          }
        : {
            subject: "Your email address was changed",
            lines: [
              "Hello {name},",
              "The email address of your account was changed to {newEmail}. From now on you sign in with the new address.",
              "If this wasn't you, undo it within {days} days with this link: your address comes back to this one and every device is signed out: {undoUrl}",
            ],
          };
    case "email_change_undone":
      return ja
        ? {
            subject: "Eメールアドレスの変更を取り消しました",
            lines: [
              "{name} 様",
              "Eメールアドレスの変更を取り消し、このアドレスに戻しました。安全のため、すべての端末からログアウトしました。",
              "パスワードを知られている可能性があります。パスワードを再設定してください: {resetUrl}",
            ],
          }
        : {
            subject: "Your email address change was undone",
            lines: [
              "Hello {name},",
              "The change of your email address was undone: it is this address again, and every device has been signed out.",
              "Someone may know your password. Reset it now: {resetUrl}",
            ],
          };
    case "profile_changed":
      return (ja ? changeJa : changeEn)[template.change];
    case "phone_moved":
      return ja
        ? {
            subject: "携帯電話番号が別のアカウントで登録されました",
            lines: [
              "{name} 様",
              "お客様のアカウントの携帯電話番号{phone}が、SMSのセキュリティコードで別のアカウントに登録されました。携帯電話番号は解約後に別の方へ割り当てられることがあるため、この番号はお客様のアカウントから削除しました。この番号ではログインできません。",
              "今お使いの携帯電話番号は、ログインとセキュリティで登録できます: {securityUrl}",
            ],
          }
        : {
            subject: "Your mobile number was registered to another account",
            lines: [
              "Hello {name},",
              "Your account's mobile number {phone} was confirmed by another account with a text message code. Numbers are given to new people after they are cancelled, so it was removed from your account: it no longer signs you in.",
              "You can add the number you use now in Login & security: {securityUrl}",
            ],
          };
  }
}
