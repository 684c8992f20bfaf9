/** Upload speed over the last few seconds, and the time left at that speed. */
export interface Rate {
  readonly bytesPerSecond: number;
  /** Undefined until there is a speed to go by. */
  readonly secondsLeft: number | undefined;
}

/** Speed from the bytes sent over a sliding window (a plain average swings with every part). */
export class RateMeter {
  private readonly samples: { at: number; bytes: number }[] = [];

  constructor(private readonly windowMs = 5000) {}

  sample(totalSentBytes: number, at = performance.now()): void {
    this.samples.push({ at, bytes: totalSentBytes });
    while (this.samples.length > 2 && at - this.samples[1]!.at > this.windowMs) this.samples.shift();
  }

  rate(bytesLeft: number, at = performance.now()): Rate {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || at - first.at < 500) return { bytesPerSecond: 0, secondsLeft: undefined };
    const bytesPerSecond = ((last.bytes - first.bytes) * 1000) / Math.max(1, at - first.at);
    return { bytesPerSecond, secondsLeft: bytesPerSecond > 0 ? bytesLeft / bytesPerSecond : undefined };
  }
}
