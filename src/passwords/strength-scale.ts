// The strength meter's one scale. zxcvbn counts the guesses a password would take; the meter shows
// that count twice, as a crack time (the guesses at `meterGuessesPerSecond`, zxcvbn's offline
// attack on a slow hash) and as a label (とても弱い … とても強い). Both come from this table, so
// they cannot disagree: a label covers one band of crack times, and 強い never stands next to
// hours. (zxcvbn's own score 0–4 put 強い on 10⁸–10¹⁰ guesses: 3 hours to 12 days.)

/** The meter's attacker: zxcvbn's `offlineSlowHashingXPerSecond`, 10⁴ guesses a second. */
export const meterGuessesPerSecond = 1e4;

export type StrengthLevel = 0 | 1 | 2 | 3 | 4;

/**
 * Where each level starts, in seconds of that attack (level 0 from nothing). The lower bands are
 * zxcvbn's score bands, so the policy's minimum score keeps its meaning: its default, score 3
 * (10⁸ guesses), is where 普通 starts, and no password the policy takes is called 弱い.
 */
export const strengthScale: readonly { level: StrengthLevel; fromSeconds: number }[] = [
  { level: 0, fromSeconds: 0 }, // とても弱い: under 100 seconds (fewer than 10⁶ guesses)
  { level: 1, fromSeconds: zxcvbnBound(1e6) }, // 弱い: to about 3 hours (10⁸ guesses)
  { level: 2, fromSeconds: zxcvbnBound(1e8) }, // 普通: to about 12 days (10¹⁰ guesses)
  { level: 3, fromSeconds: zxcvbnBound(1e10) }, // 強い: to about 3 years (10¹² guesses)
  { level: 4, fromSeconds: zxcvbnBound(1e12) }, // とても強い: 3 years and more
];

// zxcvbn's score bounds are its round numbers of guesses plus 5 (its `delta`): kept exactly, so
// that a level and the score the policy reads start at the same password.
function zxcvbnBound(guesses: number): number {
  return (guesses + 5) / meterGuessesPerSecond;
}

/** The level of a crack time in seconds (at `meterGuessesPerSecond`). */
export function strengthLevel(crackSeconds: number): StrengthLevel {
  let level: StrengthLevel = 0;
  for (const band of strengthScale) if (crackSeconds >= band.fromSeconds) level = band.level;
  return level;
}

/** The crack time of a number of guesses (as log10), on the meter's attack. */
export function crackSeconds(guessesLog10: number): number {
  return 10 ** guessesLog10 / meterGuessesPerSecond;
}
