import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { crackTimeDisplay, strengthText } from "../i18n/strength-text.ts";
import { estimateStrength } from "./strength.ts";
import { crackSeconds, meterGuessesPerSecond, strengthLevel, strengthScale } from "./strength-scale.ts";

// The meter's label and its crack time come from one scale (strength-scale.ts). Before, the label
// was zxcvbn's score and the time its guesses at 10⁴ a second: "Sakura2024!" read 強い beside 3時間.

/** The units a level may be shown with: a label never stands beside a time that belies it. */
const unitsOfLevel: Record<number, RegExp> = {
  0: /^(1秒未満|\d+秒|[12]分)$/,
  1: /^(\d+分|[1-3]時間)$/,
  2: /^(\d+時間|\d+日)$/,
  3: /^(\d+日|\d+か月|[1-3]年)$/,
  4: /^(\d+年|数世紀)$/,
};

describe("the strength meter's one scale", () => {
  it("the meter's label agrees with its crack time: never 強い beside hours, at every boundary", () => {
    const labels = strengthText("ja").labels;
    // Each boundary: just under it is the level below, at it the level itself.
    for (const { level, fromSeconds } of strengthScale.slice(1)) {
      assert.equal(strengthLevel(fromSeconds), level, `${fromSeconds} s`);
      assert.equal(strengthLevel(fromSeconds * (1 - 1e-9)), level - 1, `just under ${fromSeconds} s`);
    }
    assert.equal(strengthLevel(0), 0);
    assert.equal(strengthLevel(1e30), 4);
    // The case: 3 hours is 普通, not 強い.
    assert.equal(crackTimeDisplay(3 * 3600, "ja"), "3時間");
    assert.equal(labels[strengthLevel(3 * 3600)], "普通");
    // Every time from a hundredth of a second to far past centuries, in small steps: the label's
    // band and the time shown agree.
    for (let log = -2; log <= 14; log += 0.01) {
      const seconds = 10 ** log;
      const level = strengthLevel(seconds);
      const shown = crackTimeDisplay(seconds, "ja");
      assert.match(shown, unitsOfLevel[level] as RegExp, `${labels[level]} beside ${shown} (${seconds} s)`);
    }
  });

  it("the scale's bands are zxcvbn's score bands at the crack time shown (10⁴ guesses a second)", () => {
    for (const password of [
      "password",
      "kumo7381x",
      "Sakura2024!",
      "tanuki-8842",
      "Xk9#mQ2p",
      "correct-horse-battery-staple-42",
    ]) {
      const estimate = estimateStrength(password, []);
      const seconds = estimate.crackTimes.offlineSlowHashingXPerSecond.seconds;
      assert.ok(Math.abs(seconds - crackSeconds(estimate.guessesLog10)) <= seconds * 1e-9, password);
      // Below the top band, the level is zxcvbn's score less one (score 0 and 1 both とても弱い).
      const level = strengthLevel(seconds);
      if (level < 4) assert.equal(level, Math.max(0, estimate.score - 1), `${password}: ${seconds} s`);
      else assert.equal(estimate.score, 4, password);
    }
    assert.equal(meterGuessesPerSecond, 1e4);
  });
});
