/**
 * Part 2 of the scale part (bench/scale.ts): the mixed load, 90% session checks, 8% sign-ins and 2%
 * password resets in a fixed cycle, a closed loop over a few connections; every answer must have
 * the expected status.
 */
import type { PlannedRequest, ScaleLoadOptions } from "./scale-load.ts";
import type { ScaleMeasurer } from "./scale-measure.ts";
import { type AccountPicker, cookiesFor, resetRequest, signInRequest } from "./scale-requests.ts";
import {
  cookiePool,
  type Measured,
  mixedConnections,
  mixedSeconds,
  mixedWarmupSeconds,
  mixPattern,
  type Target,
} from "./scale-settings.ts";

/** Part 2: 90% session checks, 8% sign-ins, 2% resets, closed loop over 10 connections. */
export async function mixedLoad(
  measurer: ScaleMeasurer,
  target: Target,
  picker: AccountPicker,
): Promise<Measured> {
  const cookies = await cookiesFor(target.server, picker, cookiePool);
  let sent = 0;
  const next = (): PlannedRequest => {
    const kind = mixPattern[sent % mixPattern.length] ?? "session check";
    const cookie = cookies[Math.floor(sent / mixPattern.length) % cookies.length] ?? "";
    sent += 1;
    if (kind === "sign-in") return signInRequest(picker);
    if (kind === "password reset") return resetRequest(picker);
    return { kind, method: "GET", path: "/api/v1/session", headers: { cookie }, expect: 200 };
  };
  const options: ScaleLoadOptions = {
    title: "mixed: 90% GET /api/v1/session, 8% sign-in, 2% password reset",
    url: target.server.url,
    connections: mixedConnections,
    durationSeconds: mixedSeconds,
    send: { next },
  };
  return measurer.measure(
    target,
    `${mixedConnections} connections, closed loop`,
    options,
    mixedWarmupSeconds,
  );
}
