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
let wordList;
let downloadUrls = [];

document.getElementById("generator-no-script").hidden = true;
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

async function words() {
  if (!wordList) {
    const response = await fetch("/assets/eff-large-wordlist.txt");
    wordList = (await response.text()).trim().split("\n");
  }
  return wordList;
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
  const list = await words();
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

function downloadLink(passwords, entropyBits, format, label) {
  const type = format === "csv" ? "text/csv" : "text/plain";
  const url = URL.createObjectURL(new Blob([formatPasswordList(passwords, entropyBits, format)], { type }));
  downloadUrls.push(url);
  return element("a", { download: `passwords.${format}`, href: url }, label);
}

function render(options, passwords, entropyBits) {
  for (const url of downloadUrls) URL.revokeObjectURL(url);
  downloadUrls = [];
  const bits = entropyBits.toFixed(1);
  const label = text.strength[strengthLabel(entropyBits)];
  const fit = policyFit(options, entropyBits, policyMinLength);
  const policy = fit.ok
    ? text.fitsPolicy
    : fit.problem === "too_short"
      ? fill(text.tooShort, { min: fit.minLength })
      : text.tooWeak;
  const rows = passwords.map((password) => {
    const status = element("span", { class: "copy-status", role: "status" });
    const copyButton = element("button", { type: "button", class: "link" }, text.copy);
    const row = element(
      "tr",
      { class: "password-row", tabindex: "0" },
      element("td", {}, element("code", { class: "password" }, password)),
      element("td", {}, bits),
      element("td", {}, label),
      element("td", {}, copyButton, status),
    );
    row.addEventListener("click", () => copy(password, status));
    row.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && event.target === row) copy(password, status);
    });
    if (forForm && fit.ok) {
      const useButton = element("button", { type: "button", class: "use-password" }, text.use);
      useButton.addEventListener("click", (event) => {
        event.stopPropagation();
        use(password, status);
      });
      row.lastChild.prepend(useButton);
    }
    return row;
  });
  const columns = [text.password, text.bits, text.strengthColumn, ""];
  const headings = element("tr", {}, ...columns.map((h) => element("th", { scope: "col" }, h)));
  results.replaceChildren(
    element("h2", { id: "results-title" }, text.results),
    element("p", {}, `${fill(text.entropy, { bits })} (${label})`),
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

// The server's list (a page posted before this script ran, or reloaded) gets the same row actions.
for (const code of results.querySelectorAll("code.password")) {
  const row = code.closest("tr");
  const status = element("span", { class: "copy-status", role: "status" });
  row.append(element("td", {}, status));
  row.addEventListener("click", () => copy(code.textContent, status));
}
