import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Locale } from "../../config/config.ts";
import type { Deps } from "../../deps.ts";
import { federationButtons } from "../../federation/buttons.ts";
import { ensureCsrfToken } from "../../http/csrf.ts";
import { type ErrorCode, errorMessage, errorStatuses } from "../../http/errors.ts";
import {
  type BrowserBoundFlow,
  bindFlowToBrowser,
  isFlowOfThisBrowser,
  releaseFlowFromBrowser,
} from "../../http/flow-browser.ts";
import {
  answeredWithMaintenance,
  checkFormToken,
  formField,
  sendFormExpired,
  sendPage,
} from "../../http/pages.ts";
import { requestMeta, setSessionCookie } from "../../http/request-context.ts";
import { codeSlip, formText, hasNonHalfWidth } from "../../i18n/form-text.ts";
import { format } from "../../i18n/locale.ts";
import { formatDateTime, pageText } from "../../i18n/page-text.ts";
import { profileText } from "../../i18n/profile-text.ts";
import { csrfField, errorSummary, type FieldErrors, field } from "../../views/forms.ts";
import { html } from "../../views/html.ts";
import type { FlowFailure } from "../flow-result.ts";
import { resendRegistrationCode, startRegistration, verifyRegistration } from "./registration.ts";

type SignUpForm = {
  name: string;
  email: string;
  errors: FieldErrors;
  general?: string;
  /** The general error's code, for the summary's heading. */
  problem?: ErrorCode;
};

function renderSignUp(
  reply: FastifyReply,
  locale: Locale,
  csrfToken: string,
  status: number,
  form: SignUpForm,
  deps?: Deps,
): FastifyReply {
  const text = pageText(locale).signUp;
  const body = html`<div class="card">
<h1>${text.title}</h1>
${errorSummary(locale, form.errors, form.general, undefined, form.problem)}
<form method="post" action="/sign-up" novalidate>
  ${csrfField(csrfToken)}
  ${field({ name: "name", label: text.name, value: form.name, autocomplete: "name", required: true, autofocus: true, maxlength: 100, errors: form.errors })}
  ${field({ name: "email", label: text.email, type: "email", value: form.email, autocomplete: "email", inputmode: "email", required: true, maxlength: 254, errors: form.errors })}
  ${field({ name: "password", label: text.password, hint: text.passwordHint, type: "password", locale, autocomplete: "new-password", required: true, maxlength: 4096, errors: form.errors, strength: { locale, fields: ["name", "email"] } })}
  <button type="submit" class="wide">${text.submit}</button>
</form>
${deps ? federationButtons(deps.config, locale, csrfToken, "/account", "sign_up") : ""}
<div class="links"><p>${text.haveAccount} <a href="/sign-in">${text.signIn}</a></p></div>
</div>`;
  return sendPage(reply, status, { locale, title: text.title, path: "/sign-up", body });
}

type VerifyForm = {
  registrationId: string;
  email: string;
  expiresAt: string;
  errors: FieldErrors;
  general?: string;
  /** The general error's code, for the summary's heading. */
  problem?: ErrorCode;
  notice?: string;
};

function renderVerify(
  reply: FastifyReply,
  locale: Locale,
  csrfToken: string,
  status: number,
  form: VerifyForm,
): FastifyReply {
  const text = pageText(locale).verifyEmail;
  const body = html`<div class="card">
<h1>${text.title}</h1>
${errorSummary(locale, form.errors, form.general, undefined, form.problem)}
<p>${format(text.intro, { email: form.email })}</p>
<p class="hint">${format(text.expires, { time: formatDateTime(form.expiresAt, locale) })}</p>
<form method="post" action="/sign-up/verify" novalidate>
  ${csrfField(csrfToken)}
  <input type="hidden" name="registration" value="${form.registrationId}">
  ${field({ name: "code", label: text.code, autocomplete: "one-time-code", inputmode: "numeric", required: true, autofocus: true, maxlength: 12, errors: form.errors })}
  <button type="submit" class="wide">${text.submit}</button>
</form>
<form method="post" action="/sign-up/resend" class="links">
  ${csrfField(csrfToken)}
  <input type="hidden" name="registration" value="${form.registrationId}">
  <p class="hint">${text.decoyNote}</p>
  <button type="submit" class="secondary">${text.resend}</button>
</form>
<div class="links"><p><a href="/sign-up?registration=${encodeURIComponent(form.registrationId)}">${profileText(locale).changeEmail}</a></p></div>
</div>`;
  return sendPage(reply, status, {
    locale,
    title: text.title,
    path: `/sign-up/verify?registration=${form.registrationId}`,
    body,
    ...(form.notice ? { notice: form.notice } : {}),
  });
}

