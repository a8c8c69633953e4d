// Prometheus metrics: one Registry per process, with the default process/nodejs metrics, and helpers that create
// metrics on it. Names follow Kubernetes' own where one exists. Other code imports metric types from here, not
// prom-client.
//
// prom-client's classes are loaded from their own files, not its index: the index loads everything at once, and
// its process_cpu_* collector loads @opentelemetry/api (for exemplars, which no component uses) — together about
// half of prom-client's load time, paid by every component at start. The process_cpu_* counters are made here
// instead, with prom-client's names, help and values (CPU time since the registry was made), in its order.
import { createRequire } from "node:module";
import type * as PromClient from "prom-client";

export type Counter<T extends string = string> = PromClient.Counter<T>;
export type Gauge<T extends string = string> = PromClient.Gauge<T>;
export type Histogram<T extends string = string> = PromClient.Histogram<T>;
export type Registry = PromClient.Registry;

const require = createRequire(import.meta.url);
const Registry = require("prom-client/lib/registry") as typeof PromClient.Registry;
const Counter = require("prom-client/lib/counter") as typeof PromClient.Counter;
const Gauge = require("prom-client/lib/gauge") as typeof PromClient.Gauge;
const Histogram = require("prom-client/lib/histogram") as typeof PromClient.Histogram;
type Aggregator = PromClient.Aggregator;

/** A registry's metrics as JSON (Registry.getMetricsAsJSON), what aggregateRegistries merges across processes. */
export type RegistryJson = Awaited<ReturnType<Registry["getMetricsAsJSON"]>>;

/**
 * Several processes' registries merged into one exposition text (prom-client's AggregatorRegistry: counters summed,
 * gauges by each metric's `aggregator`). Loaded on first use: only the apiserver's primary with --workers needs it.
 */
export function aggregateRegistries(metrics: RegistryJson[]): Promise<string> {
  const AggregatorRegistry = require("prom-client/lib/cluster") as typeof PromClient.AggregatorRegistry;
  return AggregatorRegistry.aggregate(metrics).metrics();
}

export interface RegistryOptions {
  /** Add process_* and nodejs_* metrics (default true). */
  defaultMetrics?: boolean;
  /** Labels added to every series, e.g. { component: "scheduler" }. */
  defaultLabels?: Record<string, string>;
}

export function createRegistry(opts: RegistryOptions = {}): Registry {
  const registry = new Registry();
  if (opts.defaultLabels) registry.setDefaultLabels(opts.defaultLabels);
  if (opts.defaultMetrics ?? true) registerDefaultMetrics(registry);
  return registry;
}

/** prom-client's default collectors after process_cpu_*, in collectDefaultMetrics' order (processResources only where Node has getActiveResourcesInfo). */
const DEFAULT_COLLECTORS = [
  "processStartTime",
  "osMemoryHeap",
  "processOpenFileDescriptors",
  "processMaxFileDescriptors",
  "eventLoopLag",
  ...(typeof process.getActiveResourcesInfo === "function" ? ["processResources"] : []),
  "processHandles",
  "processRequests",
  "heapSizeAndUsed",
  "heapSpacesSizeAndUsed",
  "version",
  "gc",
];

/** What collectDefaultMetrics registers, the same metrics in the same order, without loading prom-client's index. */
function registerDefaultMetrics(registry: Registry): void {
  registerProcessCpu(registry);
  const config = { register: registry, eventLoopMonitoringPrecision: 10 };
  for (const name of DEFAULT_COLLECTORS) {
    const collector = require(`prom-client/lib/metrics/${name}`) as (register: Registry, config: object) => void;
    collector(registry, config);
  }
}

/** process_cpu_user_seconds_total, process_cpu_system_seconds_total, process_cpu_seconds_total: CPU used since now, updated on every scrape. */
function registerProcessCpu(registry: Registry): void {
  let last = process.cpuUsage();
  const user = new Counter({
    name: "process_cpu_user_seconds_total",
    help: "Total user CPU time spent in seconds.",
    registers: [registry],
    // One collect sets all three, so that they describe the same moment.
    collect() {
      const now = process.cpuUsage();
      const userMicros = now.user - last.user;
      const systemMicros = now.system - last.system;
      last = now;
      user.inc(userMicros / 1e6);
      system.inc(systemMicros / 1e6);
      total.inc((userMicros + systemMicros) / 1e6);
    },
  });
  const system = new Counter({ name: "process_cpu_system_seconds_total", help: "Total system CPU time spent in seconds.", registers: [registry] });
  const total = new Counter({ name: "process_cpu_seconds_total", help: "Total user and system CPU time spent in seconds.", registers: [registry] });
}

export interface MetricOptions<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
}

export interface HistogramOptions<L extends string> extends MetricOptions<L> {
  /** Upper bounds in the metric's unit (seconds for *_seconds). Default: prom-client's 5 ms … 10 s. */
  buckets?: number[];
}

/**
 * Returns the counter registered under `name`, creating it on first use. Re-use lets several instances (e.g. one
 * workqueue per controller) share one metric distinguished by labels. Throws if `name` is taken by another type.
 */
export function counter<L extends string = string>(registry: Registry, opts: MetricOptions<L>): Counter<L> {
  const existing = registry.getSingleMetric(opts.name);
  if (existing) {
    if (existing instanceof Counter) return existing;
    throw new Error(`metric ${opts.name} is already registered with another type`);
  }
  return new Counter<L>({ name: opts.name, help: opts.help, labelNames: opts.labelNames ?? [], registers: [registry] });
}

export function gauge<L extends string = string>(
  registry: Registry,
  opts: MetricOptions<L> & {
    collect?: (this: Gauge<L>) => void | Promise<void>;
    /** How processes' values merge when several share one /metrics (node:cluster workers); default sum. */
    aggregator?: Aggregator;
  },
): Gauge<L> {
  const existing = registry.getSingleMetric(opts.name);
  if (existing) {
    if (existing instanceof Gauge) return existing;
    throw new Error(`metric ${opts.name} is already registered with another type`);
  }
  return new Gauge<L>({
    name: opts.name,
    help: opts.help,
    labelNames: opts.labelNames ?? [],
    registers: [registry],
    ...(opts.collect ? { collect: opts.collect } : {}),
    ...(opts.aggregator ? { aggregator: opts.aggregator } : {}),
  });
}

export function histogram<L extends string = string>(registry: Registry, opts: HistogramOptions<L>): Histogram<L> {
  const existing = registry.getSingleMetric(opts.name);
  if (existing) {
    if (existing instanceof Histogram) return existing;
    throw new Error(`metric ${opts.name} is already registered with another type`);
  }
  return new Histogram<L>({
    name: opts.name,
    help: opts.help,
    labelNames: opts.labelNames ?? [],
    registers: [registry],
    ...(opts.buckets ? { buckets: opts.buckets } : {}),
  });
}

/** Exponential bucket bounds: start, start*factor, … (count of them), like prometheus.ExponentialBuckets. */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => start * factor ** i);
}
