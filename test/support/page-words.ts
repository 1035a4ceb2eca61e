// What a shopper reads on Mamori's pages, written out here rather than imported from src/i18n: a
// page that says the wrong thing (or English on a Japanese page) must fail the browser tests.
export type Words = {
  lang: "ja" | "en";
  signUp: { title: string; name: string; email: string; password: string; submit: string };
  verify: { title: string; code: string; submit: string; mailSubject: string };
  account: { title: string; hello: (name: string) => string; security: string };
  security: { title: string; name: string; email: string; twoStep: string; off: string; manage: string };
  sessions: { title: string; current: string };
  signOut: string;
  signedOut: string;
  signIn: { title: string; identifier: string; password: string; submit: string };
  errorSummary: { title: string; invalidCredentials: string };
};

export const japanese: Words = {
  lang: "ja",
  signUp: {
    title: "アカウントを作成",
    name: "氏名",
    email: "Eメールアドレス",
    password: "パスワード",
    submit: "次に進む",
  },
  verify: {
    title: "Eメールアドレスの確認",
    code: "セキュリティコード",
    submit: "アカウントを作成",
    mailSubject: "【サンプルショップ】Eメールアドレスのセキュリティコード",
  },
  account: { title: "アカウントサービス", hello: (name) => `${name} 様`, security: "ログインとセキュリティ" },
  security: {
    title: "ログインとセキュリティ",
    name: "氏名",
    email: "Eメールアドレス",
    twoStep: "2段階認証",
    off: "オフ",
    manage: "管理",
  },
  sessions: { title: "ログイン中の端末", current: "この端末" },
  signOut: "ログアウト",
  signedOut: "ログアウトしました。",
  signIn: {
    title: "ログイン",
    identifier: "Eメールアドレスまたは携帯電話番号",
    password: "パスワード",
    submit: "ログイン",
  },
  errorSummary: {
    title: "入力内容を確認してください",
    invalidCredentials: "Eメールアドレス（または携帯電話番号）かパスワードが正しくありません。",
  },
};

export const english: Words = {
  lang: "en",
  signUp: {
    title: "Create your account",
    name: "Your name",
    email: "Email address",
    password: "Password",
    submit: "Continue",
  },
  verify: {
    title: "Verify your email address",
    code: "Security code",
    submit: "Create your account",
    mailSubject: "Sample Shop: Your email security code",
  },
  account: { title: "Your account", hello: (name) => `Hello, ${name}`, security: "Login & security" },
  security: {
    title: "Login & security",
    name: "Name",
    email: "Email",
    twoStep: "Two-step verification",
    off: "Off",
    manage: "Manage",
  },
  sessions: { title: "Signed-in devices", current: "This device" },
  signOut: "Sign out",
  signedOut: "You have signed out.",
  signIn: {
    title: "Sign in",
    identifier: "Email address or mobile number",
    password: "Password",
    submit: "Sign in",
  },
  errorSummary: {
    title: "Please check the following",
    invalidCredentials: "Your email address (or mobile number) or password is incorrect.",
  },
};

/** "Forgot password" and "change password", as a shopper reads them. */
export type PasswordWords = {
  lang: "ja" | "en";
  forgotLink: string;
  request: { title: string; identifier: string; submit: string };
  code: {
    title: string;
    sentIfExists: string;
    code: string;
    submit: string;
    resend: string;
    wrong: (attemptsLeft: number) => string;
    mailSubject: string;
  };
  newPassword: { title: string; field: string; submit: string; tooShort: string };
  resetDone: string;
  changedMailSubject: string;
  change: {
    edit: string;
    title: string;
    current: string;
    field: string;
    submit: string;
    wrongCurrent: string;
    done: string;
  };
};

