import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Locale } from "../config/config.ts";
import type { Deps } from "../deps.ts";
import { groupedKey, otpauthUri, toBase32 } from "../factors/totp/totp.ts";
import { ensureCsrfToken } from "../http/csrf.ts";
import { errorMessage } from "../http/errors.ts";
import { checkFormToken, formField } from "../http/pages.ts";
import { requestMeta } from "../http/request-context.ts";
import { consoleText } from "../i18n/console-text.ts";
import { format } from "../i18n/locale.ts";
import { csrfField, passwordToggle } from "../views/forms.ts";
import { html, type SafeHtml } from "../views/html.ts";
import { completeEnrolment, openEnrolment, type StaffRow } from "./staff-accounts.ts";
import {
  clearStaffCookie,
  endStaffSession,
  loadStaffSession,
  type StaffSession,
  setStaffCookie,
  signInStaff,
} from "./staff-sessions.ts";

/**
 * The console's frame and its doors: sign-in (password and app code together), the enrolment
 * link's page, sign-out, and `staffPage`, which every console page goes through.
 */
export type ConsolePage = {
  locale: Locale;
  title: string;
  body: SafeHtml;
  staff?: StaffRow;
  csrfToken?: string;
  notice?: string;
};

export function renderConsole(page: ConsolePage): string {
  const t = consoleText(page.locale);
  const nav = page.staff
    ? html`<nav aria-label="${t.title}">
  <a href="/admin">${t.nav.dashboard}</a>
  <a href="/admin/customers">${t.nav.customers}</a>
  ${page.staff.role === "admin" ? html`<a href="/admin/staff">${t.nav.staff}</a>` : null}
  ${page.staff.role === "admin" ? html`<a href="/admin/webhooks">${t.nav.webhooks}</a> <a href="/admin/clients">${t.nav.clients}</a>` : null}
  <span>${page.staff.name} (${t.roles[page.staff.role]})</span>
  <form method="post" action="/admin/sign-out" class="inline">${csrfField(page.csrfToken ?? "")}<button type="submit" class="link">${t.nav.signOut}</button></form>
</nav>`
    : null;
  return html`<!doctype html>
<html lang="${page.locale}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<title>${page.title} | ${t.title}</title>
<link rel="stylesheet" href="/assets/mamori.css">
<link rel="stylesheet" href="/assets/mamori-security.css">
<script src="/assets/mamori.js" defer></script>
</head>
<body class="console">
<a class="skip" href="#main">${page.locale === "ja" ? "本文へ移動" : "Skip to content"}</a>
<header class="top"><a class="brand" href="/admin">${t.title}</a>${nav}</header>
<main id="main" tabindex="-1">
${page.notice ? html`<p class="notice" role="status">${page.notice}</p>` : null}
${page.body}
</main>
</body>
</html>`.value;
}

export function sendConsole(reply: FastifyReply, status: number, page: ConsolePage): FastifyReply {
  return reply
    .code(status)
    .header("content-type", "text/html; charset=utf-8")
    .header("cache-control", "no-store")
    .header("x-robots-tag", "noindex")
    .send(renderConsole(page));
}

export type StaffContext = StaffSession & { csrfToken: string };

