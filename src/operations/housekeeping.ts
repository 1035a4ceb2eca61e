import type { Deps } from "../deps.ts";
import { purgeExpiredFederationFlows } from "../federation/federation-flow.ts";
import { purgeExpiredRegistrations } from "../flows/registration/purge.ts";

/**
 * Periodic clean-up in every serving process: what has expired and holds a secret is deleted
 * (today: registrations nobody finished, with their password hashes). Each run is idempotent, so
 * several processes (or machines) running it at once only repeat each other's work.
 */
export type Housekeeping = { stop(): Promise<void> };

// Ten minutes: an expired registration (15-minute code) is gone within a quarter of an hour after.
const defaultIntervalMs = 10 * 60_000;

export async function runHousekeeping(deps: Pick<Deps, "db" | "clock">): Promise<{ registrations: number }> {
  // Trips to a provider that ended or expired, with their PKCE verifiers and nonces (src/federation).
  await purgeExpiredFederationFlows(deps.db, deps.clock.now());
  return { registrations: await purgeExpiredRegistrations(deps.db, deps.clock.now()) };
}

export function startHousekeeping(deps: Deps, intervalMs = defaultIntervalMs): Housekeeping {
  let running: Promise<void> | undefined;
  function run(): void {
    if (running) return;
    running = runHousekeeping(deps)
      .then((purged) => {
        if (purged.registrations > 0) deps.log.info(purged, "expired registrations purged");
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
