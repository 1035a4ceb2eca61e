/**
 * Measuring one server of the scale part at a time (bench/scale-sizes.ts, bench/scale-mixed.ts): a
 * warm-up of the load, then a run with the CPU meter around the server's process tree, the database
 * and the other servers (idle meanwhile), each after a wait for a quiet machine.
 */
import { log } from "./report.ts";
import { assertClean, runScaleLoad, type ScaleLoadOptions } from "./scale-load.ts";
import { TreeCpuMeter } from "./scale-processes.ts";
import type { ScaleServers } from "./scale-servers.ts";
import type { Measured, Target } from "./scale-settings.ts";
import { cores } from "./settings.ts";
import type { SharedMachine } from "./shared-machine.ts";

export class ScaleMeasurer {
  /** The waits for a lull and the measurements taken again, for the notes of the report. */
  readonly machine: SharedMachine;
  readonly #servers: ScaleServers;

  constructor(servers: ScaleServers, machine: SharedMachine) {
    this.#servers = servers;
    this.machine = machine;
  }

  async warmUp(target: Target, options: ScaleLoadOptions, seconds: number): Promise<void> {
    await this.machine.quiet();
    log(`  warming up: ${target.name}: ${options.title} (${seconds} s)`);
    assertClean(
      await runScaleLoad({ ...options, title: `${options.title} (warm-up)`, durationSeconds: seconds }),
    );
  }

  /** One measured run, with the CPU meter around it. */
  async once(target: Target, load: string, options: ScaleLoadOptions): Promise<Measured> {
    await this.machine.quiet();
    log(`  measuring: ${target.name}: ${options.title} (${options.durationSeconds} s)`);
    const idle = this.#servers.idleBesides(target.server);
    const meter = new TreeCpuMeter(cores, { server: target.server.pid, database: target.database, idle });
    const result = await runScaleLoad(options);
    const cpu = meter.read();
    assertClean(result);
    return { target, load, result, cpu };
  }

  /** A warm-up, then one measured run. */
  async measure(
    target: Target,
    load: string,
    options: ScaleLoadOptions,
    warmupSeconds: number,
  ): Promise<Measured> {
    await this.warmUp(target, options, warmupSeconds);
    return this.once(target, load, options);
  }
}
