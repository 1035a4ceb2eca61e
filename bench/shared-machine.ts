/**
 * Measuring on a shared machine, where other work comes and goes, for both parts of the bench
 * (bench/phases.ts, bench/scale.ts): a bounded wait for a lull before each measurement, and a
 * measurement that other processes disturbed taken once more while the run is young enough, the
 * less disturbed of the two kept. The waits and the measurements taken again go into the notes.
 */
import { type OwnPids, waitForQuiet } from "./processes.ts";
import { log } from "./report.ts";

/** How long a part of the bench may wait for lulls, and until when it may measure again. */
export type Patience = {
  /** The longest wait for a lull before one measurement. */
  quietWaitSeconds: number;
  /** The longest of all the waits together. */
  totalWaitSeconds: number;
  /** Other processes using this many cores or more during a measurement disturbed it. */
  disturbedCores: number;
  /** Past this many seconds into the run nothing is measured again, so that the run ends in time. */
  retryUntilSeconds: number;
};

/** How the run went: the waits for a quiet machine, what was measured twice, how long it took. */
export type RunRecord = { waits: readonly number[]; retried: readonly string[]; elapsedSeconds: number };

/** A measurement taken once more: what the notes call it, and the line the terminal shows. */
export type Retry = { noted: string; message: (otherCores: number) => string };

export class SharedMachine {
  readonly #cores: number;
  readonly #ownPids: OwnPids;
  readonly #patience: Patience;
  readonly #start = performance.now();
  readonly #waits: number[] = [];
  readonly #retried: string[] = [];

  /** `ownPids`: the bench's own processes (servers, a database), whose CPU is not "other". */
  constructor(cores: number, ownPids: OwnPids, patience: Patience) {
    this.#cores = cores;
    this.#ownPids = ownPids;
    this.#patience = patience;
  }

  /** Seconds since this part of the bench started. */
  elapsedSeconds(): number {
    return (performance.now() - this.#start) / 1000;
  }

  /** Waits for a lull within the budgets; on a machine that stays busy, measures anyway and says so. */
  async quiet(): Promise<void> {
    const waited = this.#waits.reduce((sum, w) => sum + w, 0);
    const budget = Math.min(this.#patience.quietWaitSeconds, this.#patience.totalWaitSeconds - waited);
    if (budget <= 0) return;
    const { waitedSeconds, backgroundCores } = await waitForQuiet(this.#cores, this.#ownPids, budget);
    this.#waits.push(waitedSeconds);
    if (backgroundCores >= 0.2) {
      log(
        `  the machine is busy (${backgroundCores.toFixed(2)} cores used by other processes): measuring anyway`,
      );
    }
  }

  /**
   * Runs `attempt`, and once more when other processes used `disturbedCores` or more during it
   * (`otherCores` reads that off a result) and the run is young enough: the less disturbed is kept.
   */
  async leastDisturbed<T>(
    attempt: () => Promise<T>,
    otherCores: (result: T) => number,
    retry: Retry,
  ): Promise<T> {
    const first = await attempt();
    const disturbance = otherCores(first);
    if (
      disturbance < this.#patience.disturbedCores ||
      this.elapsedSeconds() > this.#patience.retryUntilSeconds
    ) {
      return first;
    }
    log(retry.message(disturbance));
    this.#retried.push(retry.noted);
    const second = await attempt();
    return otherCores(second) < disturbance ? second : first;
  }

  /** The waits, the measurements taken again and the time so far, for the notes of the report. */
  record(): RunRecord {
    return { waits: [...this.#waits], retried: [...this.#retried], elapsedSeconds: this.elapsedSeconds() };
  }
}