/**
 * Every field's problem of a refused sign-up, in the words of this form: an empty field asks for
 * itself, an address that is not half-width even after NFKC says so; a general one (too many
 * sign-ups from here) heads the summary with its own heading.
 */
function signUpErrors(
  locale: Locale,
  problems: readonly FlowFailure[],
  typed: { email: string; password: string },
): { errors: FieldErrors; general?: string; problem?: ErrorCode } {
  const t = formText(locale);
  const errors: FieldErrors = {};
  for (const f of problems) {
    if (!f.field) return { errors: {}, general: errorMessage(f.code, locale, f), problem: f.code };
    errors[f.field] = errorMessage(f.code, locale, f);
  }
  if (errors.email && typed.email.trim() === "") errors.email = t.missing.email;
  else if (errors.email && hasNonHalfWidth(typed.email.trim())) errors.email = t.halfWidthEmail;
  if (errors.password && typed.password === "") errors.password = t.missing.password;
  return { errors };
}

function fieldErrors(locale: Locale, f: FlowFailure): { errors: FieldErrors; general?: string } {
  const message = errorMessage(f.code, locale, f);
  return f.field ? { errors: { [f.field]: message } } : { errors: {}, general: message };
}

/** Sign-up, confirm the email with the code, resend: plain forms that work without JavaScript. */
/**
 * The code page of a registration belongs to the browser that signed up (src/http/flow-browser.ts).
 * Attack: the page's URL (`/sign-up/verify?registration=…`) from a shared computer's history would
 * otherwise show the address being registered, spend its tries and send it more mail. Without the
 * cookie the page and its forms answer like an unknown registration: back to the sign-up page.
 */
const registrationPages: BrowserBoundFlow = {
  cookie: "mamori_sign_up",
  path: "/sign-up/verify",
  purpose: "registration-browser",
};

