import { availableParallelism } from "node:os";
import type { Algorithm } from "@node-rs/argon2";
import { hash, parseOptions, verify } from "@node-rs/argon2";

export type HashingParameters = { memoryKib: number; iterations: number };

// @node-rs/argon2 declares Algorithm as a const enum, which type stripping cannot inline: 2 is Argon2id.
const argon2id = 2 as Algorithm;

// One argon2id computation per core at a time. libuv's pool has four threads whatever the machine:
// on two cores, four hashes at once run no faster, hold 19 MiB each and crowd out the event loop's
// thread (every other request). The rest wait here, in order, costing nothing.
const hashSlots = Math.max(1, availableParallelism());
let hashesRunning = 0;
const waitingForSlot: Array<() => void> = [];

async function withHashSlot<T>(work: () => Promise<T>): Promise<T> {
  if (hashesRunning < hashSlots) hashesRunning += 1;
  else await new Promise<void>((resolve) => waitingForSlot.push(resolve));
  try {
    return await work();
  } finally {
    // The slot passes straight to the next in line, or becomes free.
    const next = waitingForSlot.shift();
    if (next) next();
    else hashesRunning -= 1;
  }
}

/** argon2id on libuv's thread pool, so hashing never blocks the event loop. */
export async function hashPassword(password: string, parameters: HashingParameters): Promise<string> {
  return withHashSlot(() =>
    hash(password, {
      algorithm: argon2id,
      memoryCost: parameters.memoryKib,
      timeCost: parameters.iterations,
      parallelism: 1,
    }),
  );
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await withHashSlot(() => verify(passwordHash, password));
  } catch {
    // A malformed stored hash is a bug or corruption, never a reason to let someone in.
    return false;
  }
}

/** True when a stored hash was made with weaker or different parameters than today's: rehash it at sign-in. */
export function needsRehash(passwordHash: string, parameters: HashingParameters): boolean {
  try {
    const options = parseOptions(passwordHash);
    return (
      options.algorithm !== argon2id ||
      options.memoryCost !== parameters.memoryKib ||
      options.timeCost !== parameters.iterations ||
      options.parallelism !== 1
    );
  } catch {
    return true;
  }
}

/**
 * A hash of a password nobody knows, verified when an identifier matches no account, so an unknown
 * email costs the same argon2id work as a wrong password and timing reveals nothing.
 */
export async function createDummyHash(parameters: HashingParameters): Promise<string> {
  return hashPassword(`dummy-${Math.random()}-${Date.now()}`, parameters);
}
