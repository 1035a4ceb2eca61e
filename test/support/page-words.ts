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
    mailSubject: "【Mamori】Eメールアドレスの確認コード",
  },
  account: { title: "アカウントサービス", hello: (name) => `${name} 様`, security: "ログインとセキュリティ" },
  security: {
    title: "ログインとセキュリティ",
    name: "氏名",
    email: "Eメールアドレス",
    twoStep: "2段階認証(高度なセキュリティ設定)",
    off: "オフ",
    manage: "管理",
  },
  sessions: { title: "サインイン中の端末", current: "この端末" },
  signOut: "サインアウト",
  signedOut: "サインアウトしました。",
  signIn: {
    title: "サインイン",
    identifier: "Eメールアドレスまたは携帯電話番号",
    password: "パスワード",
    submit: "サインイン",
  },
  errorSummary: {
    title: "入力内容を確認してください",
    invalidCredentials: "Eメールアドレス(または携帯電話番号)かパスワードが正しくありません。",
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
    mailSubject: "Mamori: your email verification code",
  },
  account: { title: "Your account", hello: (name) => `Hello, ${name}`, security: "Login & security" },
  security: {
    title: "Login & security",
    name: "Name",
    email: "Email",
    twoStep: "Two-step verification (advanced security settings)",
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
