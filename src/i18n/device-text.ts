import type { Locale } from "../config/config.ts";

// The words of the device sign-in pages (src/oidc/device-pages.ts): a TV, kiosk or speaker shows a
// code, the person enters it here on their phone, checks which app asks, and allows it.
const ja = {
  enter: {
    title: "コードを入力してください",
    intro: "テレビや端末の画面に表示されているコードを入力してください。",
    label: "コード",
    hint: "8文字の英字です（例: BCDF-GHJK）。大文字・小文字、ハイフンの有無は問いません。",
    next: "次へ",
    signedInAs: "{email}としてログインしています。",
  },
  errors: {
    malformed: "コードは8文字の英字です。端末に表示されているとおりに入力してください。",
    not_found: "コードが正しくありません。端末に表示されているコードを確認してください。",
    expired: "このコードは有効期限が切れています。端末で新しいコードを表示してください。",
    used: "このコードはすでに使われています。端末で新しいコードを表示してください。",
    too_many: "コードの入力回数が多すぎます。{minutes}分ほど待ってから、もう一度お試しください。",
  },
  confirm: {
    title: "{client}にログインしますか？",
    intro: "{client}が端末からのログインを求めています。",
    checkCode: "端末に表示されているコードが次のとおりか確認してください。",
    device: "依頼した端末",
    deviceUnknown: "不明",
    address: "IPアドレス: {ip}",
    asks: "{client}に提供される情報:",
    signedInAs: "{email}としてログインしています。",
    warning: "心当たりがない場合や、コードが一致しない場合は「許可しない」を選んでください。",
    allow: "許可する",
    deny: "許可しない",
  },
  twoStepRequired: {
    title: "2段階認証が必要です",
    intro: "{client}にログインするには、2段階認証を有効にする必要があります。",
    setUp: "2段階認証を設定する",
  },
  done: {
    title: "ログインしました",
    intro: "{client}へのログインを許可しました。端末の画面に戻ってください。",
  },
  denied: {
    title: "許可しませんでした",
    intro: "{client}へのログインを許可しませんでした。端末はログインできません。",
  },
  aDevice: "端末のアプリ",
};

type DeviceText = typeof ja;

const en: DeviceText = {
  enter: {
    title: "Enter the code",
    intro: "Enter the code shown on your TV or device.",
    label: "Code",
    hint: "Eight letters (for example BCDF-GHJK). Upper or lower case, with or without the dash.",
    next: "Continue",
    signedInAs: "You are signed in as {email}.",
  },
  errors: {
    malformed: "The code is eight letters. Enter it as your device shows it.",
    not_found: "That code is not right. Check the code your device shows.",
    expired: "This code has expired. Show a new code on your device.",
    used: "This code has already been used. Show a new code on your device.",
    too_many: "Too many codes entered. Wait about {minutes} minutes and try again.",
  },
  confirm: {
    title: "Sign in to {client}?",
    intro: "{client} is asking to sign in on a device.",
    checkCode: "Check that your device shows this code:",
    device: "The device asking",
    deviceUnknown: "Unknown",
    address: "IP address: {ip}",
    asks: "{client} will get:",
    signedInAs: "You are signed in as {email}.",
    warning: 'If you did not start this, or the code does not match, choose "Don\'t allow".',
    allow: "Allow",
    deny: "Don't allow",
  },
  twoStepRequired: {
    title: "Two-step verification is required",
    intro: "To sign in to {client}, turn on two-step verification first.",
    setUp: "Set up two-step verification",
  },
  done: {
    title: "You are signed in",
    intro: "You allowed {client} to sign in. Go back to your device.",
  },
  denied: {
    title: "Not allowed",
    intro: "You did not allow {client} to sign in. The device cannot sign in.",
  },
  aDevice: "The device's app",
};

export function deviceText(locale: Locale): DeviceText {
  return locale === "ja" ? ja : en;
}
