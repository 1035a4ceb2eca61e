import assert from "node:assert/strict";
import { hotp, totpStep } from "../../src/factors/totp/totp.ts";
import { createStaff } from "../../src/staff/staff-accounts.ts";
import type { TestApp } from "./app.ts";
import { cookieSetBy, openForm, postForm } from "./forms.ts";

// Members of staff for the console's HTTP tests: made as the CLI makes them, enrolled through
// their link with an authenticator app, and signed in with the password and the app's code.

export const staffPassword = "Kagami-Mochi-4417-Sakura";

export type Staff = { email: string; key: Buffer; cookie: string };

function base32Decode(text: string): Buffer {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of text.replace(/\s/g, "")) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const bytes: number[] = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(Number.parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

export function appCode(s: TestApp, key: Buffer, offsetSteps = 0): string {
  return hotp(key, totpStep(s.clock.now()) + offsetSteps);
}

/** A member of staff made as the CLI makes them, through their enrolment link; not yet signed in. */
export async function enrolStaff(
  s: TestApp,
  email: string,
  role: "support" | "admin",
): Promise<Omit<Staff, "cookie">> {
  const created = await createStaff(s.deps, {
    email,
    name: role === "admin" ? "管理 花子" : "支援 太郎",
    role,
  });
  assert.ok(created.ok);
  const path = new URL(created.enrolUrl).pathname + new URL(created.enrolUrl).search;
  const form = await openForm(s, path);
  const key = base32Decode(/data-totp-key>([A-Z2-7 ]+)</.exec(form.body)?.[1] ?? "");
  assert.equal(key.length, 20, "the page shows the app's key");
  // Showing the page again shows the same key: an entry already scanned keeps working.
  const again = await openForm(s, path, form.cookie);
  assert.match(
    again.body,
    new RegExp(`data-totp-key>${/data-totp-key>([A-Z2-7 ]+)</.exec(form.body)?.[1]}<`),
  );
  const token = new URL(created.enrolUrl).searchParams.get("token") ?? "";
  const done = await postForm(s, "/admin/enrol", form, {
    _csrf: form.csrf,
    token,
    password: staffPassword,
    code: appCode(s, key),
  });
  assert.equal(done.statusCode, 200, done.body);
  s.clock.advance(30); // the enrolment used this step's code
  return { email, key };
}

export async function signInStaff(s: TestApp, staff: Omit<Staff, "cookie">): Promise<Staff> {
  const form = await openForm(s, "/admin/sign-in");
  const response = await postForm(s, "/admin/sign-in", form, {
    _csrf: form.csrf,
    email: staff.email,
    password: staffPassword,
    code: appCode(s, staff.key),
  });
  assert.equal(response.statusCode, 303, response.body);
  const session = cookieSetBy(response, "mamori_staff");
  assert.ok(session);
  s.clock.advance(30);
  return { ...staff, cookie: `${form.cookie}; ${session}` };
}

export async function staffOf(s: TestApp, email: string, role: "support" | "admin"): Promise<Staff> {
  return signInStaff(s, await enrolStaff(s, email, role));
}
