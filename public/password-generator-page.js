// The password generator page, in the browser: the server's own generator module (its types
// stripped) draws the passwords here with Web Crypto, so they never cross the network. Without
// this file the form posts to the server, which generates them the same way.
import {
  CharacterGenerator,
  formatPasswordList,
  PassphraseGenerator,
  planCharacters,
  planPassphrase,
  policyFit,
  RandomPool,
  strengthLabel,
  webCryptoFill,
} from "/assets/generator/index.ts";

const root = document.getElementById("generator");
const form = document.getElementById("generator-form");
const results = document.getElementById("generator-results");
const text = JSON.parse(root.dataset.text);
const policyMinLength = Number(root.dataset.policyMinLength);
const forForm = root.dataset.forForm === "1";
const pool = new RandomPool(webCryptoFill);
// The page's new-password field listens on this channel (same origin only): see mamori.js.
const channel = "BroadcastChannel" in window ? new BroadcastChannel("mamori-password-generator") : null;
const wordLists = new Map();
let downloadUrls = [];

// The page says how it works: here, in this browser (the server's sentence is for pages without JavaScript).
document.getElementById("generator-no-script").hidden = true;
document.getElementById("generator-in-browser").hidden = false;
document.getElementById("generator-copy-hint").hidden = false;

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (whole, key) => (key in values ? String(values[key]) : whole));
}

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

const numberFields = ["count", "length", "minDigits", "minSymbols", "words"];
const flagFields = [
  "uppercase",
  "lowercase",
  "digits",
  "symbols",
  "excludeAmbiguous",
  "capitalize",
  "includeNumber",
];

/** The form's options, read as the server reads a posted form (generator-request.ts). */
function readOptions() {
  const data = new FormData(form);
  const options = { mode: data.get("mode") === "passphrase" ? "passphrase" : "characters" };
  for (const name of numberFields) {
    const value = String(data.get(name) ?? "").trim();
    if (value === "") continue;
    if (!/^\d{1,6}$/.test(value)) return { problem: { reason: "invalid_number", field: name } };
    options[name] = Number(value);
  }
  for (const name of flagFields) options[name] = data.has(name);
  for (const name of ["symbolSet", "exclude", "separator"]) options[name] = String(data.get(name) ?? "");
  options.wordList = data.get("wordList") === "romaji" ? "romaji" : "english";
  if (!options.digits) options.minDigits = 0;
  if (!options.symbols) options.minSymbols = 0;
  options.count ??= 10;
  options.length ??= 16;
  options.words ??= 6;
  return { options };
}

function problemText(problem) {
  const values = { ...problem };
  if (problem.characterClass) values.class = text.classNames[problem.characterClass];
  return fill(text.problems[problem.reason], values);
}

// The same files the server draws from: English (EFF) or Japanese in romaji (BIP39).
const wordListFiles = {
  english: "/assets/eff-large-wordlist.txt",
  romaji: "/assets/bip39-japanese-romaji.txt",
};

async function words(name) {
  if (!wordLists.has(name)) {
    const response = await fetch(wordListFiles[name]);
    wordLists.set(name, (await response.text()).trim().split("\n"));
  }
  return wordLists.get(name);
}

async function generateList(options) {
  if (options.count < 1 || options.count > 100) {
    return { problem: { reason: "count_out_of_range", min: 1, max: 100 } };
  }
  if (options.mode === "characters") {
    const planned = planCharacters(options);
    if (!planned.ok) return { problem: planned.problem };
    const passwords = new CharacterGenerator(planned.plan, pool).many(options.count);
    return { passwords, entropyBits: planned.plan.entropyBits };
  }
  const list = await words(options.wordList);
  const planned = planPassphrase(options, list.length);
  if (!planned.ok) return { problem: planned.problem };
  const generator = new PassphraseGenerator(planned.plan, pool, list);
  const passwords = Array.from({ length: options.count }, () => generator.next());
  return { passwords, entropyBits: planned.plan.entropyBits };
}

function showError(message) {
  const summary = element("div", {
    class: "error-summary",
    role: "alert",
    tabindex: "-1",
    id: "error-summary",
  });
  summary.append(element("p", {}, message));
  results.replaceChildren(summary);
  summary.focus();
}

async function copy(password, status) {
  try {
    await navigator.clipboard.writeText(password);
    status.textContent = text.copied;
  } catch {
    // No clipboard (an old browser, or permission refused): the password stays selectable.
  }
}

