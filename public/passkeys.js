// Passkeys in the browser: "Sign in with a passkey", passkey autofill on the sign-in page, a
// passkey as the second step, "Use a passkey instead" to confirm it's you again, and "Create a
// passkey". The WebAuthn calls go through @simplewebauthn/browser (served as
// /passkeys/webauthn-browser.js, the global SimpleWebAuthnBrowser); the server checks everything.
// Without JavaScript the buttons stay hidden and the page says passkeys need it; every other form
// works as it is.

const webauthn = window.SimpleWebAuthnBrowser;

/** POSTs JSON (or nothing) to the API from this origin; returns the status and the parsed body. */
async function post(url, body) {
  const init = { method: "POST", credentials: "same-origin", headers: { accept: "application/json" } };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : {} };
}

/** Shows a message in the button's status region (role=alert), in the page's language. */
function showError(button, message) {
  const region = document.getElementById(button.dataset.status);
  if (!region) return;
  region.textContent = message;
  region.hidden = false;
}

function clearError(button) {
  const region = document.getElementById(button.dataset.status);
  if (region) region.hidden = true;
}

/** The API's own message when it sent one, else the button's words for a cancelled or failed ceremony. */
function messageFor(button, failure) {
  if (failure?.body?.error?.message) return failure.body.error.message;
  if (failure instanceof Error && (failure.name === "NotAllowedError" || failure.name === "AbortError"))
    return button.dataset.cancelled;
  return button.dataset.failed;
}

/**
 * WebAuthn Level 3's Signal API: tells the browser's passkey provider what Mamori knows, so a
 * removed passkey stops being offered and a new email or name shows in its list. Each method is
 * feature-detected: a browser without it (or without WebAuthn at all) skips it silently. A signal
 * is advice to the provider; nothing the person needs to see comes of it, success or failure.
 */
const credentialApi = window.PublicKeyCredential;

/** A passkey Mamori knows under no account (removed, or never registered here): the provider may drop it. */
async function signalUnknown(rpId, credentialId) {
  if (typeof credentialApi?.signalUnknownCredential !== "function" || !rpId || !credentialId) return;
  try {
    await credentialApi.signalUnknownCredential({ rpId, credentialId });
  } catch {
    // Refused (an rpId this page may not speak for, a malformed id): nothing to do.
  }
}

/** The signed-in account's accepted passkeys and current details, from /api/v1/passkeys/signals. */
async function signalCurrentState() {
  const all = typeof credentialApi?.signalAllAcceptedCredentials === "function";
  const details = typeof credentialApi?.signalCurrentUserDetails === "function";
  if (!all && !details) return;
  try {
    const response = await fetch("/api/v1/passkeys/signals", {
      credentials: "same-origin",
      headers: { accept: "application/json" },
    });
    if (!response.ok) return;
    const state = await response.json();
    if (all) {
      await credentialApi.signalAllAcceptedCredentials({
        rpId: state.rpId,
        userId: state.userId,
        allAcceptedCredentialIds: state.acceptedCredentialIds,
      });
    }
    if (details) {
      await credentialApi.signalCurrentUserDetails({
        rpId: state.rpId,
        userId: state.userId,
        name: state.name,
        displayName: state.displayName,
      });
    }
  } catch {
    // A network hiccup or a provider that refused: the next visit signals again.
  }
}

/** After a failed passkey answer: a credential Mamori does not know at all is signalled unknown. */
async function signalIfUnknown(failure, started, credential) {
  if (failure?.body?.error?.code !== "passkey_unknown_credential" || !credential) return;
  await signalUnknown(started?.body?.options?.rpId, credential.id);
}

/** Where a sign-in goes next: the return address, or the two-step page of a passkey that was one factor. */
function afterSignIn(result, returnTo) {
  if (result.body.status === "two_step_required") {
    const id = encodeURIComponent(result.body.challenge.id);
    window.location.assign(`/sign-in/two-step/${id}?return_to=${encodeURIComponent(returnTo)}`);
    return;
  }
  window.location.assign(returnTo);
}

async function finishSignIn(button, started, credential, extra) {
  const result = await post("/api/v1/passkeys/authentication/verify", {
    challengeId: started.body.challengeId,
    credential,
    ...extra,
  });
  if (result.status !== 200) throw result;
  // Signed in now (not only one factor): the provider learns the account's current passkeys and name.
  if (result.body.status !== "two_step_required") await signalCurrentState();
  afterSignIn(result, button.dataset.returnTo || "/account");
}

function keepSignedIn() {
  const box = document.getElementById("keep_signed_in");
  return box instanceof HTMLInputElement && box.checked;
}

/** "Sign in with a passkey": the browser asks which passkey (none named: any of this site's). */
async function signIn(button) {
  clearError(button);
  let started;
  let credential;
  try {
    started = await post("/api/v1/passkeys/authentication/options", {});
    if (started.status !== 200) throw started;
    credential = await webauthn.startAuthentication({ optionsJSON: started.body.options });
    await finishSignIn(button, started, credential, { keepSignedIn: keepSignedIn() });
  } catch (failure) {
    showError(button, messageFor(button, failure));
    await signalIfUnknown(failure, started, credential);
  }
}

/**
 * Autofill (conditional mediation): the identifier field lists this site's passkeys beside saved
 * usernames; picking one signs in. A button press cancels it (the library aborts the pending call).
 */
