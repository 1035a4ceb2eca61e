import type { Locale } from "../config/config.ts";

// The pages of 「2段階認証のコードを受け取れない場合」 (docs/flows/two-step-recovery.md). New
// customer-facing Japanese says ログイン, never サインイン.
const ja = {
  link: "2段階認証のコードを受け取れない場合",
  startTitle: "2段階認証のコードを受け取れない場合",
  startIntro:
    "携帯電話をなくし、リカバリーコードも手元にない場合は、Eメールアドレスとパスワードで本人確認をしてから、2段階認証を無効にできます。",
  startWait:
    "安全のため、本人確認の後{hours}時間の待機期間があります。その間、Eメール、登録済みの携帯電話（SMS）、ログイン中の端末にお知らせし、お客様ご本人はいつでも取り消せます。待機期間が終わると2段階認証は無効になり、パスワードだけでログインできます。",
  startSubmit: "Eメールにセキュリティコードを送信",
  back: "セキュリティコードの入力に戻る",
  proveTitle: "本人確認",
  proveIntro:
    "登録済みのEメールアドレスにセキュリティコードを送信しました。そのコードとパスワードを入力してください。",
  code: "セキュリティコード",
  codeHint: "6桁の数字（{time}まで有効）",
  password: "パスワード",
  proveSubmit: "確認して手続きを始める",
  noMail: "メールが届かない場合",
  resend: "コードを再送信",
  resent: "新しいセキュリティコードを送信しました。前のコードは使えなくなりました。",
  resendWait: "セキュリティコードは続けて再送信できません。{minutes}分ほど待ってからもう一度お試しください。",
  waitingTitle: "手続きを受け付けました",
  waitingIntro:
    "{time}以降に、パスワードだけでログインできるようになります。ログインした後、2段階認証をもう一度設定してください。",
  waitingNote:
    "待機期間中は、Eメール、SMS、ログイン中の端末にお知らせしています。お客様が手続きしていない場合は、お知らせのリンクから取り消せます。",
  signIn: "ログインページへ",
  endedTitle: "手続きを続けられません",
  exhausted:
    "セキュリティコードを続けて間違えたため、この手続きは終了しました。もう一度ログインからやり直してください。",
  cancelTitle: "2段階認証の解除手続きを取り消す",
  cancelIntro:
    "お客様のアカウントで、2段階認証を無効にする手続きが進んでいます。お心当たりがない場合は、取り消してください。2段階認証はこれまで通り有効のままです。",
  cancelSubmit: "手続きを取り消す",
  cancelledTitle: "手続きを取り消しました",
  cancelledIntro:
    "2段階認証の解除手続きを取り消しました。2段階認証はこれまで通り有効です。ご自身で手続きしていない場合は、パスワードを知られている可能性があります。パスワードを変更してください。",
  cancelGone: "この取り消しリンクは使用済みか、手続きが既に終了しています。",
  bannerTitle: "2段階認証の解除手続きが進行中です",
  bannerText:
    "「2段階認証のコードを受け取れない場合」の手続きにより、{time}に2段階認証が無効になります。お客様が手続きしていない場合は、すぐに取り消してください。",
  bannerCancel: "手続きを取り消す",
  setUpTitle: "2段階認証をもう一度設定してください",
  setUpIntro:
    "待機期間が終わったため、2段階認証は無効になっています。今はパスワードだけでログインできる状態です。アカウントを守るため、2段階認証をもう一度設定してください。",
  setUpNow: "2段階認証を設定する",
  later: "あとで",
};

export type TwoStepRecoveryText = typeof ja;

const en: TwoStepRecoveryText = {
  link: "Can't receive your two-step codes?",
  startTitle: "Can't receive your two-step codes?",
  startIntro:
    "If you lost your phone and don't have your recovery codes, you can turn two-step verification off after confirming your email address and password.",
  startWait:
    "For your safety there is a waiting period of {hours} hours after that. Meanwhile we tell you by email, by text to your mobile numbers and on your signed-in devices, and you can cancel at any time. When it ends, two-step verification is turned off and your password alone signs you in.",
  startSubmit: "Email me a code",
  back: "Back to entering a security code",
  proveTitle: "Confirm it's you",
  proveIntro: "We emailed a security code to your address. Enter it and your password.",
  code: "Security code",
  codeHint: "6 digits (valid until {time})",
  password: "Password",
  proveSubmit: "Confirm and start",
  noMail: "Didn't get the email?",
  resend: "Send a new code",
  resent: "We sent a new security code. The previous one no longer works.",
  resendWait:
    "Codes can't be resent right away. Please wait about {minutes} minutes; the code already sent still works.",
  waitingTitle: "Your request was received",
  waitingIntro:
    "From {time}, your password alone will sign you in. After you sign in, please set up two-step verification again.",
  waitingNote:
    "During the wait we tell you by email, text and on signed-in devices. If it wasn't you, cancel it with the link in the notice.",
  signIn: "Go to sign-in",
  endedTitle: "This request can't continue",
  exhausted:
    "Wrong security codes were entered too many times, so this request ended. Please sign in again to start over.",
  cancelTitle: "Cancel the two-step recovery",
  cancelIntro:
    "Someone asked to turn off two-step verification for your account. If this wasn't you, cancel it. Two-step verification stays on.",
  cancelSubmit: "Cancel it",
  cancelledTitle: "Cancelled",
  cancelledIntro:
    "The two-step recovery was cancelled; two-step verification stays on. If you didn't start it, someone may know your password: change it.",
  cancelGone: "This cancel link was already used, or the recovery has already ended.",
  bannerTitle: "A two-step recovery is under way",
  bannerText:
    "Because someone said they can't receive your two-step codes, two-step verification will be turned off on {time}. If this wasn't you, cancel it now.",
  bannerCancel: "Cancel it",
  setUpTitle: "Please set up two-step verification again",
  setUpIntro:
    "The waiting period ended, so two-step verification is off and your password alone signs you in. To protect your account, set it up again.",
  setUpNow: "Set up two-step verification",
  later: "Later",
};

export function twoStepRecoveryText(locale: Locale): TwoStepRecoveryText {
  return locale === "ja" ? ja : en;
}
