// Small statistics helpers shared by the benchmarks: percentiles, medians, rates.

/** A growable buffer of numbers (latencies in ms) that does not allocate one boxed number per sample. */
export class Samples {
  private data: Float64Array;
  private n = 0;

  constructor(initialCapacity = 1024) {
    this.data = new Float64Array(Math.max(16, initialCapacity));
  }

  get count(): number {
    return this.n;
  }

  add(value: number): void {
    if (this.n === this.data.length) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.n++] = value;
  }

  /** A sorted copy of the samples. */
  sorted(): Float64Array {
    return this.data.slice(0, this.n).sort();
  }

  summary(): LatencySummary {
    return summarize(this.sorted());
  }
}

export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile (p in 0..100) of an ascending array; NaN when empty. */
export function percentile(sortedAscending: ArrayLike<number>, p: number): number {
  const n = sortedAscending.length;
  if (n === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * n);
  const index = Math.min(n - 1, Math.max(0, rank - 1));
  return sortedAscending[index] ?? Number.NaN;
}

export function summarize(sortedAscending: ArrayLike<number>): LatencySummary {
  const n = sortedAscending.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sortedAscending[i] ?? 0;
  return {
    count: n,
    min: n > 0 ? (sortedAscending[0] ?? Number.NaN) : Number.NaN,
    mean: n > 0 ? sum / n : Number.NaN,
    p50: percentile(sortedAscending, 50),
    p90: percentile(sortedAscending, 90),
    p99: percentile(sortedAscending, 99),
    max: n > 0 ? (sortedAscending[n - 1] ?? Number.NaN) : Number.NaN,
  };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) return sorted[mid] ?? Number.NaN;
  return ((sorted[mid - 1] ?? Number.NaN) + (sorted[mid] ?? Number.NaN)) / 2;
}

/** Operations per second. */
export function rate(operations: number, elapsedMs: number): number {
  return elapsedMs > 0 ? (operations * 1000) / elapsedMs : Number.NaN;
}

/** Monotonic milliseconds (sub-millisecond resolution). */
export function nowMs(): number {
  return performance.now();
}

/** Wall-clock milliseconds since the epoch with sub-millisecond resolution; comparable across processes. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Rounds to a fixed number of decimals for reports (NaN stays NaN, which JSON prints as null). */
export function round(value: number, decimals = 1): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}

/** Every number in a JSON value rounded to two decimals, for the final JSON line. */
export function roundDeep(value: unknown): unknown {
  if (typeof value === "number") return round(value, 2);
  if (Array.isArray(value)) return value.map(roundDeep);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, roundDeep(v)]));
  return value;
}
