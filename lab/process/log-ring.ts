// The recent output of a process, kept in memory within a byte budget so that a long run cannot grow without bound.

/**
 * Appends text and keeps at most `maxChars`: when that is exceeded the oldest text is dropped down to half the
 * budget, so trimming (a copy) happens once per maxChars/2 of output rather than on every chunk.
 */
export class LogRing {
  private text = "";

  constructor(private readonly maxChars: number) {
    if (!(maxChars > 0)) throw new Error(`a log ring needs a positive size, not ${maxChars}`);
  }

  append(chunk: string): void {
    this.text += chunk;
    if (this.text.length > this.maxChars) this.text = this.text.slice(-Math.floor(this.maxChars / 2));
  }

  /** Everything kept, oldest first. */
  contents(): string {
    return this.text;
  }

  /** The last `chars` characters kept. */
  tail(chars: number): string {
    return this.text.slice(-chars);
  }
}
