import type { Locale } from "../config/config.ts";

// What the closing, data-download and refusal pages say. ログイン (never サインイン) in new text,
// as the shop's customers read it on the big shops' pages.

const ja = {
  rows: {
    data: "データのダウンロード",
    dataHint: "お客様についてお預かりしているすべての情報",
    download: "ダウンロード",
    downloadLabel: "データをダウンロード",
    close: "アカウントの閉鎖",
    closeHint: "このアカウントを閉鎖し、個人データを消去します",
    closeLink: "閉鎖",
    closeLabel: "アカウントを閉鎖",
  },
  close: {
    title: "アカウントの閉鎖",
    lead: "アカウントを閉鎖すると、次のようになります。",
    consequences: [
      "すぐにこのアカウントではログインできなくなります。",
      "すべての端末からログアウトし、コードを要求しないブラウザの登録も削除します。",
      "このアカウントでログインしているお店・アプリへのアクセスの許可をすべて削除します。お店・アプリでのご注文の履歴などは、それぞれのお店・アプリにお問い合わせください。",
      "氏名、Eメールアドレス、携帯電話番号、パスワード、2段階認証、パスキー、ログインの記録は{days}日後に消去し、元に戻せなくなります。それまでは、ショップのサポートに連絡すれば閉鎖を取り消せます。",
      "閉鎖したことをEメールでお知らせします。",
    ],
    dataFirst: "閉鎖の前に、お預かりしているデータをダウンロードできます。",
    confirm: "上記を理解したうえで、アカウントを閉鎖します",
    confirmMissing: "閉鎖するには、チェックボックスをオンにしてください。",
    submit: "アカウントを閉鎖する",
    cancel: "閉鎖しないで戻る",
  },
  closed: {
    title: "アカウントを閉鎖しました",
    body: "アカウントを閉鎖し、すべての端末からログアウトしました。確認のEメールをお送りしました。",
    erase:
      "個人データは{date}に消去します。それまでに閉鎖を取り消したい場合は、ショップのサポートにご連絡ください。",
    home: "ログインページへ",
  },
  data: {
    title: "データのダウンロード",
    intro:
      "お客様についてお預かりしているすべての情報（プロフィール、ログイン方法、ログイン中の端末、ログインの記録、お店・アプリ、お送りしたメール）をダウンロードできます。パスワードやセキュリティコードなどの秘密の情報は含まれません。",
    json: "JSON形式でダウンロード",
    jsonHint: "他のサービスへの移行や、プログラムでの読み取りに",
    html: "読みやすい形式（HTML）でダウンロード",
    htmlHint: "ブラウザで開いて読むために",
    back: "ログインとセキュリティへ戻る",
  },
  blocked: {
    suspendedTitle: "このアカウントは一時停止されています",
    suspendedBody:
      "ショップの運営者がこのアカウントを一時停止したため、ログインできません。停止の理由はEメールでお知らせしています。再開については、ショップのサポートにお問い合わせください。",
    closedTitle: "このアカウントは閉鎖されています",
    closedBody:
      "このアカウントは閉鎖されたため、ログインできません。閉鎖から一定期間内であれば、ショップのサポートに連絡すると閉鎖を取り消せる場合があります。",
    countryTitle: "現在の場所からはログインできません",
    countryBody:
      "このショップでは、いまアクセスしている国・地域からのログインを受け付けていません（お住まいの場所ではなく、接続元の場所で判断しています）。ご旅行や出張中の場合は、帰国後にログインするか、ショップのサポートにご相談ください。",
    countryPlace: "接続元として判断した場所: {place}",
    signIn: "別のアカウントでログイン",
  },
  support: {
    title: "ショップのサポート",
    none: "ショップのサポート窓口にお問い合わせください。",
    url: "お問い合わせ",
    phone: "電話: {phone}",
    hours: "受付時間: {hours}",
  },
  export: {
    title: "お預かりしているデータ",
    exportedAt: "作成日時: {time}",
    profile: "プロフィール",
    methods: "ログイン方法",
    passwordSet: "パスワード",
    passwordChanged: "設定済み（最終変更: {time}）",
    none: "なし",
    twoStep: "2段階認証の方法",
    recoveryCodes: "リカバリーコード: {unused}件が未使用（全{total}件。コードそのものは含みません）",
    passkeys: "パスキー",
    trustedBrowsers: "コードを要求しないブラウザ",
    sessions: "ログイン中・過去の端末",
    activity: "ログインと設定変更の記録",
    places: "ログインしたブラウザと国",
    shops: "お店・アプリ",
    mails: "お送りしたメール・SMS（本文とコードは含みません）",
  },
};

