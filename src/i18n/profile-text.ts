import type { Locale } from "../config/config.ts";

// The words of the profile pages (氏名, Eメールアドレス, 携帯電話番号), the undo page and the welcome
// after registration. ログイン, never サインイン, in new text.

const ja = {
  editName: "氏名を編集",
  editEmail: "Eメールアドレスを編集",
  editPhone: "携帯電話番号を編集",
  // The 追加 link's name when no number is registered: it must contain the word it shows (WCAG 2.5.3).
  addPhone: "携帯電話番号を追加",
  add: "追加",
  name: {
    title: "氏名の変更",
    label: "氏名",
    hint: "100文字以内",
    submit: "変更を保存",
    done: "氏名を変更しました。",
  },
  email: {
    title: "Eメールアドレスの変更",
    current: "現在のEメールアドレス: {email}",
    intro:
      "新しいEメールアドレスにセキュリティコードを送信します。コードを入力すると変更が完了し、以後のログインには新しいEメールアドレスを使います。",
    notice:
      "変更後、現在のEメールアドレスにお知らせをお送りします。お心当たりがない場合は、そのメールのリンクから{days}日以内に変更を取り消せます。",
    label: "新しいEメールアドレス",
    submit: "続行",
    verifyTitle: "セキュリティコードを入力",
    verifyIntro:
      "{email}にセキュリティコードを送信しました。メールに記載された6桁のコードを入力してください。",
    verifyNote: "このEメールアドレスが別のアカウントで使われている場合、コードは届かず、変更はできません。",
    code: "セキュリティコード",
    verifySubmit: "Eメールアドレスを変更",
    startAgain: "別のEメールアドレスを入力",
    done: "Eメールアドレスを変更しました。以前のEメールアドレスにお知らせをお送りしました。",
  },
  phone: {
    title: "携帯電話番号",
    uses: "携帯電話番号は、Eメールアドレスの代わりにログインするときと、「Eメールアドレスをお忘れの場合」にEメールアドレスを確認するときに使います。",
    sms: "登録・変更・削除には、SMS（テキストメッセージ）で届くセキュリティコードが必要です。SMSを受け取れる携帯電話の番号（060・070・080・090で始まる番号）のみ登録できます。",
    current: "現在の携帯電話番号: {phone}",
    none: "携帯電話番号は登録されていません。",
    twoStepNote:
      "この番号は2段階認証（SMS）の設定で登録されたものです。アカウントの携帯電話番号として残すには、同じ番号を下に入力して確認してください。確認しない場合、2段階認証からこの番号を削除するとログインには使えなくなります。",
    label: "新しい携帯電話番号",
    labelAdd: "携帯電話番号",
    hint: "例: 090-1234-5678",
    submit: "SMSでコードを送信",
    removeTitle: "携帯電話番号を削除",
    removeHint:
      "削除すると、この番号ではログインできなくなります。確認のため、この番号にSMSでセキュリティコードを送信します。",
    remove: "削除するためにコードを送信",
    noSms:
      "この番号ではSMSを受け取れません。050で始まるIP電話や固定電話にはSMSが届かないため、携帯電話の番号（060・070・080・090）を入力してください。",
    verifyTitle: "セキュリティコードを入力",
    verifyIntro: "{phone}にSMSでセキュリティコードを送信しました。6桁のコードを入力してください。",
    verifyRemoveIntro:
      "{phone}にSMSでセキュリティコードを送信しました。削除するには6桁のコードを入力してください。",
    verifySubmit: "確認",
    done: "携帯電話番号を登録しました。",
    removed: "携帯電話番号を削除しました。",
  },
  undo: {
    title: "Eメールアドレスの変更の取り消し",
    intro:
      "アカウントのEメールアドレスが{newEmail}に変更されました。お心当たりがない場合は、変更を取り消してください。",
    effects:
      "Eメールアドレスは{oldEmail}に戻り、すべての端末からログアウトされます。その後、パスワードを再設定してください。",
    submit: "変更を取り消す",
    done: "Eメールアドレスを{email}に戻し、すべての端末からログアウトしました。パスワードを知られている可能性があるため、パスワードを再設定してください。",
    reset: "パスワードを再設定",
    invalid: "このリンクは期限が切れているか、既に使われています。",
    signIn: "ログイン",
  },
  welcome: {
    title: "アカウントを作成しました",
    hello: "{name} 様、ようこそ。",
    intro: "アカウントをより安全に守るために、次の設定をおすすめします。",
    twoStep: "2段階認証を設定する",
    twoStepHint:
      "パスワードが知られても、スマートフォンに届くセキュリティコードがなければログインできません。",
    passkey: "パスキーを追加する",
    passkeyHint: "指紋・顔認証・画面ロックでログインできます。パスワードより安全で簡単です。",
    phone: "携帯電話番号を登録する",
    phoneHint: "携帯電話番号でログインでき、Eメールアドレスを忘れたときにも確認できます。",
    later: "あとで設定する",
  },
  changeEmail: "Eメールアドレスを変更",
};

