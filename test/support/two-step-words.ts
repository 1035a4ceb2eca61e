// The two-step pages as a shopper reads them, written out here rather than imported from src/i18n:
// a page that says the wrong thing (or English on a Japanese page) must fail the browser tests.
export type TwoStepWords = {
  securityLink: string;
  on: string;
  off: string;
  overview: {
    title: string;
    start: string;
    addBackup: string;
    disable: string;
    disabled: string;
    backupAdded: string;
    removed: string;
  };
  choose: {
    primaryTitle: string;
    backupTitle: string;
    app: string;
    sms: string;
    voice: string;
    phone: string;
    submit: string;
    smsRisk: string;
    noSmsOn050: string;
    conflict: string;
  };
  app: { title: string; code: string; submit: string; copy: string; copied: string };
  phoneCode: { title: string; sentSms: (masked: string) => string; resend: string; wait: string };
  enable: { title: string; submit: string };
  recovery: { title: string; download: string; addBackup: string; enabled: string };
  reauth: { title: string; password: string; submit: string };
  stepUp: { title: string; send: string; submit: string };
  challenge: {
    title: string;
    code: string;
    recoveryCode: string;
    trust: string;
    submit: string;
    app: string;
    sentSms: (masked: string) => string;
    useSms: (masked: string) => string;
    useApp: string;
    useRecovery: string;
    wrong: (attemptsLeft: number) => string;
  };
  devices: { title: string; thisBrowser: string; forget: string; forgotten: string };
  remove: { title: string; submit: string };
  disable: { title: string; password: string; submit: string };
};

export const japaneseTwoStep: TwoStepWords = {
  securityLink: "高度なセキュリティ設定",
  on: "オン",
  off: "オフ",
  overview: {
    title: "高度なセキュリティ設定",
    start: "始める",
    addBackup: "バックアップ方法を追加",
    disable: "無効化",
    disabled: "2段階認証を無効化しました。",
    backupAdded: "バックアップ方法を追加しました。",
    removed: "バックアップ方法を削除しました。",
  },
  choose: {
    primaryTitle: "2段階認証の設定",
    backupTitle: "バックアップ方法の追加",
    app: "認証アプリ（おすすめ）",
    sms: "SMS（テキストメッセージ）",
    voice: "音声通話",
    phone: "電話番号",
    submit: "次に進む",
    smsRisk: "SMSは、電話番号の乗っ取り（SIMスワップ）などで第三者に読まれることがあります。",
    noSmsOn050: "050で始まるIP電話や固定電話にはSMSが届かないため",
    conflict: "この方法は既に登録されています。",
  },
  app: {
    title: "認証アプリの設定",
    code: "セキュリティコード",
    submit: "次に進む",
    copy: "キーをコピー",
    copied: "コピーしました",
  },
  phoneCode: {
    title: "セキュリティコードの入力",
    sentSms: (masked) => `${masked}にSMSでセキュリティコードを送信しました。`,
    resend: "コードを再送信",
    wait: "1分ほど待ってから",
  },
  enable: { title: "2段階認証を有効にする", submit: "2段階認証を有効にする" },
  recovery: {
    title: "リカバリーコード",
    download: "テキストファイルでダウンロード",
    addBackup: "バックアップ方法を追加",
    enabled: "2段階認証を有効にしました。",
  },
  reauth: { title: "パスワードの再入力", password: "パスワード", submit: "次に進む" },
  stepUp: { title: "本人確認", send: "コードを送信", submit: "次に進む" },
  challenge: {
    title: "2段階認証",
    code: "セキュリティコード",
    recoveryCode: "リカバリーコード",
    trust: "このブラウザではコードを要求しない",
    submit: "ログイン",
    app: "認証アプリに表示されている6桁のセキュリティコードを入力してください。",
    sentSms: (masked) => `${masked}にSMSでセキュリティコードを送信しました。`,
    useSms: (masked) => `SMS（${masked}）を使う`,
    useApp: "認証アプリを使う",
    useRecovery: "リカバリーコードを使う",
    wrong: (n) => `セキュリティコードが正しくありません。残り${n}回入力できます。`,
  },
  devices: {
    title: "コードを要求しないブラウザ",
    thisBrowser: "このブラウザ",
    forget: "登録を解除",
    forgotten:
      "ブラウザの登録を解除しました。このブラウザでも次回のログインからセキュリティコードが必要です。",
  },
  remove: { title: "バックアップ方法の削除", submit: "削除" },
  disable: { title: "2段階認証の無効化", password: "パスワード", submit: "無効化" },
};

export const englishTwoStep: TwoStepWords = {
  securityLink: "Advanced security settings",
  on: "On",
  off: "Off",
  overview: {
    title: "Advanced security settings",
    start: "Get started",
    addBackup: "Add a backup method",
    disable: "Disable",
    disabled: "Two-step verification is off.",
    backupAdded: "Backup method added.",
    removed: "Backup method removed.",
  },
  choose: {
    primaryTitle: "Set up two-step verification",
    backupTitle: "Add a backup method",
    app: "Authenticator app (recommended)",
    sms: "Text message (SMS)",
    voice: "Voice call",
    phone: "Phone number",
    submit: "Continue",
    smsRisk: "Text messages can be read by others, for example after a SIM swap.",
    noSmsOn050: "IP phones (numbers starting 050) and landlines don't get SMS",
    conflict: "This method is already set up.",
  },
  app: {
    title: "Set up your authenticator app",
    code: "Security code",
    submit: "Continue",
    copy: "Copy the key",
    copied: "Copied",
  },
  phoneCode: {
    title: "Enter the security code",
    sentSms: (masked) => `We texted a security code to ${masked}.`,
    resend: "Resend code",
    wait: "Try again in about 1 minute(s)",
  },
  enable: { title: "Turn on two-step verification", submit: "Turn on two-step verification" },
  recovery: {
    title: "Recovery codes",
    download: "Download as a text file",
    addBackup: "Add a backup method",
    enabled: "Two-step verification is on.",
  },
  reauth: { title: "Enter your password", password: "Password", submit: "Continue" },
  stepUp: { title: "Verify it's you", send: "Send code", submit: "Continue" },
  challenge: {
    title: "Two-step verification",
    code: "Security code",
    recoveryCode: "Recovery code",
    trust: "Don't ask for codes on this browser",
    submit: "Sign in",
    app: "Enter the 6-digit security code from your authenticator app.",
    sentSms: (masked) => `We texted a security code to ${masked}.`,
    useSms: (masked) => `Use Text message (${masked})`,
    useApp: "Use Authenticator app",
    useRecovery: "Use a recovery code",
    wrong: (n) => `That security code is not correct. You have ${n} tries left.`,
  },
  devices: {
    title: "Browsers that don't ask for codes",
    thisBrowser: "This browser",
    forget: "Forget",
    forgotten: "Browser forgotten. It will ask for a security code at the next sign-in.",
  },
  remove: { title: "Remove a backup method", submit: "Remove" },
  disable: { title: "Turn off two-step verification", password: "Password", submit: "Disable" },
};
