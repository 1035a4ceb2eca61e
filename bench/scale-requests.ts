/**
 * The requests of the scale part's loads (bench/scale.ts): accounts picked over the whole seeded
 * range, sign-in requests, and session cookies from real sign-ins.
 */
import { request } from "node:http";
import type { ServerProcess } from "./processes.ts";
import type { PlannedRequest } from "./scale-load.ts";
import { scaleEmail, scalePassword } from "./scale-seed.ts";

/** Accounts in an order that spreads over the whole range and repeats none before all were used. */
export class AccountPicker {
  readonly #count: number;
  #next = 0;

  constructor(count: number) {
    this.#count = count;
  }

  email(): string {
    // 7919 is a prime that divides neither 1,000 nor 1,000,000: every index comes once per round.
    const index = (this.#next * 7919 + 17) % this.#count;
    this.#next += 1;
    return scaleEmail(index);
  }

  get used(): number {
    return this.#next;
  }
}

const json = { "content-type": "application/json" };

export function signInRequest(picker: AccountPicker): PlannedRequest {
  return {
    kind: "sign-in",
    method: "POST",
    path: "/api/v1/sign-in",
    headers: json,
    body: JSON.stringify({ identifier: picker.email(), password: scalePassword }),
    expect: 200,
  };
}

export function resetRequest(picker: AccountPicker): PlannedRequest {
  return {
    kind: "password reset",
    method: "POST",
    path: "/api/v1/password-resets",
    headers: json,
    body: JSON.stringify({ identifier: picker.email() }),
    expect: 202,
  };
}

/**
 * One POST on a connection of its own (node:http, no agent): in a full `npm run bench` run, the
 * global fetch once hung 30 s without ever connecting to a freshly started server (the server
 * answered a plain request at the same moment); the few sign-ins for cookies need no shared pool.
 */
function postJson(
  url: string,
  body: unknown,
  timeoutMs: number,
): Promise<{ status: number; setCookies: string[] }> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = request(
      url,
      {
        method: "POST",
        agent: false,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
        timeout: timeoutMs,
      },
      (res) => {
        res.resume();
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, setCookies: res.headers["set-cookie"] ?? [] }),
        );
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    req.on("error", reject);
    req.end(payload);
  });
}

async function signInForCookie(server: ServerProcess, identifier: string): Promise<string> {
  let answer: { status: number; setCookies: string[] };
  try {
    answer = await postJson(`${server.url}/api/v1/sign-in`, { identifier, password: scalePassword }, 30_000);
  } catch (error) {
    throw new Error(`${server.name}: sign-in for ${identifier}: ${error}\n${server.output()}`);
  }
  if (answer.status !== 200) throw new Error(`${server.name}: sign-in for ${identifier}: ${answer.status}`);
  const cookie = answer.setCookies
    .map((c) => c.split(";")[0] ?? "")
    .find((c) => c.startsWith("mamori_session="));
  if (!cookie) throw new Error(`${server.name}: sign-in for ${identifier}: no session cookie`);
  return cookie;
}

export async function cookiesFor(
  server: ServerProcess,
  picker: AccountPicker,
  count: number,
): Promise<string[]> {
  const cookies: string[] = [];
  for (let i = 0; i < count; i++) cookies.push(await signInForCookie(server, picker.email()));
  return cookies;
}
