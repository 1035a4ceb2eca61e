// Random bytes for the generator, in Node and in the browser alike (Web Crypto).

/** Fills a buffer with random bytes: Web Crypto in production, a seeded stream where a test needs one. */
export type RandomFill = (bytes: Uint8Array) => void;

export const webCryptoFill: RandomFill = (bytes) => {
  globalThis.crypto.getRandomValues(bytes);
};

const hexOfByte = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

/**
 * Random bytes drawn in 64 KiB blocks (the most `getRandomValues` gives at once), handed out one
 * at a time, and unbiased whole numbers below n made from them by rejection sampling.
 */
export class RandomPool {
  #fill: RandomFill;
  #buffer: Uint8Array;
  #offset: number;

  constructor(fill: RandomFill, blockSize = 65536) {
    this.#fill = fill;
    this.#buffer = new Uint8Array(blockSize);
    this.#offset = blockSize;
  }

  /** The unread rest of the current block (a fresh block when it is used up), all marked read. */
  take(): Uint8Array {
    if (this.#offset === this.#buffer.length) {
      this.#fill(this.#buffer);
      this.#offset = 0;
    }
    const rest = this.#buffer.subarray(this.#offset);
    this.#offset = this.#buffer.length;
    return rest;
  }

  /** Hands back the last `unread` bytes of what `take` gave: never used, so still secret and fresh. */
  putBack(unread: number): void {
    this.#offset -= unread;
  }

  byte(): number {
    if (this.#offset === this.#buffer.length) {
      this.#fill(this.#buffer);
      this.#offset = 0;
    }
    // In range: the offset was just checked against the buffer's length.
    return this.#buffer[this.#offset++] as number;
  }

  /** A whole number in [0, n), every value equally likely (n up to 65,536). */
  below(n: number): number {
    if (n <= 256) {
      // Bytes at or above the largest multiple of n would make small values likelier: drawn again.
      const limit = 256 - (256 % n);
      for (;;) {
        const value = this.byte();
        if (value < limit) return value % n;
      }
    }
    const limit = 65536 - (65536 % n);
    for (;;) {
      const value = this.byte() * 256 + this.byte();
      if (value < limit) return value % n;
    }
  }

  /** A BigInt in [0, n), every value equally likely. */
  bigBelow(n: bigint): bigint {
    const bytes = Math.ceil(n.toString(2).length / 8);
    const range = 1n << BigInt(bytes * 8);
    const limit = range - (range % n);
    for (;;) {
      // One BigInt from hex, not one shift per byte: this is most of a tight-minimums draw.
      let hex = "0x";
      for (let i = 0; i < bytes; i++) hex += hexOfByte[this.byte()];
      const value = BigInt(hex);
      if (value < limit) return value % n;
    }
  }
}