export function registerRegistrationPages(app: FastifyInstance, deps: Deps): void {
  /** The registration `id`, when it is still waiting for its code and this browser started it. */
  async function ownRegistration(request: FastifyRequest, id: string) {
    if (!isFlowOfThisBrowser(deps.config, request, registrationPages, id)) return undefined;
    const row = await registrationView(id);
    return row?.state === "code_sent" ? row : undefined;
  }

  async function registrationView(id: string) {
    return deps.db
      .selectFrom("registration")
      .select(["id", "email", "name", "expires_at", "state"])
      .where("id", "=", id)
      .executeTakeFirst();
  }

  app.get("/sign-up", async (request: FastifyRequest<{ Querystring: { registration?: string } }>, reply) => {
    if (await answeredWithMaintenance(deps, request, reply, "/sign-up")) return reply;
    const token = ensureCsrfToken(request, reply, deps.config, deps.random);
    // 「Eメールアドレスを変更」 from the code page: the form again, filled in (never the password),
    // only for the browser that started the registration.
    const id = String(request.query.registration ?? "").slice(0, 64);
    const started = id ? await ownRegistration(request, id) : undefined;
    return renderSignUp(
      reply,
      request.locale,
      token,
      200,
      { name: started?.name ?? "", email: started?.email ?? "", errors: {} },
      deps,
    );
  });

  app.post("/sign-up", async (request, reply) => {
    const locale = request.locale;
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, locale, "/sign-up");
    if (await answeredWithMaintenance(deps, request, reply, "/sign-up")) return reply;
    const token = ensureCsrfToken(request, reply, deps.config, deps.random);
    const name = formField(request, "name").slice(0, 200);
    const email = formField(request, "email").slice(0, 320);
    const password = formField(request, "password").slice(0, 4096);
    const result = await startRegistration(deps, { name, email, password, locale }, requestMeta(request));
    if (!result.ok) {
      if (result.retryAfterSeconds !== undefined)
        reply.header("retry-after", String(result.retryAfterSeconds));
      return renderSignUp(reply, locale, token, errorStatuses[result.code], {
        name,
        email,
        ...signUpErrors(locale, result.problems ?? [result], { email, password }),
      });
    }
    bindFlowToBrowser(deps.config, reply, registrationPages, result.registration.id);
    return reply.redirect(`/sign-up/verify?registration=${encodeURIComponent(result.registration.id)}`, 303);
  });

  app.get(
    "/sign-up/verify",
    async (request: FastifyRequest<{ Querystring: { registration?: string; resent?: string } }>, reply) => {
      const locale = request.locale;
      const row = await ownRegistration(request, String(request.query.registration ?? "").slice(0, 64));
      if (!row) return reply.redirect("/sign-up", 303);
      const token = ensureCsrfToken(request, reply, deps.config, deps.random);
      return renderVerify(reply, locale, token, 200, {
        registrationId: row.id,
        email: row.email,
        expiresAt: row.expires_at,
        errors: {},
        ...(request.query.resent ? { notice: pageText(locale).verifyEmail.resent } : {}),
      });
    },
  );

  app.post("/sign-up/verify", async (request, reply) => {
    const locale = request.locale;
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, locale, "/sign-up");
    if (await answeredWithMaintenance(deps, request, reply, "/sign-up")) return reply;
    const token = ensureCsrfToken(request, reply, deps.config, deps.random);
    const id = formField(request, "registration").slice(0, 64);
    const own = await ownRegistration(request, id);
    if (!own) return reply.redirect("/sign-up", 303);
    const code = formField(request, "code").slice(0, 32);
    const slip = codeSlip(locale, code);
    if (slip) {
      const form = { registrationId: own.id, email: own.email, expiresAt: own.expires_at };
      return renderVerify(reply, locale, token, 400, { ...form, errors: { code: slip } });
    }
    const result = await verifyRegistration(deps, id, code, requestMeta(request));
    if (result.ok) {
      setSessionCookie(reply, deps.config, result.token, result.session);
      releaseFlowFromBrowser(deps.config, reply, registrationPages, id);
      return reply.redirect("/account/welcome", 303);
    }
    const row = await registrationView(id);
    if (row?.state !== "code_sent") {
      return renderSignUp(reply, locale, token, errorStatuses[result.code], {
        name: "",
        email: row?.email ?? "",
        errors: {},
        general: errorMessage(result.code, locale, result),
        problem: result.code,
      });
    }
    if (result.retryAfterSeconds !== undefined) reply.header("retry-after", String(result.retryAfterSeconds));
    return renderVerify(reply, locale, token, errorStatuses[result.code], {
      registrationId: row.id,
      email: row.email,
      expiresAt: row.expires_at,
      ...fieldErrors(locale, result),
    });
  });

  app.post("/sign-up/resend", async (request, reply) => {
    const locale = request.locale;
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, locale, "/sign-up");
    if (await answeredWithMaintenance(deps, request, reply, "/sign-up")) return reply;
    const token = ensureCsrfToken(request, reply, deps.config, deps.random);
    const id = formField(request, "registration").slice(0, 64);
    if (!(await ownRegistration(request, id))) return reply.redirect("/sign-up", 303);
    const result = await resendRegistrationCode(deps, id);
    if (result.ok)
      return reply.redirect(`/sign-up/verify?registration=${encodeURIComponent(id)}&resent=1`, 303);
    const row = await registrationView(id);
    if (row?.state !== "code_sent") return reply.redirect("/sign-up", 303);
    if (result.retryAfterSeconds !== undefined) reply.header("retry-after", String(result.retryAfterSeconds));
    return renderVerify(reply, locale, token, errorStatuses[result.code], {
      registrationId: row.id,
      email: row.email,
      expiresAt: row.expires_at,
      errors: {},
      general: errorMessage(result.code, locale, result),
      problem: result.code,
    });
  });
}
