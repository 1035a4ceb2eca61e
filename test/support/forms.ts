import assert from "node:assert/strict";
import type { LightMyRequestResponse } from "fastify";
import { csrfCookieName } from "../../src/http/csrf.ts";
import { sameOrigin, type TestApp } from "./app.ts";

// The HTML forms driven the way a browser without JavaScript drives them, through inject(): GET a
// page (CSRF cookie + hidden field), POST the form, follow 303s.

/** A browser's view of one form page: its cookies, the hidden token, the HTML. */
export type Form = { cookie: string; csrf: string; body: string };

function setCookies(response: LightMyRequestResponse): string[] {
  const raw = response.headers["set-cookie"];
  return raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
}

/** The Path a response gives the cookie it sets under `name` ("/" without one), or undefined. */
export function cookiePathSetBy(response: LightMyRequestResponse, name: string): string | undefined {
  const header = setCookies(response).find((c) => c.startsWith(`${name}=`));
  if (header === undefined) return undefined;
  const path = header
    .split(";")
    .map((attribute) => attribute.trim())
    .find((attribute) => attribute.toLowerCase().startsWith("path="));
  return path?.slice("path=".length) ?? "/";
}

/** `name=value` of a cookie the response sets, or undefined. */
export function cookieSetBy(response: LightMyRequestResponse, name: string): string | undefined {
  return setCookies(response)
    .find((c) => c.startsWith(`${name}=`))
    ?.split(";")[0];
}

/**
 * The cookie a response sets to bind a flow of this kind (`mamori_reset`, ...) to the browser:
 * `name=value`, its name the kind and the flow's id (`mamori_reset_pwr_…`, `__Host-` first in production).
 */
export function flowCookieSetBy(response: LightMyRequestResponse, kind: string): string | undefined {
  const name = new RegExp(`^(__Host-)?${kind}_[A-Za-z0-9_-]+=`);
  return setCookies(response)
    .find((c) => name.test(c))
    ?.split(";")[0];
}

/** GETs a page with a form (asserting 200) and keeps the cookies a browser would send back. */
export async function openForm(
  s: TestApp,
  url: string,
  cookie = "",
  headers: Record<string, string> = {},
): Promise<Form> {
  const response = await s.inject({
    method: "GET",
    url,
    headers: { ...headers, ...(cookie ? { cookie } : {}) },
  });
  assert.equal(response.statusCode, 200, `GET ${url}: ${response.body}`);
  const csrfCookie =
    cookieSetBy(response, csrfCookieName) ?? cookie.split("; ").find((c) => c.startsWith(csrfCookieName));
  const csrf = /name="_csrf" value="([^"]+)"/.exec(response.body)?.[1];
  assert.ok(csrfCookie && csrf, `no form token on ${url}`);
  const others = cookie.split("; ").filter((c) => c && !c.startsWith(csrfCookieName));
  return { cookie: [...others, csrfCookie].join("; "), csrf, body: response.body };
}

/** POSTs a form from this browser (its cookies, a same-origin request). */
export function postForm(
  s: TestApp,
  url: string,
  form: Pick<Form, "cookie">,
  fields: Record<string, string>,
): Promise<LightMyRequestResponse> {
  return s.inject({
    method: "POST",
    url,
    headers: {
      ...sameOrigin(s.config),
      cookie: form.cookie,
      "content-type": "application/x-www-form-urlencoded",
    },
    payload: new URLSearchParams(fields).toString(),
  });
}

/** The Location of a 303 (asserting the status). */
export function location(response: LightMyRequestResponse): string {
  assert.equal(response.statusCode, 303, response.body);
  return String(response.headers.location);
}

/** A different code of the same shape: never the right one. */
export function wrongCode(code: string): string {
  return `${(Number(code[0]) + 1) % 10}${code.slice(1)}`;
}
