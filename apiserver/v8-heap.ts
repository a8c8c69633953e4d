// Imported first by main.ts: importing it keeps V8's young generation at its initial size (two 1 MiB semi-spaces)
// instead of letting it double up to 16 MiB ones at the first bursts of allocation — start-up alone grows it to the
// maximum, and V8 never gives those pages back while the process idles (neither scavenges nor full collections
// shrink it). Once the apiserver is ready, growYoungGenerationUnderLoad lets it grow again as soon as the process
// is busy, where small semi-spaces cost CPU: a fan-out to 1,000 watchers spent ~10% of its CPU in the scavenger
// with them. Node lets a process set this flag for itself; V8 reads it at every growth decision.
//
// Measured (`npm run bench -- apiserver`, alternating runs on a loaded machine): idle RSS 104–108 → 84–89 MB.
//
// The old generation: V8 lets it grow to up to 4× what survived the last full collection before collecting again
// (its dynamic factor reaches its maximum when collections are fast compared with allocation, as they are here).
// After the bench's lists of 10k pods, every one decoding 10k objects that live long enough to be promoted, that
// was ~250 MB of heap of which ~60 MB were live: the apiserver's RSS with 10k pods and 1,000 watchers read 290–384 MB,
// depending only on where the heap stood in its cycle. boundOldGenerationGrowth fixes the factor at 2, the heap target
// of Go's default GOGC=100 that the real kube-apiserver runs with.
import { constants, PerformanceObserver, type PerformanceEntry } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";

/** Scavenges per second (each one 1 MiB of allocation with the initial semi-spaces) that count as busy. */
const BUSY_SCAVENGES_PER_SECOND = 5;
/** The old generation's growth before a full collection, as a percentage of what survived the last one (V8 reads it
 * at every collection; 0, its default, leaves the factor to V8's heuristics, between 1.1 and 4). */
const OLD_GENERATION_GROWING_PERCENT = 100;
/** V8's own default growth factor. */
const DEFAULT_GROWTH_FACTOR = 2;

setFlagsFromString("--semi-space-growth-factor=1");

/** Once the apiserver is ready: the old generation grows to at most twice its live size before a full collection. */
export function boundOldGenerationGrowth(): void {
  setFlagsFromString(`--heap-growing-percent=${OLD_GENERATION_GROWING_PERCENT}`);
}

/**
 * From now on, the first second with BUSY_SCAVENGES_PER_SECOND scavenges or more gives the young generation V8's
 * usual growth back (for the rest of the process: grown pages are kept, as V8 keeps them anyway).
 */
export function growYoungGenerationUnderLoad(): void {
  let windowStart = performance.now();
  let scavenges = 0;
  const observer = new PerformanceObserver((list) => {
    scavenges += list.getEntries().filter(isScavenge).length;
    const now = performance.now();
    if (now - windowStart < 1000) return;
    if ((scavenges * 1000) / (now - windowStart) >= BUSY_SCAVENGES_PER_SECOND) {
      setFlagsFromString(`--semi-space-growth-factor=${DEFAULT_GROWTH_FACTOR}`);
      observer.disconnect();
      return;
    }
    windowStart = now;
    scavenges = 0;
  });
  observer.observe({ entryTypes: ["gc"] });
}

function isScavenge(entry: PerformanceEntry): boolean {
  if (!("detail" in entry)) return false;
  const detail: unknown = entry.detail;
  return typeof detail === "object" && detail !== null && "kind" in detail && detail.kind === constants.NODE_PERFORMANCE_GC_MINOR;
}
