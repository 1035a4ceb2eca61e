import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { sendRefusalPage } from "../../account/refusal-page.ts";
import type { Locale } from "../../config/config.ts";
import type { Deps } from "../../deps.ts";
import { federationButtons } from "../../federation/buttons.ts";
import { signInHelpPath } from "../../help/sign-in-help.ts";
import { cookieName } from "../../http/cookie-names.ts";
import { ensureCsrfToken } from "../../http/csrf.ts";
import { type ErrorCode, errorMessage, errorStatuses } from "../../http/errors.ts";
import {
  answeredWithMaintenance,
  checkFormToken,
  formField,
  safeReturnTarget,
  sendFormExpired,
  sendPage,
} from "../../http/pages.ts";
import { requestMeta, setSessionCookie } from "../../http/request-context.ts";
import { formText, notHalfWidthIdentifier } from "../../i18n/form-text.ts";
import { format } from "../../i18n/locale.ts";
import { pageText } from "../../i18n/page-text.ts";
import { shopText } from "../../i18n/shop-text.ts";
import { parseIdentifier } from "../../identity/identifiers.ts";
import { type ShopClient, shopOfReturnTo, toShopReturn } from "../../oidc/shop-return.ts";
import { trustedDeviceCookieName } from "../../session/trusted-devices.ts";
import { csrfField, errorSummary, type FieldErrors, field } from "../../views/forms.ts";
import { html } from "../../views/html.ts";
import { passkeySignInBlock } from "../passkeys/ui.ts";
import { handChallengeToBrowser } from "./challenge-browser.ts";
import { refusedPlaceName } from "./country-refusal.ts";
import { signInWithPassword } from "./sign-in.ts";

type SignInForm = {
  identifier: string;
  returnTo: string;
  error?: string;
  /** The error's code: the summary's heading says what happened (a lockout is not a typing slip). */
  errorCode?: ErrorCode;
  /** The field the error summary's message links to. */
  errorField?: string;
  notice?: string;
  /** Errors shown beside their fields (the summary links to each). */
  fieldErrors?: FieldErrors;
  /** The shop whose sign-in this is (OpenID Connect): named in the heading, with the way back. */
  shop?: ShopClient | undefined;
};

function renderSignIn(
  reply: FastifyReply,
  locale: Locale,
  csrfToken: string,
  status: number,
  form: SignInForm,
  deps?: Deps,
): FastifyReply {
  const text = pageText(locale).signIn;
  const errors = form.fieldErrors ?? {};
  const title = form.shop ? format(shopText(locale).heading, { client: form.shop.name }) : text.title;
  const body = html`<div class="card">
<h1>${title}</h1>
${errorSummary(locale, errors, form.error, form.errorField, form.errorCode)}
${form.error ? html`<p class="help-link"><a href="${signInHelpPath}${helpSection(form.errorCode)}">${formText(locale).helpLink}</a></p>` : null}
<form method="post" action="/sign-in" novalidate>
  ${csrfField(csrfToken)}
  <input type="hidden" name="return_to" value="${form.returnTo}">
  ${field({ name: "identifier", label: text.identifier, hint: text.identifierHint, type: "text", value: form.identifier, autocomplete: "username webauthn", required: true, autofocus: true, maxlength: 320, errors })}
  ${field({ name: "password", label: text.password, type: "password", locale, autocomplete: "current-password", required: true, maxlength: 4096, errors })}
  <div class="checkbox"><input type="checkbox" id="keep_signed_in" name="keep_signed_in" value="1" aria-describedby="keep-hint"><label for="keep_signed_in">${text.keepSignedIn}<br><span class="hint" id="keep-hint">${text.keepSignedInHint}</span></label></div>
  <button type="submit" class="wide">${text.submit}</button>
</form>
${passkeySignInBlock(locale, form.returnTo)}
${deps ? federationButtons(deps.config, locale, csrfToken, form.returnTo) : ""}
<div class="links">
  <p><a href="/password-reset">${text.forgotPassword}</a></p>
  <p><a href="/email-reminder">${text.forgotEmail}</a></p>
  <p><a href="${signInHelpPath}">${formText(locale).helpLink}</a></p>
</div>
</div>
<div class="card"><p>${text.newHere}</p><a class="button secondary" href="/sign-up">${text.createAccount}</a></div>`;
  return sendPage(reply, status, {
    locale,
    title,
    path: "/sign-in",
    body,
    ...(form.notice ? { notice: form.notice } : {}),
    // A shop's sign-in leads back to that shop (or, without its client URI, to none).
    ...(form.shop ? { shopReturn: toShopReturn(form.shop) ?? null } : {}),
  });
}

/**
 * What is wrong with the form before anything is checked against an account: an empty field, or
 * an identifier that is neither an address nor a number even after NFKC (full-width ｔａｒｏ＠… and
 * ０９０… are read as half-width) because it holds kana, kanji or 。 — that one can name no account,
 * so saying 「半角で入力してください」 tells nothing about who has one.
 */