/** A console page's session and form token, or a redirect to the staff sign-in (undefined). */
export async function staffPage(
  deps: Deps,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<StaffContext | undefined> {
  const session = await loadStaffSession(deps, request);
  if (!session) {
    reply.redirect("/admin/sign-in", 303);
    return undefined;
  }
  return { ...session, csrfToken: ensureCsrfToken(request, reply, deps.config, deps.random) };
}

function signInForm(locale: Locale, csrfToken: string, email: string, error?: string): SafeHtml {
  const t = consoleText(locale).signIn;
  return html`<div class="card">
<h1>${t.title}</h1>
<p>${t.intro}</p>
${error ? html`<div class="error-summary" role="alert"><p>${error}</p></div>` : null}
<form method="post" action="/admin/sign-in" novalidate>
${csrfField(csrfToken)}
<label for="email">${t.email}</label>
<input id="email" name="email" type="email" autocomplete="username" value="${email}" required>
<label for="password">${t.password}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
${passwordToggle(locale, "password")}
<label for="code">${t.code}</label>
<input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]*" maxlength="8" required>
<button type="submit">${t.submit}</button>
</form>
</div>`;
}

async function enrolPage(
  deps: Deps,
  locale: Locale,
  csrfToken: string,
  token: string,
  error?: string,
): Promise<{ status: number; body: SafeHtml }> {
  const t = consoleText(locale).enrol;
  const opened = await openEnrolment(deps, token);
  if (!opened.ok)
    return { status: 410, body: html`<div class="card"><h1>${t.title}</h1><p>${t.invalid}</p></div>` };
  const uri = otpauthUri(`${deps.config.passkeys.rpName} console`, opened.staff.email, opened.secret);
  const { default: QRCode } = await import("qrcode");
  const svg = await QRCode.toString(uri, { type: "svg", errorCorrectionLevel: "M", margin: 2 });
  const qr = `data:image/svg+xml;base64,${Buffer.from(svg).toString("base64")}`;
  return {
    status: error ? 400 : 200,
    body: html`<div class="card">
<h1>${t.title}</h1>
<p>${format(t.intro, { name: opened.staff.name })}</p>
${error ? html`<div class="error-summary" role="alert"><p>${error}</p></div>` : null}
<form method="post" action="/admin/enrol" novalidate>
${csrfField(csrfToken)}
<input type="hidden" name="token" value="${token}">
<label for="password">${t.password}</label>
<input id="password" name="password" type="password" autocomplete="new-password" required>
${passwordToggle(locale, "password")}
<p>${t.qr}</p>
<img src="${qr}" alt="QR" width="200" height="200">
<p>${t.key} <code data-totp-key>${groupedKey(toBase32(opened.secret))}</code></p>
<label for="code">${t.code}</label>
<input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="8" required>
<button type="submit">${t.submit}</button>
</form>
</div>`,
  };
}

export function registerStaffDoorPages(app: FastifyInstance, deps: Deps): void {
  app.get("/admin/sign-in", async (request, reply) => {
    const t = consoleText(request.locale);
    const csrfToken = ensureCsrfToken(request, reply, deps.config, deps.random);
    return sendConsole(reply, 200, {
      locale: request.locale,
      title: t.signIn.title,
      body: signInForm(request.locale, csrfToken, ""),
    });
  });

  app.post("/admin/sign-in", async (request, reply) => {
    const t = consoleText(request.locale);
    const csrfToken = ensureCsrfToken(request, reply, deps.config, deps.random);
    const email = formField(request, "email");
    if (!checkFormToken(request, deps.config)) {
      return sendConsole(reply, 403, {
        locale: request.locale,
        title: t.signIn.title,
        body: signInForm(request.locale, csrfToken, email, t.formExpired),
      });
    }
    const result = await signInStaff(
      deps,
      { email, password: formField(request, "password"), code: formField(request, "code") },
      requestMeta(request),
    );
    if (!result.ok) {
      const tooMany = result.reason === "too_many_attempts";
      if (tooMany && result.retryAfterSeconds) reply.header("retry-after", String(result.retryAfterSeconds));
      return sendConsole(reply, tooMany ? 429 : 401, {
        locale: request.locale,
        title: t.signIn.title,
        body: signInForm(request.locale, csrfToken, email, tooMany ? t.signIn.tooMany : t.signIn.invalid),
      });
    }
    setStaffCookie(reply, deps.config, result.token);
    return reply.redirect("/admin", 303);
  });

  app.post("/admin/sign-out", async (request, reply) => {
    const session = await loadStaffSession(deps, request);
    if (session && checkFormToken(request, deps.config)) await endStaffSession(deps, session.sessionId);
    clearStaffCookie(reply, deps.config);
    return reply.redirect("/admin/sign-in", 303);
  });

  app.get("/admin/enrol", async (request, reply) => {
    const token =
      typeof (request.query as Record<string, unknown>).token === "string"
        ? String((request.query as Record<string, unknown>).token)
        : "";
    const csrfToken = ensureCsrfToken(request, reply, deps.config, deps.random);
    const page = await enrolPage(deps, request.locale, csrfToken, token.slice(0, 200));
    return sendConsole(reply.header("referrer-policy", "no-referrer"), page.status, {
      locale: request.locale,
      title: consoleText(request.locale).enrol.title,
      body: page.body,
    });
  });

  app.post("/admin/enrol", async (request, reply) => {
    const t = consoleText(request.locale);
    const csrfToken = ensureCsrfToken(request, reply, deps.config, deps.random);
    const token = formField(request, "token").slice(0, 200);
    if (!checkFormToken(request, deps.config)) {
      const page = await enrolPage(deps, request.locale, csrfToken, token, t.formExpired);
      return sendConsole(reply, 403, { locale: request.locale, title: t.enrol.title, body: page.body });
    }
    const result = await completeEnrolment(deps, {
      token,
      password: formField(request, "password"),
      code: formField(request, "code"),
    });
    if (!result.ok) {
      const error =
        result.reason === "password_rejected"
          ? errorMessage(
              result.problem.code,
              request.locale,
              "values" in result.problem ? { values: result.problem.values } : {},
            )
          : result.reason === "code_invalid"
            ? t.enrol.codeInvalid
            : t.enrol.invalid;
      const page = await enrolPage(deps, request.locale, csrfToken, token, error);
      return sendConsole(reply, page.status === 410 ? 410 : 400, {
        locale: request.locale,
        title: t.enrol.title,
        body: page.body,
      });
    }
    return sendConsole(reply, 200, {
      locale: request.locale,
      title: t.enrol.title,
      body: html`<div class="card"><h1>${t.enrol.title}</h1><p>${t.enrol.done}</p><p><a href="/admin/sign-in">${t.signIn.title}</a></p></div>`,
    });
  });
}
