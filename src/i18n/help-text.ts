import type { Locale } from "../config/config.ts";

/** One reason a person cannot log in: what they see, what to do, and the link that does it. */
export type HelpSection = {
  /** The fragment the sign-in page's errors link to (/help/sign-in#wrong-password). */
  id: string;
  title: string;
  body: string;
  /** The way forward, when there is a page for it. */
  link?: { href: string; text: string };
};

export type HelpText = {
  title: string;
  intro: string;
  sections: HelpSection[];
  back: string;
  support: string;
};

const ja: HelpText = {
  title: "ログインできない場合",
  intro: "当てはまるものを選んで、表示されている手順をお試しください。",
  sections: [
    {
      id: "wrong-password",
      title: "「Eメールアドレスかパスワードが正しくありません」と表示される",
      body: "Eメールアドレスと携帯電話番号は半角で入力してください（全角で入力しても半角として読み取ります）。パスワードは大文字と小文字を区別します。Caps Lock がオンになっていないか、パスワード欄の「表示」ボタンで入力した内容をご確認ください。携帯電話番号でログインできるのは、確認済みの番号だけです。",
      link: { href: "/password-reset", text: "パスワードを再設定する" },
    },
    {
      id: "forgot-password",
      title: "パスワードを忘れた",
      body: "登録済みのEメールアドレス（または確認済みの携帯電話番号）を入力すると、Eメールでセキュリティコードが届きます。コードで本人確認をしてから、新しいパスワードを設定します。",
      link: { href: "/password-reset", text: "パスワードを再設定する" },
    },
    {
      id: "forgot-email",
      title: "登録したEメールアドレスを忘れた",
      body: "確認済みの携帯電話番号があれば、Eメールアドレスの代わりにその番号でログインできます。また、その番号にSMSで届くセキュリティコードを入力すると、ご登録のEメールアドレスを確認できます。",
      link: { href: "/email-reminder", text: "Eメールアドレスを確認する" },
    },
    {
      id: "two-step",
      title: "携帯電話や認証アプリが手元になく、2段階認証のコードを受け取れない",
      body: "パスワードを入力したあと、セキュリティコードの入力画面で「リカバリーコードを使う」を選び、2段階認証を設定したときに保存したリカバリーコードを入力してください。リカバリーコードもない場合は、同じ画面の「2段階認証のコードを受け取れない場合」から、待機期間のあとに2段階認証を解除する手続きを始められます。",
      link: { href: "/sign-in", text: "ログインしてコードの入力画面を開く" },
    },
    {
      id: "suspended",
      title: "「このアカウントは停止されています」「閉鎖されています」と表示される",
      body: "停止されたアカウント、閉鎖されたアカウントにはログインできません。心当たりがない場合や、再開を希望する場合は、ショップのサポートにお問い合わせください。",
    },
    {
      id: "maintenance",
      title: "「メンテナンス中」と表示される",
      body: "メンテナンスが終わるまでログインできません。ページに表示される終了予定の時刻を過ぎてから、もう一度お試しください。",
      link: { href: "/sign-in", text: "ログインページを開く" },
    },
    {
      id: "country",
      title: "「この国・地域からのログインを受け付けていません」と表示される",
      body: "このショップは、一部の国・地域からのログインを受け付けていません。ご旅行中の場合は帰国後にログインするか、ショップのサポートにご相談ください。VPN をお使いの場合は、オフにしてからお試しください。",
    },
    {
      id: "too-many-attempts",
      title: "「試行回数が多すぎます」と表示される",
      body: "アカウントを守るため、間違いが続くとしばらくログインできなくなります。表示された時間だけ待ってから、もう一度お試しください。パスワードに自信がない場合は、待つ間にパスワードを再設定できます。",
      link: { href: "/password-reset", text: "パスワードを再設定する" },
    },
  ],
  back: "ログインページに戻る",
  support: "どれにも当てはまらない場合は、ショップのサポートにお問い合わせください。",
};

const en: HelpText = {
  title: "Can't sign in?",
  intro: "Choose what you see and follow the steps under it.",
  sections: [
    {
      id: "wrong-password",
      title: '"Your email address or password is incorrect"',
      body: "Type your email address and mobile number in half-width characters (full-width ones are read as half-width). Passwords are case-sensitive: check Caps Lock, and use the password field's Show button to see what you typed. Only a verified mobile number can be used to sign in.",
      link: { href: "/password-reset", text: "Reset your password" },
    },
    {
      id: "forgot-password",
      title: "You forgot your password",
      body: "Enter your email address (or verified mobile number) and we'll email you a security code. It proves it's you; then you choose a new password.",
      link: { href: "/password-reset", text: "Reset your password" },
    },
    {
      id: "forgot-email",
      title: "You forgot the email address you signed up with",
      body: "If your account has a verified mobile number, you can sign in with it instead of your email address, or see your email address with a security code sent to that number by SMS.",
      link: { href: "/email-reminder", text: "Find your email address" },
    },
    {
      id: "two-step",
      title: "Your phone or authenticator app is gone and you can't get two-step codes",
      body: 'After your password, choose "Use a recovery code" on the code page and enter one of the recovery codes you saved when you set up two-step verification. Without one, "Can\'t receive your two-step codes?" on the same page starts turning two-step verification off after a waiting period.',
      link: { href: "/sign-in", text: "Sign in to reach the code page" },
    },
    {
      id: "suspended",
      title: '"This account is suspended" or "closed"',
      body: "A suspended or closed account can't be used to sign in. If you don't know why, or want it back, contact the shop's support.",
    },
    {
      id: "maintenance",
      title: '"Down for maintenance"',
      body: "Signing in is not possible until the maintenance ends. Try again after the end time the page shows.",
      link: { href: "/sign-in", text: "Open the sign-in page" },
    },
    {
      id: "country",
      title: '"This shop does not accept sign-ins from your country or region"',
      body: "This shop doesn't accept sign-ins from some countries or regions. If you are travelling, sign in when you are back, or ask the shop's support. If you use a VPN, turn it off and try again.",
    },
    {
      id: "too-many-attempts",
      title: '"Too many attempts"',
      body: "To protect your account, signing in pauses after several mistakes. Wait for the time shown and try again. If you're unsure of your password, you can reset it while you wait.",
      link: { href: "/password-reset", text: "Reset your password" },
    },
  ],
  back: "Back to sign in",
  support: "If none of these fits, contact the shop's support.",
};

export function helpText(locale: Locale): HelpText {
  return locale === "en" ? en : ja;
}
