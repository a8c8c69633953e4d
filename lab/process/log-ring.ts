// The recent output of a process, kept in memory within a byte budget so that a long run cannot grow without bound.

/**
 * Appends text and keeps at most `maxChars`: when that is exceeded the oldest text is dropped down to half the
 * budget, so trimming (a copy) happens once per maxChars/2 of output rather than on every chunk.
 */
export class LogRing {
  private text = "";
  /** Characters appended since creation, trimmed or not: a mark that later output can be measured from. */
  private total = 0;

  constructor(private readonly maxChars: number) {
    if (!(maxChars > 0)) throw new Error(`a log ring needs a positive size, not ${maxChars}`);
  }

  append(chunk: string): void {
    this.text += chunk;
    this.total += chunk.length;
    if (this.text.length > this.maxChars) this.text = this.text.slice(-Math.floor(this.maxChars / 2));
  }

  /** Everything kept, oldest first. */
  contents(): string {
    return this.text;
  }

  /** A position in the output: what `since(mark)` counts from. */
  mark(): number {
    return this.total;
  }

  /** What was appended after `mark` and is still kept. */
  since(mark: number): string {
    return this.text.slice(Math.max(0, this.text.length - (this.total - mark)));
  }

  /** The last `chars` characters kept. */
  tail(chars: number): string {
    return this.text.slice(-chars);
  }
}
