// delivery.samplePerSweep for the claim loop. A claim loop has no sweep over every due account to
// pick a sample from, so each replica draws checks at random, aiming at `perInterval` of them per
// check interval: a check is picked with probability perInterval / (checks this replica ran in
// the previous interval), and never more than perInterval in one interval. Random draws, not the
// first N of an interval: accounts fall due in the same order every interval, so "the first N"
// would sample the same accounts for ever.

export class DeliverySampler {
  private windowStart: number;
  private checksThisWindow = 0;
  private checksLastWindow = 0;
  private pickedThisWindow = 0;

  /**
   * @param perInterval sampled checks per interval and replica (0 = never)
   * @param intervalMs the check interval, ms
   */
  constructor(
    private readonly perInterval: number,
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {
    this.windowStart = now();
  }

  /** Called once per check about to run: should it also send a delivery probe message? */
  take(): boolean {
    if (this.perInterval <= 0) return false;
    const now = this.now();
    if (now - this.windowStart >= this.intervalMs) {
      // A gap of several intervals leaves no useful history: start afresh.
      this.checksLastWindow = now - this.windowStart < 2 * this.intervalMs ? this.checksThisWindow : 0;
      this.windowStart = now;
      this.checksThisWindow = 0;
      this.pickedThisWindow = 0;
    }
    this.checksThisWindow += 1;
    if (this.pickedThisWindow >= this.perInterval) return false;
    // Without history (the first interval), pick the first ones: nothing better is known yet.
    const probability = this.checksLastWindow === 0 ? 1 : this.perInterval / this.checksLastWindow;
    if (this.random() >= probability) return false;
    this.pickedThisWindow += 1;
    return true;
  }
}
