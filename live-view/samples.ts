// The live charts' data: every interval one Sample of pods ready, the apiserver's request rate (from its own
// /metrics, read through the client like any scraper) and the pod start latency this process saw (a pod's first
// sighting in the watch to its Ready condition, the same span as Kubernetes' pod startup SLI minus image pulls).
import type { Sample } from "./web/protocol.js";

/**
 * The sum of every sample of `family` in a Prometheus text exposition (all label sets; not `family_bucket` and the
 * like). It jumps from one occurrence of the name to the next rather than splitting the text into lines: the
 * apiserver's exposition is megabytes, read every sample period on the same thread that serves the page.
 */
export function sumFamily(text: string, family: string): number | undefined {
  let sum: number | undefined;
  for (let at = text.indexOf(family); at >= 0; at = text.indexOf(family, at + family.length)) {
    if (at > 0 && text.charCodeAt(at - 1) !== 10) continue;
    const next = text.charAt(at + family.length);
    if (next !== "{" && next !== " ") continue;
    const end = text.indexOf("\n", at);
    const line = text.slice(at, end < 0 ? text.length : end);
    const value = Number(line.slice(line.lastIndexOf(line.includes("}") ? "}" : " ") + 1).trim().split(" ")[0]);
    if (!Number.isNaN(value)) sum = (sum ?? 0) + value;
  }
  return sum;
}

/** Pods created while watching, from first sighting until Ready: their start latencies. */
export class PodStartTracker {
  private readonly firstSeen = new Map<string, number>();
  private done: number[] = [];

  /** A pod that appeared in the watch (not in the initial list), at `now` ms. */
  appeared(key: string, now: number): void {
    if (!this.firstSeen.has(key)) this.firstSeen.set(key, now);
  }

  /** The pod's readiness at `now`; the first Ready ends its measurement. */
  observed(key: string, ready: boolean, now: number): void {
    const since = this.firstSeen.get(key);
    if (since === undefined || !ready) return;
    this.done.push(now - since);
    this.firstSeen.delete(key);
  }

  forget(key: string): void {
    this.firstSeen.delete(key);
  }

  /** The latencies measured since the last call (ms). */
  take(): number[] {
    const out = this.done;
    this.done = [];
    return out;
  }
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export interface SamplerOptions {
  /** The apiserver's /metrics text; a failure leaves the rate null for that interval. */
  scrape: () => Promise<string>;
  /** Pods ready and all pods, now. */
  pods: () => { ready: number; total: number };
  starts: PodStartTracker;
  /** Milliseconds since the epoch. */
  now?: () => number;
  /** How many samples are kept (the charts' width). */
  keep?: number;
}

export class Sampler {
  private readonly samples: Sample[] = [];
  private lastCount: { total: number; at: number } | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: SamplerOptions) {
    this.now = opts.now ?? Date.now;
  }

  history(): Sample[] {
    return [...this.samples];
  }

  /** Takes one sample and keeps it. */
  async sample(): Promise<Sample> {
    let rate: number | null = null;
    try {
      const total = sumFamily(await this.opts.scrape(), "apiserver_request_total");
      const at = this.now();
      if (total !== undefined) {
        const last = this.lastCount;
        // A restarted apiserver starts its counter again: that interval has no rate.
        if (last !== undefined && total >= last.total && at > last.at) rate = ((total - last.total) * 1000) / (at - last.at);
        this.lastCount = { total, at };
      }
    } catch {
      this.lastCount = undefined;
    }
    const pods = this.opts.pods();
    const sample: Sample = { time: Math.round(this.now() / 100) / 10, podsReady: pods.ready, pods: pods.total, apiRequestRate: rate, podStartMs: median(this.opts.starts.take()) };
    this.samples.push(sample);
    if (this.samples.length > (this.opts.keep ?? 300)) this.samples.shift();
    return sample;
  }
}
