// Reading a kubelet's /metrics/resource (Prometheus text) into points, as metrics-server's decoder does: the node's
// and each container's cumulative cpu seconds and working set, each with the timestamp the kubelet stamped it with
// (the scrape time when it gave none), and the container start times, which tell a restarted container from one
// whose counter kept going. Other series and comments are skipped.

export interface MetricsPoint {
  /** When the container started (ms), to tell restarts apart; 0 for the node. */
  startTimeMs: number;
  /** When the figures were measured (ms). */
  timestampMs: number;
  cumulativeCpuNanoSeconds: number;
  memoryWorkingSetBytes: number;
}

export interface NodeScrape {
  node?: MetricsPoint;
  /** "namespace/pod" → container name → point; containers with both cpu and memory only. */
  pods: Map<string, Map<string, MetricsPoint>>;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+(-?\d+))?\s*$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function parseLabels(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (text === undefined) return out;
  for (const m of text.matchAll(LABEL)) out[m[1]!] = m[2]!.replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
  return out;
}

export function decodeResourceMetrics(text: string, scrapeTimeMs: number): NodeScrape {
  const node: Partial<MetricsPoint> = {};
  const containers = new Map<string, Partial<MetricsPoint> & { pod: string; container: string }>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const [, name = "", labelText, valueText, timeText] = m;
    const value = Number(valueText);
    if (!Number.isFinite(value)) continue;
    const timestampMs = timeText === undefined ? scrapeTimeMs : Number(timeText);
    switch (name) {
      case "node_cpu_usage_seconds_total":
        node.cumulativeCpuNanoSeconds = Math.round(value * 1e9);
        node.timestampMs = timestampMs;
        break;
      case "node_memory_working_set_bytes":
        node.memoryWorkingSetBytes = value;
        node.timestampMs ??= timestampMs;
        break;
      case "container_cpu_usage_seconds_total":
      case "container_memory_working_set_bytes":
      case "container_start_time_seconds": {
        const labels = parseLabels(labelText);
        const pod = `${labels.namespace ?? ""}/${labels.pod ?? ""}`;
        const key = `${pod}/${labels.container ?? ""}`;
        const point = containers.get(key) ?? { pod, container: labels.container ?? "" };
        if (name === "container_start_time_seconds") point.startTimeMs = Math.round(value * 1000);
        else if (name === "container_cpu_usage_seconds_total") {
          point.cumulativeCpuNanoSeconds = Math.round(value * 1e9);
          point.timestampMs = timestampMs;
        } else {
          point.memoryWorkingSetBytes = value;
          point.timestampMs ??= timestampMs;
        }
        containers.set(key, point);
        break;
      }
      default:
        break;
    }
  }
  const scrape: NodeScrape = { pods: new Map() };
  if (node.cumulativeCpuNanoSeconds !== undefined && node.memoryWorkingSetBytes !== undefined) {
    scrape.node = { startTimeMs: 0, timestampMs: node.timestampMs ?? scrapeTimeMs, cumulativeCpuNanoSeconds: node.cumulativeCpuNanoSeconds, memoryWorkingSetBytes: node.memoryWorkingSetBytes };
  }
  for (const point of containers.values()) {
    if (point.cumulativeCpuNanoSeconds === undefined || point.memoryWorkingSetBytes === undefined) continue;
    const pod = scrape.pods.get(point.pod) ?? new Map<string, MetricsPoint>();
    pod.set(point.container, { startTimeMs: point.startTimeMs ?? 0, timestampMs: point.timestampMs ?? scrapeTimeMs, cumulativeCpuNanoSeconds: point.cumulativeCpuNanoSeconds, memoryWorkingSetBytes: point.memoryWorkingSetBytes });
    scrape.pods.set(point.pod, pod);
  }
  return scrape;
}