export const japanesePassword: PasswordWords = {
  lang: "ja",
  forgotLink: "パスワードをお忘れの場合",
  request: {
    title: "パスワードをお忘れですか？",
    identifier: "Eメールアドレスまたは携帯電話番号",
    submit: "次に進む",
  },
  code: {
    title: "セキュリティコードの入力",
    sentIfExists: "アカウントが存在する場合は、セキュリティコードを送信しました。",
    code: "セキュリティコード",
    submit: "次に進む",
    resend: "コードを再送信",
    wrong: (n) => `セキュリティコードが正しくありません。残り${n}回入力できます。`,
    mailSubject: "【サンプルショップ】パスワード再設定のセキュリティコード",
  },
  newPassword: {
    title: "新しいパスワードの設定",
    field: "新しいパスワード",
    submit: "パスワードを変更",
    tooShort: "パスワードは8文字以上にしてください。",
  },
  resetDone: "パスワードを変更しました。新しいパスワードでログインしてください。",
  changedMailSubject: "【サンプルショップ】パスワードが変更されました",
  change: {
    edit: "パスワードを編集",
    title: "パスワードの変更",
    current: "現在のパスワード",
    field: "新しいパスワード",
    submit: "パスワードを変更",
    wrongCurrent: "現在のパスワードが正しくありません。",
    done: "パスワードを変更しました。他の端末からはログアウトしました。",
  },
};

export const englishPassword: PasswordWords = {
  lang: "en",
  forgotLink: "Forgot your password?",
  request: {
    title: "Forgot your password?",
    identifier: "Email address or mobile number",
    submit: "Continue",
  },
  code: {
    title: "Enter the security code",
    sentIfExists: "If an account exists, we sent a security code.",
    code: "Security code",
    submit: "Continue",
    resend: "Resend code",
    wrong: (n) => `That security code is not correct. You have ${n} tries left.`,
    mailSubject: "Sample Shop: Your password reset code",
  },
  newPassword: {
    title: "Choose a new password",
    field: "New password",
    submit: "Change password",
    tooShort: "Use at least 8 characters.",
  },
  resetDone: "Your password was changed. Sign in with the new password.",
  changedMailSubject: "Sample Shop: Your password was changed",
  change: {
    edit: "Edit password",
    title: "Change your password",
    current: "Current password",
    field: "New password",
    submit: "Change password",
    wrongCurrent: "Your current password is incorrect.",
    done: "Password changed; your other devices were signed out.",
  },
};

/** "Forgot your email?", as a shopper reads it. */
export type ReminderWords = {
  forgotLink: string;
  request: { title: string; phone: string; submit: string };
  code: {
    title: string;
    sentIfRegistered: string;
    code: string;
    submit: string;
    resend: string;
    wrong: (attemptsLeft: number) => string;
  };
  result: { title: string; sentence: (maskedEmail: string) => string; signIn: string; resetPassword: string };
};

export const japaneseReminder: ReminderWords = {
  forgotLink: "Eメールアドレスをお忘れの場合",
  request: { title: "Eメールアドレスをお忘れですか？", phone: "携帯電話番号", submit: "次に進む" },
  code: {
    title: "セキュリティコードの入力",
    sentIfRegistered:
      "この番号が登録されている場合は、SMS（テキストメッセージ）でセキュリティコードを送信しました。",
    code: "セキュリティコード",
    submit: "次に進む",
    resend: "コードを再送信",
    wrong: (n) => `セキュリティコードが正しくありません。残り${n}回入力できます。`,
  },
  result: {
    title: "Eメールアドレスのご確認",
    sentence: (masked) => `ご登録のEメールアドレスは${masked}です。`,
    signIn: "ログイン",
    resetPassword: "パスワードを再設定",
  },
};

export const englishReminder: ReminderWords = {
  forgotLink: "Forgot your email address?",
  request: { title: "Forgot your email address?", phone: "Mobile number", submit: "Continue" },
  code: {
    title: "Enter the security code",
    sentIfRegistered: "If this number is registered, we sent a security code by SMS (text message).",
    code: "Security code",
    submit: "Continue",
    resend: "Resend code",
    wrong: (n) => `That security code is not correct. You have ${n} tries left.`,
  },
  result: {
    title: "Your email address",
    sentence: (masked) => `The email address on your account is ${masked}.`,
    signIn: "Sign in",
    resetPassword: "Reset your password",
  },
};
