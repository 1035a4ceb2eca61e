import type { Deps } from "../deps.ts";
import {
  createStaff,
  disableStaff,
  type Enrolment,
  listStaff,
  reinviteStaff,
  type StaffFailure,
} from "../staff/staff-accounts.ts";

/**
 * `mamori staff …`: the people who use the operator console. Made here (on the server, by someone
 * who can run the CLI), never from the console itself, so a stolen console session cannot make
 * itself a colleague. Exit 0 done, 1 refused, 2 usage.
 */
export const staffUsage = `  staff create <email> --name N --role support|admin
                                           a member of staff for the console at /admin; prints a
                                           set-up link (24 hours, once) for their password and app
  staff list                               the staff as JSON (never a secret)
  staff reinvite <email>                   a lost phone or password: clears both, ends their
                                           sessions, prints a new set-up link
  staff disable <email>                    no more sign-in; their sessions end at once`;

type Output = { out(text: string): void; err(text: string): void };

export type StaffCommandValues = { name?: string | undefined; role?: string | undefined };

function usageError(output: Output, message: string): number {
  output.err(`${message}\n\nUsage:\n${staffUsage}`);
  return 2;
}

function refused(output: Output, failure: StaffFailure): number {
  output.err(`refused: ${failure.reason}`);
  return 1;
}

function printEnrolment(output: Output, enrolment: Enrolment): number {
  output.out(`staff: ${enrolment.staff.id} ${enrolment.staff.email} (${enrolment.staff.role})`);
  output.out(`set-up link (valid 24 hours, once): ${enrolment.enrolUrl}`);
  output.out("\nGive the link to that person only: whoever opens it first sets the password and the app.");
  return 0;
}

export async function runStaff(
  deps: Deps,
  verb: string | undefined,
  target: string | undefined,
  values: StaffCommandValues,
  output: Output,
): Promise<number> {
  if (verb === "create") {
    if (target === undefined) return usageError(output, "staff create needs an email");
    if (!values.name || !values.role) return usageError(output, "staff create needs --name and --role");
    const created = await createStaff(deps, { email: target, name: values.name, role: values.role });
    return created.ok ? printEnrolment(output, created) : refused(output, created);
  }
  if (verb === "list" && target === undefined) {
    const staff = await listStaff(deps);
    output.out(
      JSON.stringify(
        staff.map((s) => ({
          id: s.id,
          email: s.email,
          name: s.name,
          role: s.role,
          status: s.status,
          createdAt: s.created_at,
          lastSignInAt: s.last_sign_in_at,
        })),
        null,
        2,
      ),
    );
    return 0;
  }
  if (verb === "reinvite" && target !== undefined) {
    const invited = await reinviteStaff(deps, target);
    return invited.ok ? printEnrolment(output, invited) : refused(output, invited);
  }
  if (verb === "disable" && target !== undefined) {
    const disabled = await disableStaff(deps, target);
    if (!disabled.ok) return refused(output, disabled);
    output.out(`${target}: disabled; their console sessions have ended`);
    return 0;
  }
  return usageError(output, `unknown staff command: ${[verb, target].filter(Boolean).join(" ")}`);
}