export type ProfileText = typeof ja;

const en: ProfileText = {
  editName: "Edit name",
  editEmail: "Edit email",
  editPhone: "Edit mobile number",
  addPhone: "Add a mobile number",
  add: "Add",
  name: {
    title: "Change your name",
    label: "Name",
    hint: "Up to 100 characters",
    submit: "Save",
    done: "Your name was changed.",
  },
  email: {
    title: "Change your email address",
    current: "Current email address: {email}",
    intro:
      "We'll send a security code to the new address. Entering it finishes the change; from then on you sign in with the new address.",
    notice:
      "We'll tell your current address afterwards. If it wasn't you, the link in that mail undoes the change within {days} days.",
    label: "New email address",
    submit: "Continue",
    verifyTitle: "Enter the security code",
    verifyIntro: "We sent a security code to {email}. Enter the 6 digits from the mail.",
    verifyNote: "If this address is used by another account, no code arrives and it can't be used.",
    code: "Security code",
    verifySubmit: "Change email address",
    startAgain: "Enter a different address",
    done: "Your email address was changed. We told your previous address.",
  },
  phone: {
    title: "Mobile number",
    uses: "Your mobile number signs you in instead of your email address, and finds your email address when you forget it.",
    sms: "Adding, changing or removing it takes a security code by text message (SMS): only mobile numbers (starting 060, 070, 080 or 090) can be added.",
    current: "Current mobile number: {phone}",
    none: "No mobile number added.",
    twoStepNote:
      "This number was added by setting up two-step verification by SMS. To keep it as your account's number, enter it below and confirm it; otherwise it stops signing you in when it is removed from two-step verification.",
    label: "New mobile number",
    labelAdd: "Mobile number",
    hint: "For example 090-1234-5678",
    submit: "Text me a code",
    removeTitle: "Remove the mobile number",
    removeHint: "Once removed, the number no longer signs you in. To confirm, we text a security code to it.",
    remove: "Text a code to remove it",
    noSms:
      "This number can't receive text messages: IP phones (050) and landlines don't get SMS. Enter a mobile number (060, 070, 080 or 090).",
    verifyTitle: "Enter the security code",
    verifyIntro: "We texted a security code to {phone}. Enter the 6 digits.",
    verifyRemoveIntro: "We texted a security code to {phone}. Enter the 6 digits to remove it.",
    verifySubmit: "Confirm",
    done: "Your mobile number was added.",
    removed: "Your mobile number was removed.",
  },
  undo: {
    title: "Undo the email address change",
    intro: "Your account's email address was changed to {newEmail}. If this wasn't you, undo it.",
    effects: "Your address goes back to {oldEmail} and every device is signed out. Then reset your password.",
    submit: "Undo the change",
    done: "Your email address is {email} again and every device has been signed out. Someone may know your password: reset it.",
    reset: "Reset your password",
    invalid: "This link has expired or has already been used.",
    signIn: "Sign in",
  },
  welcome: {
    title: "Your account is ready",
    hello: "Welcome, {name}.",
    intro: "To protect your account better, we suggest:",
    twoStep: "Set up two-step verification",
    twoStepHint: "Even with your password, nobody signs in without a code sent to your phone.",
    passkey: "Add a passkey",
    passkeyHint: "Sign in with your fingerprint, face or screen lock: safer and easier than a password.",
    phone: "Add your mobile number",
    phoneHint: "Sign in with it, and find your email address if you forget it.",
    later: "Maybe later",
  },
  changeEmail: "Change email address",
};

export function profileText(locale: Locale): ProfileText {
  return locale === "ja" ? ja : en;
}
