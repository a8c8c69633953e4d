// Prometheus metrics: one Registry per process, with the default process/nodejs metrics, and helpers that create
// metrics on it. Names follow Kubernetes' own where one exists. Other code imports metric types from here, not
// prom-client.
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type Aggregator } from "prom-client";

export { AggregatorRegistry, Counter, Gauge, Histogram, Registry };

/** A registry's metrics as JSON (Registry.getMetricsAsJSON), what AggregatorRegistry.aggregate merges across processes. */
export type RegistryJson = Awaited<ReturnType<Registry["getMetricsAsJSON"]>>;

export interface RegistryOptions {
  /** Add process_* and nodejs_* metrics (default true). */
  defaultMetrics?: boolean;
  /** Labels added to every series, e.g. { component: "scheduler" }. */
  defaultLabels?: Record<string, string>;
}

export function createRegistry(opts: RegistryOptions = {}): Registry {
  const registry = new Registry();
  if (opts.defaultLabels) registry.setDefaultLabels(opts.defaultLabels);
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
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