function use(password, status) {
  if (!channel) return;
  channel.postMessage({ type: "use-password", password });
  status.textContent = "";
  channel.onmessage = (event) => {
    if (event.data?.type === "password-filled") status.textContent = text.used;
  };
}

const csvWording = {
  headers: text.csvHeaders,
  strengthName: (label) => text.strength[label],
  byteOrderMark: true,
};

function downloadLink(passwords, entropyBits, format, label) {
  const type = format === "csv" ? "text/csv;charset=utf-8" : "text/plain;charset=utf-8";
  const content = formatPasswordList(passwords, entropyBits, format, csvWording);
  const url = URL.createObjectURL(new Blob([content], { type }));
  downloadUrls.push(url);
  return element("a", { download: `passwords.${format}`, href: url }, label);
}

/**
 * A row's buttons: one primary action, the rest secondary. Opened from a form, "Use this password"
 * is the primary one and "Copy" secondary; otherwise "Copy" is the only one.
 */
function rowActions(row, password, offerUse) {
  const status = element("span", { class: "copy-status", role: "status" });
  const copyButton = element("button", { type: "button", class: offerUse ? "secondary" : "" }, text.copy);
  copyButton.addEventListener("click", (event) => {
    event.stopPropagation();
    copy(password, status);
  });
  const cell = element("td", { class: "row-actions" }, copyButton, status);
  if (offerUse) {
    const useButton = element("button", { type: "button", class: "use-password" }, text.use);
    useButton.addEventListener("click", (event) => {
      event.stopPropagation();
      use(password, status);
    });
    cell.prepend(useButton);
  }
  row.append(cell);
  row.tabIndex = 0;
  row.addEventListener("click", () => copy(password, status));
  row.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target === row) copy(password, status);
  });
}

function render(options, passwords, entropyBits) {
  for (const url of downloadUrls) URL.revokeObjectURL(url);
  downloadUrls = [];
  const label = text.strength[strengthLabel(entropyBits)];
  const fit = policyFit(options, entropyBits, policyMinLength);
  const policy = fit.ok
    ? text.fitsPolicy
    : fit.problem === "too_short"
      ? fill(text.tooShort, { min: fit.minLength })
      : text.tooWeak;
  const rows = passwords.map((password) => {
    const row = element(
      "tr",
      { class: "password-row" },
      element("td", { class: "password-cell" }, element("code", { class: "password" }, password)),
    );
    rowActions(row, password, forForm && fit.ok);
    return row;
  });
  const headings = element(
    "tr",
    {},
    element("th", { scope: "col" }, text.password),
    element("th", { scope: "col", class: "row-actions" }, text.actions),
  );
  results.replaceChildren(
    element("h2", { id: "results-title" }, text.results),
    element("p", { class: "strength-summary" }, fill(text.entropy, { label, bits: Math.round(entropyBits) })),
    element("p", { class: "hint" }, text.entropyExplained),
    element("p", { class: fit.ok ? "notice" : "note" }, policy),
    element(
      "table",
      { class: "passwords", "aria-labelledby": "results-title" },
      element("thead", {}, headings),
      element("tbody", {}, ...rows),
    ),
    element(
      "p",
      { class: "downloads" },
      downloadLink(passwords, entropyBits, "txt", text.downloadTxt),
      " ",
      downloadLink(passwords, entropyBits, "csv", text.downloadCsv),
    ),
  );
}

function showModeFields() {
  const passphrase = form.elements.namedItem("mode").value === "passphrase";
  document.getElementById("characters-options").hidden = passphrase;
  document.getElementById("passphrase-options").hidden = !passphrase;
}

form.addEventListener("change", showModeFields);
showModeFields();

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const read = readOptions();
  if (read.problem) return showError(problemText(read.problem));
  const list = await generateList(read.options);
  if (list.problem) return showError(problemText(list.problem));
  render(read.options, list.passwords, list.entropyBits);
});

// The server's list (a page posted before this script ran, or reloaded) gets the same row actions;
// the server offered it for this site when it shows the policy's notice.
const serverRows = results.querySelectorAll("tr.password-row");
if (serverRows.length > 0) {
  const offerUse = forForm && results.querySelector("p.notice") !== null;
  results
    .querySelector("thead tr")
    ?.append(element("th", { scope: "col", class: "row-actions" }, text.actions));
  for (const row of serverRows) rowActions(row, row.querySelector("code.password").textContent, offerUse);
}
