import type { Locale } from "../config/config.ts";

// The words for a person who came from a shop (OpenID Connect): the sign-in page's heading and the
// way back to the shop on every page (src/views/shop-return.ts). `{client}` is the shop's
// registered name (`mamori clients create --name`).
const ja = {
  heading: "{client}のアカウントでログイン",
  back: "{client}に戻る",
  navLabel: "お店に戻る",
};

type ShopText = typeof ja;

const en: ShopText = {
  heading: "Sign in with your {client} account",
  back: "Back to {client}",
  navLabel: "Back to the shop",
};

export function shopText(locale: Locale): ShopText {
  return locale === "en" ? en : ja;
}
