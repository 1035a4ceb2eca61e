import type { Locale } from "../config/config.ts";
import type {
  CharacterClassName,
  OptionsProblem,
  PolicyFit,
  StrengthLabel,
} from "../passwords/generator/index.ts";
import { format } from "./locale.ts";

// The password generator's words: the page, its error messages (also sent to the browser, which
// generates on its own and words its own refusals with these), and the API's `invalid_options`.

const ja = {
  title: "パスワード生成ツール",
  intro:
    "推測されにくいパスワードを作ります。パスワードはこの端末のブラウザの中で作られ、{shop}のサーバーには送られません。",
  introNoScript:
    "推測されにくいパスワードを作ります。JavaScriptが無効なため、パスワードはサーバーで作って表示します（保存も記録もしません）。",
  modeCharacters: "文字",
  modePassphrase: "単語をつなげる（パスフレーズ）",
  mode: "種類",
  uppercase: "英大文字（A–Z）",
  lowercase: "英小文字（a–z）",
  digits: "数字（0–9）",
  symbols: "記号",
  symbolSet: "使う記号",
  length: "文字数（{min}–{max}）",
  count: "作成する数（1–{max}）",
  minDigits: "数字の最低文字数",
  minSymbols: "記号の最低文字数",
  excludeAmbiguous: "見間違えやすい文字を除く（0 O o 1 l I |）",
  exclude: "使わない文字",
  words: "単語の数（{min}–{max}）",
  wordList: "単語の種類",
  wordListRomaji: "ローマ字の日本語（例: sakura-ringo-kyaku。{count}語から選び、1語あたり{bits}ビット）",
  wordListEnglish: "英単語（例: cactus-rumble-nimbly。{count}語から選び、1語あたり約{bits}ビット）",
  separator: "区切り文字",
  capitalize: "単語の頭を大文字にする",
  includeNumber: "数字を1つ入れる",
  generate: "生成する",
  results: "生成したパスワード",
  entropy: "推測されにくさ: {label}（約{bits}ビット）",
  entropyExplained:
    "ビット数は、ありうるパスワードの数を表します。1ビット増えるごとに数は2倍になります。80ビットあれば、1秒間に1兆回試せるコンピューターでも、すべて試すのに約4万年かかります。40ビット未満は「弱い」、60ビット未満は「普通」、80ビット未満は「強い」、それ以上は「とても強い」です。",
  copy: "コピー",
  copied: "コピーしました",
  copyHint: "行をクリックするとコピーできます。",
  use: "このパスワードを使う",
  used: "フォームに入力しました。このタブは閉じてかまいません。",
  downloadTxt: "テキストでダウンロード（.txt）",
  downloadCsv: "CSVでダウンロード（.csv）",
  password: "パスワード",
  actions: "操作",
  csvHeaders: ["パスワード", "ビット数", "推測されにくさ"],
  fitsPolicy: "このサイトのパスワードの条件を満たしています。",
  tooShort: "このサイトで使うには短すぎます（{min}文字以上にしてください）。ほかの用途には使えます。",
  tooWeak: "このサイトで使うには弱すぎます。文字数や単語を増やしてください。ほかの用途には使えます。",
  strength: { weak: "弱い", fair: "普通", strong: "強い", very_strong: "とても強い" },
  classNames: { uppercase: "英大文字", lowercase: "英小文字", digits: "数字", symbols: "記号" },
  link: "パスワード生成ツールで作る",
  problems: {
    length_out_of_range: "文字数は{min}から{max}の間で指定してください。",
    no_character_class: "使う文字の種類を1つ以上選んでください。",
    minimum_without_class: "「{class}」を選ばずに最低数は指定できません。",
    minimums_over_length: "最低数の合計（{minimums}文字）が文字数（{length}文字）を超えています。",
    class_emptied: "除いた文字のため「{class}」に使える文字が残っていません。",
    symbol_not_allowed: "記号に使えるのは半角の記号だけです（「{character}」は使えません）。",
    words_out_of_range: "単語の数は{min}から{max}の間で指定してください。",
    separator_too_long: "区切り文字は{max}文字以内にしてください。",
    count_out_of_range: "作成する数は{min}から{max}の間で指定してください。",
    invalid_number: "数字で入力してください。",
    invalid_value: "「{field}」の値が正しくありません。",
  },
};

