import { type HashingParameters, hashPassword, verifyPassword } from "../src/passwords/hashing.ts";

export type HashCalibration = {
  /** Median time of one argon2id verify, run one after another on an idle server. */
  verifyMs: number;
  samples: number;
  /** cores / verify time: what the machine could sign in per second if hashing were all it did. */
  limitPerSecond: number;
  /** Verifies per second with `cores` verifies running side by side in this process (for reference). */
  parallelPerSecond: number;
};

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const upper = sorted[middle] ?? 0;
  return sorted.length % 2 === 1 ? upper : ((sorted[middle - 1] ?? upper) + upper) / 2;
}

/** Times argon2id verification with the given (production) parameters, through the project's own functions. */
export async function calibrateHashing(
  parameters: HashingParameters,
  cores: number,
  password: string,
): Promise<HashCalibration> {
  const passwordHash = await hashPassword(password, parameters);
  for (let i = 0; i < 5; i++) await verifyPassword(passwordHash, password);
  const times: number[] = [];
  for (let i = 0; i < 41; i++) {
    const start = performance.now();
    const ok = await verifyPassword(passwordHash, password);
    times.push(performance.now() - start);
    if (!ok) throw new Error("the calibration hash does not verify");
  }
  const verifyMs = median(times);

  const parallelSeconds = 3;
  let verified = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: cores }, async () => {
      while (performance.now() - start < parallelSeconds * 1000) {
        await verifyPassword(passwordHash, password);
        verified += 1;
      }
    }),
  );
  const parallelPerSecond = verified / ((performance.now() - start) / 1000);

  return {
    verifyMs,
    samples: times.length,
    limitPerSecond: cores / (verifyMs / 1000),
    parallelPerSecond,
  };
}
