// The lab's metrics-server registration, as Kubernetes registers metrics-server: a Service metrics-server in
// kube-system and the APIService v1beta1.metrics.k8s.io pointing at it. metrics-server runs on the host (a lab
// component), not in a pod, so the Service has no selector and the lab writes its Endpoints: the bridge address
// and metrics-server's port. The port is named "http": the lab has no PKI, so metrics-server serves plain HTTP and
// the aggregator dials it so (insecureSkipTLSVerify is kept, as metrics-server's manifest has it).
import { labCreate, labGet } from "./api.js";
import { bridgeIp, type LabConfig } from "./config.js";

export const METRICS_API_SERVICE = "v1beta1.metrics.k8s.io";

interface ApiObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** The objects with the collection each is created in. */
export function metricsServerObjects(config: LabConfig, port: number): { path: string; object: ApiObject }[] {
  const labels = { "k8s-app": "metrics-server" };
  return [
    {
      path: "/api/v1/namespaces/kube-system/services",
      object: { apiVersion: "v1", kind: "Service", metadata: { name: "metrics-server", namespace: "kube-system", labels }, spec: { ports: [{ name: "http", port: 80, protocol: "TCP", targetPort: port }] } },
    },
    {
      path: "/api/v1/namespaces/kube-system/endpoints",
      object: { apiVersion: "v1", kind: "Endpoints", metadata: { name: "metrics-server", namespace: "kube-system", labels }, subsets: [{ addresses: [{ ip: bridgeIp(config) }], ports: [{ name: "http", port, protocol: "TCP" }] }] },
    },
    {
      path: "/apis/apiregistration.k8s.io/v1/apiservices",
      object: {
        apiVersion: "apiregistration.k8s.io/v1",
        kind: "APIService",
        metadata: { name: METRICS_API_SERVICE, labels },
        spec: { group: "metrics.k8s.io", version: "v1beta1", service: { name: "metrics-server", namespace: "kube-system", port: 80 }, insecureSkipTLSVerify: true, groupPriorityMinimum: 100, versionPriority: 100 },
      },
    },
  ];
}

/** Creates the objects (left as they are when there already); returns what was done, one line each. */
export async function applyMetricsServer(config: LabConfig, port: number): Promise<string[]> {
  const done: string[] = [];
  for (const { path, object } of metricsServerObjects(config, port)) done.push(`${object.kind.toLowerCase()}/${object.metadata.name} ${await labCreate(config, path, object)}`);
  return done;
}

/** Whether the APIService says metrics.k8s.io is available (what `kubectl top` needs). */
export async function metricsApiAvailable(config: LabConfig): Promise<boolean> {
  const apiService = (await labGet(config, `/apis/apiregistration.k8s.io/v1/apiservices/${METRICS_API_SERVICE}`)) as { status?: { conditions?: { type?: string; status?: string }[] } } | undefined;
  return apiService?.status?.conditions?.some((c) => c.type === "Available" && c.status === "True") === true;
}
