import type { Deps } from "../deps.ts";
import { type FlowFailure, failure } from "../flows/flow-result.ts";
import type { AccountRow } from "../identity/accounts.ts";
import { checkBreached } from "./breach-check.ts";
import { hashPassword } from "./hashing.ts";
import { isRecentPassword } from "./history.ts";
import { checkPasswordPolicy } from "./policy.ts";

/**
 * A new password for an existing account (reset or change): the registration policy, then not
 * the current nor one of the recent passwords, then its argon2id hash. Errors name `field`.
 */
export async function hashNewPassword(
  deps: Pick<Deps, "db" | "config" | "log">,
  account: AccountRow,
  newPassword: string,
  field: string,
): Promise<{ ok: true; passwordHash: string } | FlowFailure> {
  const limits = deps.config.limits;
  const policy = checkPasswordPolicy(newPassword, account, limits);
  if (!policy.ok) {
    return failure(policy.problem.code, {
      field,
      ...("values" in policy.problem ? { values: policy.problem.values } : {}),
    });
  }
  if ((await checkBreached(deps, policy.password)).breached) return failure("password_too_common", { field });
  const reused = await isRecentPassword(
    deps.db,
    account.id,
    account.password_hash,
    policy.password,
    limits.passwordHistoryCount,
  );
  if (reused) return failure("password_reused", { field });
  const passwordHash = await hashPassword(policy.password, {
    memoryKib: limits.argon2MemoryKib,
    iterations: limits.argon2Iterations,
  });
  return { ok: true, passwordHash };
}
