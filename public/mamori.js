// Progressive enhancement only: every page works without this file.

// Moves focus to the error summary so screen-reader and keyboard users hear what went wrong.
function focusErrorSummary() {
  const summary = document.getElementById("error-summary");
  if (summary) summary.focus();
}

// A pause in typing this long asks the server once (it limits how often an address may ask).
const strengthDelayMs = 300;

/**
 * The live strength meter of a new-password field (marked data-strength by the server): after a
 * pause in typing, POST /api/v1/passwords/strength with the person's name and email as userInputs,
 * then show the bar, the label, the crack time and one piece of advice. The words come from the
 * meter's data attributes and the server's answer, in the page's language. Any failure (offline,
 * 429) leaves the meter as it was: the server still checks the password on submit.
 */
function setUpStrengthMeter(input) {
  const meter = document.getElementById(input.dataset.strength);
  if (!meter) return;
  const bar = meter.querySelector(".strength-bar");
  const text = meter.querySelector(".strength-text");
  const labels = JSON.parse(meter.dataset.labels || "[]");
  const known = JSON.parse(input.dataset.strengthInputs || "[]");
  const fields = (input.dataset.strengthFields || "")
    .split(" ")
    .filter(Boolean)
    .map((name) => input.form?.elements.namedItem(name))
    .filter((field) => field instanceof HTMLInputElement);
  let timer;
  let controller;

  function clear() {
    controller?.abort();
    bar.hidden = true;
    text.replaceChildren();
  }

  function line(className, words) {
    const p = document.createElement("p");
    p.className = className;
    p.textContent = words;
    return p;
  }

  function show(answer) {
    // A password the policy refuses is never shown as strong (one with the person's email in it
    // can score 4): the bar is empty and the label says it can't be used; the reason follows.
    const refused = !answer.policy.ok;
    // The label and the bar follow `level`, on the same scale as the crack time beside them.
    bar.className = `strength-bar strength-${refused ? 0 : answer.level}`;
    bar.hidden = false;
    const lines = [
      line("strength-label", refused ? meter.dataset.refused || "" : labels[answer.level] || ""),
      line(
        "strength-time",
        (meter.dataset.crackTime || "{time}").replace("{time}", answer.crackTime.display),
      ),
    ];
    // What the server would refuse comes first; otherwise zxcvbn's warning, then its first suggestion.
    const advice = answer.policy.ok ? answer.feedback.warning : answer.policy.message;
    if (advice) lines.push(line("strength-advice", advice));
    if (answer.feedback.suggestions[0]) lines.push(line("strength-advice", answer.feedback.suggestions[0]));
    text.replaceChildren(...lines);
  }

  async function check() {
    const password = input.value;
    const userInputs = [...known, ...fields.map((field) => field.value.trim()).filter(Boolean)]
      .map((value) => value.slice(0, 320))
      .slice(0, 10);
    controller?.abort();
    controller = new AbortController();
    try {
      const response = await fetch("/api/v1/passwords/strength", {
        method: "POST",
        headers: { "content-type": "application/json", "accept-language": document.documentElement.lang },
        body: JSON.stringify({ password: password.slice(0, 4096), userInputs }),
        credentials: "same-origin",
        signal: controller.signal,
      });
      if (!response.ok || input.value !== password) return;
      show(await response.json());
    } catch {
      // Aborted by newer typing, or offline: the next pause asks again.
    }
  }

  function schedule() {
    clearTimeout(timer);
    // Emptied: nothing to ask, and nothing left to show.
    if (input.value === "") return clear();
    timer = setTimeout(check, strengthDelayMs);
  }

  input.addEventListener("input", schedule);
  for (const field of fields) field.addEventListener("input", () => input.value && schedule());
}

/**
 * "Use this password" on the password generator (opened in another tab from the link under this
 * field) sends the chosen password on a same-origin BroadcastChannel: it fills this new-password
 * field and answers, so the generator can say it was filled. It never leaves the browser.
 */
function listenForGeneratedPassword(input) {
  if (!("BroadcastChannel" in window)) return;
  const channel = new BroadcastChannel("mamori-password-generator");
  channel.addEventListener("message", (event) => {
    if (event.data?.type !== "use-password" || typeof event.data.password !== "string") return;
    input.value = event.data.password;
    input.dispatchEvent(new Event("input", { bubbles: true }));
    // A password nobody typed is one nobody remembers: it is shown, and the person is told to save it.
    showPassword(input, true);
    announceGeneratedPassword(input);
    channel.postMessage({ type: "password-filled" });
  });
}

/**
 * A copy button the server marked data-copy (hidden without this file): copies that text (the
 * authenticator key without its spaces) and says so in the polite live region named by
 * data-copy-status, in the words of data-copied. Without a clipboard the text stays selectable.
 */
function setUpCopyButton(button) {
  const status = document.getElementById(button.dataset.copyStatus || "");
  button.hidden = false;
  button.addEventListener("click", async () => {
    if (status) status.textContent = "";
    try {
      await navigator.clipboard.writeText(button.dataset.copy || "");
      if (status) status.textContent = button.dataset.copied || "";
    } catch {
      // No clipboard (an old browser, an insecure page, permission refused): nothing is claimed.
    }
  });
}

/** The reminder under a field filled with a suggested password (its words come from the server). */
function announceGeneratedPassword(input) {
  const words = input.dataset.generatedNotice;
  if (!words) return;
  const id = `${input.id}-generated`;
  let notice = document.getElementById(id);
  if (!notice) {
    notice = document.createElement("p");
    notice.id = id;
    notice.className = "notice generated-password";
    notice.setAttribute("role", "status");
    // Under the field's 表示 button (which now shows it pressed), else under the field.
    const toggle = document.querySelector(`button[data-password-toggle="${input.id}"]`);
    (toggle ?? input).insertAdjacentElement("afterend", notice);
    const describedBy = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    input.setAttribute("aria-describedby", [...describedBy, id].join(" "));
  }
  notice.textContent = words;
}

/** Shows (type=text) or hides (type=password) a password field, and says so on its 表示 button. */
function showPassword(input, shown) {
  input.type = shown ? "text" : "password";
  for (const button of document.querySelectorAll(`button[data-password-toggle="${input.id}"]`))
    button.setAttribute("aria-pressed", String(shown));
}

/**
 * The 表示 button of every password field (hidden without JavaScript, which is all it needs): a
 * toggle between type=password and type=text. The field is hidden again before the form is sent,
 * so a browser never offers to remember it as plain text.
 */
function setUpPasswordToggle(button) {
  const input = document.getElementById(button.dataset.passwordToggle || "");
  if (!(input instanceof HTMLInputElement)) return;
  button.hidden = false;
  button.addEventListener("click", () => showPassword(input, input.type === "password"));
  input.form?.addEventListener("submit", () => showPassword(input, false));
}

document.addEventListener("DOMContentLoaded", () => {
  focusErrorSummary();
  for (const button of document.querySelectorAll("button[data-copy]")) setUpCopyButton(button);
  for (const button of document.querySelectorAll("button[data-password-toggle]")) setUpPasswordToggle(button);
  for (const input of document.querySelectorAll("input[data-strength]")) {
    setUpStrengthMeter(input);
    listenForGeneratedPassword(input);
  }
});
