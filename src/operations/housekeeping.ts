import type { Deps } from "../deps.ts";
import { purgeExpiredFederationFlows } from "../federation/federation-flow.ts";
import { purgeExpiredRegistrations } from "../flows/registration/purge.ts";
import { completeDueRecoveries, type RecoveryDeps } from "../flows/two-step-recovery/outcome.ts";
import { eraseClosedAccounts } from "./erasure.ts";

/**
 * Periodic clean-up in every serving process: what has expired and holds a secret is deleted
 * (registrations nobody finished, with their password hashes), closed accounts whose grace period
 * has ended are erased (./erasure.ts), and two-step recoveries whose wait is over are completed
 * (two-step off, the owner mailed; the next sign-in also completes a due one, so a stopped timer
 * delays the mail, never the owner). Each run is idempotent, so
 * several processes (or machines) running it at once only repeat each other's work.
 */
export type Housekeeping = { stop(): Promise<void> };

// Ten minutes: an expired registration (15-minute code) is gone within a quarter of an hour after.
const defaultIntervalMs = 10 * 60_000;

export async function runHousekeeping(
  deps: RecoveryDeps,
): Promise<{ registrations: number; erasedAccounts: number; twoStepRecoveries: number }> {
  // Trips to a provider that ended or expired, with their PKCE verifiers and nonces (src/federation).
  await purgeExpiredFederationFlows(deps.db, deps.clock.now());
  return {
    registrations: await purgeExpiredRegistrations(deps.db, deps.clock.now()),
    erasedAccounts: await eraseClosedAccounts(deps),
    twoStepRecoveries: await completeDueRecoveries(deps),
  };
}

export function startHousekeeping(deps: Deps, intervalMs = defaultIntervalMs): Housekeeping {
  let running: Promise<void> | undefined;
  function run(): void {
    if (running) return;
    running = runHousekeeping(deps)
      .then((purged) => {
        if (purged.registrations > 0 || purged.erasedAccounts > 0 || purged.twoStepRecoveries > 0)
          deps.log.info(
            purged,
            "housekeeping: expired registrations purged, closed accounts erased, due two-step recoveries completed",
          );
      })
      .catch((error: unknown) => deps.log.error({ err: error }, "housekeeping failed"))
      .finally(() => {
        running = undefined;
      });
  }
  const timer = setInterval(run, intervalMs);
  timer.unref();
  run();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