type ClosingText = typeof ja;

const en: ClosingText = {
  rows: {
    data: "Download your data",
    dataHint: "Everything held about you",
    download: "Download",
    downloadLabel: "Download your data",
    close: "Close your account",
    closeHint: "Close this account and erase your personal data",
    closeLink: "Close",
    closeLabel: "Close your account",
  },
  close: {
    title: "Close your account",
    lead: "When you close your account:",
    consequences: [
      "It can no longer sign in, from now on.",
      "You are signed out on every device, and your trusted browsers are forgotten.",
      "Every shop and app you signed in to with this account loses its permission. For your orders and other records there, ask each shop.",
      "Your name, email address, mobile number, password, two-step verification, passkeys and sign-in history are erased after {days} days, for good. Until then, the shop's support can undo the closing.",
      "We email you that it was closed.",
    ],
    dataFirst: "Before you close it, you can download the data held about you.",
    confirm: "I understand the above and want to close my account",
    confirmMissing: "To close it, tick the box.",
    submit: "Close my account",
    cancel: "Keep my account",
  },
  closed: {
    title: "Your account has been closed",
    body: "Your account was closed and you were signed out everywhere. We have sent you an email.",
    erase:
      "Your personal data will be erased on {date}. To have the closing undone before then, contact the shop's support.",
    home: "Go to the sign-in page",
  },
  data: {
    title: "Download your data",
    intro:
      "Download everything held about you: your profile, how you sign in, your devices, your sign-in history, the shops and apps you use, and the messages we sent. Secrets such as passwords and security codes are not included.",
    json: "Download as JSON",
    jsonHint: "to move to another service, or for programs",
    html: "Download as a readable page (HTML)",
    htmlHint: "to open and read in a browser",
    back: "Back to Login & security",
  },
  blocked: {
    suspendedTitle: "This account is suspended",
    suspendedBody:
      "The shop's operator has suspended this account, so it cannot sign in. We emailed you the reason. To have it opened again, contact the shop's support.",
    closedTitle: "This account has been closed",
    closedBody:
      "This account has been closed, so it cannot sign in. For a while after the closing, the shop's support may be able to undo it.",
    countryTitle: "You can't sign in from where you are now",
    countryBody:
      "This shop does not accept sign-ins from the country or region you are connecting from (it is where the connection comes from that counts, not where you live). If you are travelling, sign in when you are back, or ask the shop's support.",
    countryPlace: "Where the connection seems to come from: {place}",
    signIn: "Sign in with another account",
  },
  support: {
    title: "The shop's support",
    none: "Please contact the shop's support.",
    url: "Contact us",
    phone: "Phone: {phone}",
    hours: "Hours: {hours}",
  },
  export: {
    title: "The data held about you",
    exportedAt: "Made on {time}",
    profile: "Profile",
    methods: "How you sign in",
    passwordSet: "Password",
    passwordChanged: "set (last changed {time})",
    none: "none",
    twoStep: "Two-step verification methods",
    recoveryCodes: "Recovery codes: {unused} unused of {total} (the codes themselves are not included)",
    passkeys: "Passkeys",
    trustedBrowsers: "Trusted browsers",
    sessions: "Devices signed in, now and before",
    activity: "Sign-ins and security changes",
    places: "Browsers and countries you signed in from",
    shops: "Shops and apps",
    mails: "Emails and texts we sent (without their text and codes)",
  },
};

export function closingText(locale: Locale): ClosingText {
  return locale === "ja" ? ja : en;
}
