// The resource metrics client of the HPA (Kubernetes' pkg/controller/podautoscaler/metrics, the REST client's
// resource part): PodMetrics of metrics.k8s.io/v1beta1, listed through the apiserver (which proxies the group to
// metrics-server by its APIService) with the target's label selector. A pod counts only when every container
// reports the resource; the sum over its containers is its usage in milli-units.
import type { Selector } from "../../../api/labels.js";
import type { KubeObject } from "../../../api/meta.js";
import { parseQuantity, quantityToMilli } from "../../../api/quantity.js";
import type { ResourceInfo } from "../../../api/resources.js";
import { parseTime } from "../../../api/time.js";
import type { RestClient } from "../../../client/rest.js";
import { parseDuration } from "../../../component-base/flags.js";
import type { MetricsClient, PodMetricsInfo } from "./replica-calculator.js";

/** metrics.k8s.io/v1beta1 PodMetrics, as metrics-server serves it. */
export interface PodMetrics extends KubeObject {
  timestamp?: string;
  /** A Go duration, e.g. "15s". */
  window?: string;
  containers?: { name: string; usage?: Record<string, string> }[];
}

/** The aggregated pods resource of metrics.k8s.io (not one of the apiserver's own, so not in api/resources.ts). */
export const POD_METRICS: ResourceInfo = {
  group: "metrics.k8s.io",
  version: "v1beta1",
  kind: "PodMetrics",
  listKind: "PodMetricsList",
  resource: "pods",
  singular: "",
  namespaced: true,
  shortNames: [],
  categories: [],
  verbs: ["get", "list"],
  subresources: [],
};

export class RestMetricsClient implements MetricsClient {
  constructor(private readonly client: Pick<RestClient, "list">) {}

  async getResourceMetric(resource: string, namespace: string, selector: Selector): Promise<{ metrics: PodMetricsInfo; timestampMs: number }> {
    let items: PodMetrics[];
    try {
      items = (await this.client.list<PodMetrics>(POD_METRICS, namespace, { labelSelector: selector.toString() })).items;
    } catch (err) {
      throw new Error(`unable to fetch metrics from resource metrics API: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (items.length === 0) throw new Error("no metrics returned from resource metrics API");
    return { metrics: podMetricsInfo(items, resource), timestampMs: parseTime(items[0]?.timestamp) ?? 0 };
  }
}

/** Each pod's usage of `resource` summed over its containers; pods lacking it in any container are left out. */
export function podMetricsInfo(items: readonly PodMetrics[], resource: string): PodMetricsInfo {
  const out: PodMetricsInfo = new Map();
  for (const item of items) {
    const containers = item.containers ?? [];
    let sum = 0;
    let missing = containers.length === 0;
    for (const c of containers) {
      const usage = c.usage?.[resource];
      if (usage === undefined) {
        missing = true;
        break;
      }
      sum += quantityToMilli(parseQuantity(usage));
    }
    if (missing) continue;
    out.set(item.metadata.name ?? "", { timestampMs: parseTime(item.timestamp) ?? 0, windowMs: windowMs(item.window), value: sum });
  }
  return out;
}

function windowMs(text: string | undefined): number {
  if (!text) return 0;
  try {
    return parseDuration(text);
  } catch {
    return 0;
  }
}