const en: typeof ja = {
  title: "Password generator",
  intro:
    "Make passwords that are hard to guess. They are made in this browser, on this device, and never sent to {shop}'s server.",
  introNoScript:
    "Make passwords that are hard to guess. JavaScript is off, so the server makes them and shows them (never storing or logging them).",
  modeCharacters: "Characters",
  modePassphrase: "Words (passphrase)",
  mode: "Kind",
  uppercase: "Upper case (A–Z)",
  lowercase: "Lower case (a–z)",
  digits: "Digits (0–9)",
  symbols: "Symbols",
  symbolSet: "Symbols to use",
  length: "Length ({min}–{max})",
  count: "How many (1–{max})",
  minDigits: "Minimum number of digits",
  minSymbols: "Minimum number of symbols",
  excludeAmbiguous: "Leave out look-alike characters (0 O o 1 l I |)",
  exclude: "Never use these characters",
  words: "Words ({min}–{max})",
  wordList: "Words from",
  wordListRomaji:
    "Japanese words in romaji (e.g. sakura-ringo-kyaku; one of {count} each, {bits} bits a word)",
  wordListEnglish: "English words (e.g. cactus-rumble-nimbly; one of {count} each, about {bits} bits a word)",
  separator: "Separator",
  capitalize: "Capitalise each word",
  includeNumber: "Include a number",
  generate: "Generate",
  results: "Your passwords",
  entropy: "How hard to guess: {label} (about {bits} bits)",
  entropyExplained:
    "Bits count the possible passwords: each extra bit doubles them. At 80 bits, a computer trying a trillion passwords a second would need about 40,000 years to try them all. Under 40 bits is Weak, under 60 Fair, under 80 Strong, and 80 or more Very strong.",
  copy: "Copy",
  copied: "Copied",
  copyHint: "Click a row to copy it.",
  use: "Use this password",
  used: "Filled in the form. You can close this tab.",
  downloadTxt: "Download as text (.txt)",
  downloadCsv: "Download as CSV (.csv)",
  password: "Password",
  actions: "Actions",
  csvHeaders: ["password", "entropy_bits", "strength"],
  fitsPolicy: "Meets this site's password rules.",
  tooShort: "Too short to use on this site (use at least {min} characters); fine for other uses.",
  tooWeak: "Too weak to use on this site: add characters or words. Fine for other uses.",
  strength: { weak: "Weak", fair: "Fair", strong: "Strong", very_strong: "Very strong" },
  classNames: { uppercase: "upper case", lowercase: "lower case", digits: "digits", symbols: "symbols" },
  link: "Make one with the password generator",
  problems: {
    length_out_of_range: "Choose a length from {min} to {max}.",
    no_character_class: "Choose at least one kind of character.",
    minimum_without_class: "A minimum of {class} needs {class} chosen.",
    minimums_over_length: "The minimums add up to {minimums} characters, more than the length ({length}).",
    class_emptied: "The characters left out leave no {class} to use.",
    symbol_not_allowed: "Symbols must be ASCII punctuation (“{character}” is not).",
    words_out_of_range: "Choose from {min} to {max} words.",
    separator_too_long: "Use a separator of at most {max} characters.",
    count_out_of_range: "Choose how many from {min} to {max}.",
    invalid_number: "Enter a whole number.",
    invalid_value: "“{field}” has a value that is not allowed.",
  },
};

export type GeneratorText = typeof ja;

export function generatorText(locale: Locale): GeneratorText {
  return locale === "ja" ? ja : en;
}

export function problemMessage(problem: OptionsProblem, locale: Locale): string {
  const text = generatorText(locale);
  const values: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(problem)) {
    if (key !== "reason" && (typeof value === "string" || typeof value === "number")) values[key] = value;
  }
  if ("characterClass" in problem)
    values.class = text.classNames[problem.characterClass as CharacterClassName];
  return format(text.problems[problem.reason], values);
}

export function policyMessage(fit: PolicyFit, locale: Locale): string {
  const text = generatorText(locale);
  if (fit.ok) return text.fitsPolicy;
  return fit.problem === "too_short" ? format(text.tooShort, { min: fit.minLength }) : text.tooWeak;
}

export function strengthName(label: StrengthLabel, locale: Locale): string {
  return generatorText(locale).strength[label];
}