async function offerAutofill(button) {
  if (!(await webauthn.browserSupportsWebAuthnAutofill())) return;
  let credential;
  let started;
  try {
    started = await post("/api/v1/passkeys/authentication/options", {});
    if (started.status !== 200) return;
    credential = await webauthn.startAuthentication({
      optionsJSON: started.body.options,
      useBrowserAutofill: true,
    });
    await finishSignIn(button, started, credential, { keepSignedIn: keepSignedIn() });
  } catch (failure) {
    // Before a passkey was picked, nothing happened that the person did: the offer was cancelled
    // (the button, leaving the page), timed out, or this browser has none to offer. Silence; the
    // page must not greet someone with an error. Only a picked passkey that failed is reported.
    if (credential === undefined) return;
    showError(button, messageFor(button, failure));
    await signalIfUnknown(failure, started, credential);
  }
}

/** "Use a passkey" at the two-step challenge: one of the account's passkeys completes the sign-in. */
async function secondStep(button) {
  clearError(button);
  let started;
  let credential;
  try {
    started = await post("/api/v1/passkeys/authentication/options", {
      signInChallengeId: button.dataset.challengeId,
    });
    if (started.status !== 200) throw started;
    credential = await webauthn.startAuthentication({ optionsJSON: started.body.options });
    const trust = document.getElementById(button.dataset.trust);
    await finishSignIn(button, started, credential, {
      trustDevice: trust instanceof HTMLInputElement && trust.checked,
    });
  } catch (failure) {
    showError(button, messageFor(button, failure));
    await signalIfUnknown(failure, started, credential);
  }
}

/**
 * "Use a passkey instead" of the password (or of a step-up code): one of the signed-in account's
 * passkeys, then back to the page that asked. On the step-up page a passkey that did not verify the
 * person (no PIN or biometrics) is not enough, and the button says so rather than going back.
 */
async function reauthenticate(button) {
  clearError(button);
  try {
    const started = await post("/api/v1/passkeys/reauthentication/options");
    if (started.status !== 200) throw started;
    const credential = await webauthn.startAuthentication({ optionsJSON: started.body.options });
    const result = await post("/api/v1/passkeys/reauthentication/verify", {
      challengeId: started.body.challengeId,
      credential,
    });
    if (result.status !== 200) throw result;
    if (button.dataset.stepUp && !result.body.steppedUp) {
      showError(button, button.dataset.notVerified);
      return;
    }
    window.location.assign(button.dataset.returnTo || "/account/security");
  } catch (failure) {
    showError(button, messageFor(button, failure));
  }
}

/** "Create a passkey": options (the server checks the recent sign-in), the browser's ceremony, verify. */
async function register(button) {
  clearError(button);
  button.disabled = true;
  try {
    const started = await post("/api/v1/passkeys/registration/options");
    if (started.status !== 200) throw started;
    const credential = await webauthn.startRegistration({ optionsJSON: started.body.options });
    const nameField = document.getElementById(button.dataset.name);
    const name = nameField instanceof HTMLInputElement ? nameField.value.trim() : "";
    const result = await post("/api/v1/passkeys/registration/verify", {
      challengeId: started.body.challengeId,
      credential,
      ...(name ? { name } : {}),
    });
    if (result.status !== 201) throw result;
    window.location.assign(button.dataset.doneUrl);
  } catch (failure) {
    showError(button, messageFor(button, failure));
    button.disabled = false;
  }
}

/**
 * Right after a password sign-in, where the browser says it can (`conditionalCreate` in
 * getClientCapabilities): ask the password manager that filled the password to create a passkey
 * too, without a dialog (WebAuthn's conditional create, mediation "conditional"). The server runs
 * its normal registration ceremony; the browser creates nothing unless its manager agrees, and
 * then the page says a passkey was added. Any refusal is silent: it was an offer, not a request.
 */
async function conditionalCreate(block) {
  if (typeof credentialApi?.getClientCapabilities !== "function") return;
  let capabilities;
  try {
    capabilities = await credentialApi.getClientCapabilities();
  } catch {
    return;
  }
  if (capabilities?.conditionalCreate !== true) return;
  try {
    const started = await post("/api/v1/passkeys/registration/options?mediation=conditional");
    if (started.status !== 200) return;
    const credential = await webauthn.startRegistration({
      optionsJSON: started.body.options,
      useAutoRegister: true,
    });
    const result = await post("/api/v1/passkeys/registration/verify", {
      challengeId: started.body.challengeId,
      credential,
    });
    if (result.status !== 201) return;
    block.hidden = false;
  } catch {
    // No password manager agreed, or it was not the one that filled the password: nothing to say.
  }
}

function setUp() {
  if (!webauthn?.browserSupportsWebAuthn()) return;
  for (const block of document.querySelectorAll("[data-passkey-signals]")) {
    if (block instanceof HTMLElement) signalCurrentState();
  }
  for (const block of document.querySelectorAll("[data-passkey-conditional-create]")) {
    if (block instanceof HTMLElement) conditionalCreate(block);
  }
  for (const block of document.querySelectorAll("[data-passkey-block]")) block.hidden = false;
  for (const note of document.querySelectorAll("[data-passkey-nojs]")) note.hidden = true;
  for (const button of document.querySelectorAll("[data-passkey-sign-in]")) {
    button.addEventListener("click", () => signIn(button));
    if (document.querySelector("input[autocomplete~='webauthn']")) offerAutofill(button);
  }
  for (const button of document.querySelectorAll("[data-passkey-second-step]")) {
    button.addEventListener("click", () => secondStep(button));
  }
  for (const button of document.querySelectorAll("[data-passkey-reauthenticate]")) {
    button.addEventListener("click", () => reauthenticate(button));
  }
  for (const button of document.querySelectorAll("[data-passkey-register]")) {
    button.addEventListener("click", () => register(button));
  }
}

setUp();