function signInSlips(locale: Locale, identifier: string, password: string): FieldErrors {
  const t = formText(locale);
  const slips: FieldErrors = {};
  if (identifier.trim() === "") slips.identifier = t.missing.identifier;
  else if (parseIdentifier(identifier) === undefined) {
    const halfWidth = notHalfWidthIdentifier(locale, identifier);
    if (halfWidth) slips.identifier = halfWidth;
  }
  if (password === "") slips.password = t.missing.password;
  return slips;
}

/** The part of /help/sign-in about this error. */
function helpSection(code: ErrorCode | undefined): string {
  if (code === "too_many_attempts" || code === "throttle_unavailable") return "#too-many-attempts";
  if (code === "invalid_credentials") return "#wrong-password";
  return "";
}

/** The sign-in page: a plain form that works without JavaScript. */
export function registerSignInPages(app: FastifyInstance, deps: Deps): void {
  app.get(
    "/sign-in",
    async (
      request: FastifyRequest<{ Querystring: { return_to?: string; signed_out?: string; reset?: string } }>,
      reply,
    ) => {
      if (await answeredWithMaintenance(deps, request, reply, "/sign-in")) return reply;
      const token = ensureCsrfToken(request, reply, deps.config, deps.random);
      const query = request.query;
      const returnTo = safeReturnTarget(query.return_to, deps.config.allowedOrigins);
      return renderSignIn(
        reply,
        request.locale,
        token,
        200,
        {
          identifier: "",
          returnTo,
          shop: await shopOfReturnTo(deps, returnTo),
          ...(query.signed_out ? { notice: pageText(request.locale).signedOut } : {}),
          ...(query.reset ? { notice: pageText(request.locale).passwordReset.done } : {}),
        },
        deps,
      );
    },
  );

  app.post("/sign-in", async (request, reply) => {
    const locale = request.locale;
    if (!checkFormToken(request, deps.config)) return sendFormExpired(reply, locale, "/sign-in");
    if (await answeredWithMaintenance(deps, request, reply, "/sign-in")) return reply;
    const token = ensureCsrfToken(request, reply, deps.config, deps.random);
    const identifier = formField(request, "identifier").slice(0, 320);
    const returnTo = safeReturnTarget(formField(request, "return_to"), deps.config.allowedOrigins);
    const password = formField(request, "password").slice(0, 4096);
    const shop = await shopOfReturnTo(deps, returnTo);
    // Nothing typed is a slip, not a guess: it is answered here, before any count or hashing,
    // and asks for each empty field (never 「正しくありません」).
    const slips = signInSlips(locale, identifier, password);
    if (Object.keys(slips).length > 0) {
      return renderSignIn(reply, locale, token, 400, { identifier, returnTo, shop, fieldErrors: slips });
    }
    const result = await signInWithPassword(
      deps,
      {
        identifier,
        password,
        sessionType: "cookie",
        keepSignedIn: formField(request, "keep_signed_in") === "1",
        trustedDeviceToken: request.cookies[cookieName(deps.config, trustedDeviceCookieName)],
      },
      requestMeta(request),
    );
    if (!result.ok) {
      // No dead end: a blocked account or a refused place gets a page that says why and where to turn.
      if (result.code === "account_suspended" || result.code === "account_closed")
        return sendRefusalPage(
          reply,
          locale,
          deps.config.support,
          result.code === "account_suspended" ? "suspended" : "closed",
        );
      if (result.code === "country_not_allowed")
        return sendRefusalPage(reply, locale, deps.config.support, "country", {
          path: "/sign-in",
          place: await refusedPlaceName(requestMeta(request).ip, locale),
        });
      if (result.retryAfterSeconds !== undefined)
        reply.header("retry-after", String(result.retryAfterSeconds));
      return renderSignIn(reply, locale, token, errorStatuses[result.code], {
        identifier,
        returnTo,
        shop,
        error: errorMessage(result.code, locale, result),
        errorCode: result.code,
        // Wrong credentials: the summary links to the password field, which must be typed again.
        ...(result.code === "invalid_credentials" ? { errorField: "password" } : {}),
      });
    }
    if (result.status === "two_step_required") {
      handChallengeToBrowser(deps.config, reply, result.challenge.id);
      const challengePath = `/sign-in/two-step/${encodeURIComponent(result.challenge.id)}`;
      return reply.redirect(`${challengePath}?return_to=${encodeURIComponent(returnTo)}`, 303);
    }
    setSessionCookie(reply, deps.config, result.token, result.session);
    // Two-step was just turned off by a recovery: first the prompt to set it up again.
    if (result.twoStepRecovered)
      return reply.redirect(`/two-step-recovery/set-up-again?return_to=${encodeURIComponent(returnTo)}`, 303);
    return reply.redirect(returnTo, 303);
  });
}
