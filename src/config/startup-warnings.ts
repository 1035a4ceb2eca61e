import type { Config } from "./config.ts";

/**
 * What the operator should hear at start (`createDeps` logs each as a warning): configurations
 * that run, and may be meant, but leave something open. Problems that make a configuration unsafe
 * are not here: loadConfig refuses them.
 */
export function startupWarnings(config: Config): string[] {
  const warnings: string[] = [];
  if (!config.twilio && !config.devOutbox) {
    // Not a start-up error: a shop may offer only email and authenticator apps. But every SMS or
    // voice code would be retried and then marked failed, so the operator should hear of it now.
    warnings.push(
      "no SMS/voice provider is configured (TWILIO_*): text and voice codes will not be delivered",
    );
  }
  if (config.environment === "production" && config.trustProxy === true) {
    // `true` believes the X-Forwarded-For of whoever connects. Anyone who reaches the port
    // directly (or through a proxy that appends to the header) then chooses the address that the
    // per-address limits, the country policy, the audit log and the activity list see.
    warnings.push(
      "MAMORI_TRUST_PROXY=true believes every client's X-Forwarded-For: anyone who reaches this port, or a proxy that appends to the header, lets clients choose their address for per-address limits, the country policy and the audit log. Set it to your proxy's address or CIDR (MAMORI_TRUST_PROXY=127.0.0.1), and have the proxy overwrite X-Forwarded-For with the client's address ($remote_addr in nginx)",
    );
  }
  return warnings;
}
