import type { Locale } from "../config/config.ts";

// What the passkey pages and buttons say. パスキー is the word Japanese shops and platforms use.
const ja = {
  title: "パスキー",
  intro:
    "パスキーを使うと、パスワードやセキュリティコードを入力せずに、スマートフォンやパソコンの指紋認証・顔認証・画面ロックでログインできます。パスキーは登録したサイトでしか使えないため、偽のサイトに盗まれることはありません。",
  summary: "{count}個のパスキー",
  none: "パスキーはまだありません。",
  manage: "管理",
  manageLabel: "パスキーを管理",
  added: "登録日時: {time}",
  lastUsed: "最終使用日時: {time}",
  neverUsed: "まだ使われていません",
  synced: "同期済み",
  syncedHint: "お使いの他の端末でも使えます",
  rename: "名前を変更",
  save: "保存",
  renameLabel: "{name}の新しい名前",
  remove: "削除",
  removeLabel: "{name}を削除",
  add: "パスキーを追加",
  addTitle: "パスキーを追加",
  addIntro:
    "この端末か、お使いのスマートフォンにパスキーを作成します。ボタンを押すと、ブラウザが指紋認証・顔認証・画面ロックの確認を求めます。",
  nameLabel: "名前（任意）",
  nameHint: "例: 仕事用のMac。空欄の場合はブラウザ名になります。",
  create: "パスキーを作成",
  needsJavaScript:
    "パスキーの作成と使用には JavaScript が必要です。ブラウザの設定で JavaScript を有効にしてください。パスキー以外の設定は JavaScript なしで使えます。",
  unsupported: "このブラウザはパスキーに対応していません。",
  cancelled: "パスキーの操作がキャンセルされたか、時間切れになりました。もう一度お試しください。",
  failed: "パスキーを使えませんでした。もう一度お試しください。",
  back: "ログインとセキュリティへ戻る",
  doneAdded: "パスキーを追加しました。",
  conditionalCreated:
    "パスワードマネージャーにパスキーを作成しました。次回からパスワードなしでログインできます。",
  conditionalManage: "パスキーを管理する",
  doneRemoved: "パスキーを削除しました。",
  doneRenamed: "パスキーの名前を変更しました。",
  signInWithPasskey: "パスキーでログイン",
  or: "または",
  useForSecondStep: "パスキーを使う",
  secondStepHint: "登録済みのパスキーで本人確認をします。",
  nameMissing: "名前を入力してください。",
  reauthenticate: "パスワードの代わりにパスキーを使う",
  reauthenticateHint: "登録済みのパスキー（指紋認証・顔認証・画面ロック）で本人確認もできます。",
  reauthenticateNeedsJavaScript:
    "パスキーでの本人確認には JavaScript が必要です。JavaScript なしでも、パスワードで続けられます。",
  stepUp: "パスキーを使う",
  stepUpHint: "指紋認証・顔認証・画面ロックで確認するパスキーなら、セキュリティコードは不要です。",
  stepUpNeedsJavaScript:
    "パスキーでの本人確認には JavaScript が必要です。JavaScript なしでも、セキュリティコードで続けられます。",
  notVerified:
    "このパスキーでは指紋認証・顔認証・画面ロックの確認が行われなかったため、セキュリティコードが必要です。",
};

export type PasskeyText = typeof ja;

const en: PasskeyText = {
  title: "Passkeys",
  intro:
    "With a passkey you sign in with your phone's or computer's fingerprint, face or screen lock, without a password or security code. A passkey works only on the site it was made for, so a fake site cannot steal it.",
  summary: "{count} passkey(s)",
  none: "No passkeys yet.",
  manage: "Manage",
  manageLabel: "Manage passkeys",
  added: "Added {time}",
  lastUsed: "Last used {time}",
  neverUsed: "Not used yet",
  synced: "Synced",
  syncedHint: "Works on your other devices too",
  rename: "Rename",
  save: "Save",
  renameLabel: "New name for {name}",
  remove: "Remove",
  removeLabel: "Remove {name}",
  add: "Add a passkey",
  addTitle: "Add a passkey",
  addIntro:
    "Make a passkey on this device or on your phone. When you press the button, your browser asks for your fingerprint, face or screen lock.",
  nameLabel: "Name (optional)",
  nameHint: "For example: work Mac. Left empty, the browser's name is used.",
  create: "Create a passkey",
  needsJavaScript:
    "Passkeys need JavaScript to be made and used. Turn JavaScript on in your browser's settings. Everything else here works without it.",
  unsupported: "This browser does not support passkeys.",
  cancelled: "The passkey request was cancelled or timed out. Please try again.",
  failed: "The passkey could not be used. Please try again.",
  back: "Back to Login & security",
  doneAdded: "The passkey was added.",
  conditionalCreated:
    "Your password manager created a passkey. Next time you can sign in without the password.",
  conditionalManage: "Manage passkeys",
  doneRemoved: "The passkey was removed.",
  doneRenamed: "The passkey was renamed.",
  signInWithPasskey: "Sign in with a passkey",
  or: "or",
  useForSecondStep: "Use a passkey",
  secondStepHint: "Confirm it's you with one of your passkeys.",
  nameMissing: "Enter a name.",
  reauthenticate: "Use a passkey instead",
  reauthenticateHint:
    "You can also confirm it's you with one of your passkeys (fingerprint, face or screen lock).",
  reauthenticateNeedsJavaScript:
    "Confirming with a passkey needs JavaScript. Without it, you can continue with your password.",
  stepUp: "Use a passkey",
  stepUpHint: "A passkey that checks your fingerprint, face or screen lock needs no security code.",
  stepUpNeedsJavaScript:
    "Confirming with a passkey needs JavaScript. Without it, you can continue with a security code.",
  notVerified:
    "This passkey did not check your fingerprint, face or screen lock, so a security code is still needed.",
};

export function passkeyText(locale: Locale): PasskeyText {
  return locale === "ja" ? ja : en;
}
