// The differential corpus: requests sent in this order to a fresh apiserver (kubelab's or the real one), each
// answer compared with the real kube-apiserver v1.26.1's. Everything lives in the namespace `diff-ns` the corpus
// creates first, so that what the real server adds by itself (RBAC, flowcontrol, default namespaces' objects) never
// shows up in an answer. Ids are stable: the fixtures and the allow-list are keyed by them.

export interface CorpusRequest {
  id: string;
  method: string;
  path: string;
  /** Sent as is when a string, as JSON otherwise. */
  body?: unknown;
  contentType?: string;
  accept?: string;
  /** The User-Agent header ("diff-client/v1.0.0" unless given; "" sends none). */
  userAgent?: string;
  /** Compare a Status answer's message and details word for word too (clients and users read them). */
  exactStatus?: boolean;
}

const NS = "/api/v1/namespaces/diff-ns";
const CM = `${NS}/configmaps`;
const DEP = "/apis/apps/v1/namespaces/diff-ns/deployments";
const MERGE = "application/merge-patch+json";
const JSON_PATCH = "application/json-patch+json";
const STRATEGIC = "application/strategic-merge-patch+json";
const APPLY = "application/apply-patch+yaml";
const TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io";
const TABLE_V1BETA1 = "application/json;as=Table;v=v1beta1;g=meta.k8s.io";
/** kubectl get's Accept: Tables first, plain JSON last. */
const TABLE_OR_JSON = `${TABLE},${TABLE_V1BETA1},application/json`;
const METADATA = "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io";
const METADATA_LIST = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io";

function configMap(name: string, data: Record<string, string> = { a: "1" }, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, ...extra }, data };
}

const deployment = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", labels: { app: "web" } },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: "web" } },
    template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "c", image: "nginx:1.25" }] } },
  },
};

/** A pod whose quantities are all written in a form that is not canonical. */
const QTY_POD = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "pq" },
  spec: {
    containers: [
      {
        name: "c",
        image: "busybox:1.36",
        resources: { requests: { cpu: "1000m", memory: "1024Mi" }, limits: { cpu: 2, memory: "1.5Gi", "ephemeral-storage": "1e3" } },
      },
    ],
    volumes: [{ name: "scratch", emptyDir: { sizeLimit: "2048Ki" } }],
  },
};

export const CORPUS: readonly CorpusRequest[] = [
  // Namespaces
  { id: "ns-create", method: "POST", path: "/api/v1/namespaces", body: { apiVersion: "v1", kind: "Namespace", metadata: { name: "diff-ns" } } },
  { id: "ns-create-again", method: "POST", path: "/api/v1/namespaces", body: { apiVersion: "v1", kind: "Namespace", metadata: { name: "diff-ns" } } },
  { id: "ns-get", method: "GET", path: NS },
  { id: "ns-create-invalid-name", method: "POST", path: "/api/v1/namespaces", body: { metadata: { name: "Diff_NS" } } },

  // ConfigMaps: create
  { id: "cm-create", method: "POST", path: CM, body: configMap("c1") },
  { id: "cm-create-duplicate", method: "POST", path: CM, body: configMap("c1") },
  { id: "cm-create-generate-name", method: "POST", path: CM, body: { apiVersion: "v1", kind: "ConfigMap", metadata: { generateName: "g-" }, data: { g: "1" } } },
  { id: "cm-create-invalid-name", method: "POST", path: CM, body: configMap("Bad_Name") },
  { id: "cm-create-no-name", method: "POST", path: CM, body: { apiVersion: "v1", kind: "ConfigMap", metadata: {}, data: {} } },
  { id: "cm-create-bad-data-key", method: "POST", path: CM, body: configMap("c-bad-key", { "not a key!": "x" }) },
  { id: "cm-create-bad-json", method: "POST", path: CM, body: "{not json" },
  { id: "cm-create-empty-body", method: "POST", path: CM, body: "" },
  { id: "cm-create-array-body", method: "POST", path: CM, body: "[]" },
  { id: "cm-create-wrong-kind", method: "POST", path: CM, body: { apiVersion: "v1", kind: "Secret", metadata: { name: "c-wrong-kind" } } },
  { id: "cm-create-wrong-apiversion", method: "POST", path: CM, body: { apiVersion: "v2", kind: "ConfigMap", metadata: { name: "c-wrong-version" } } },
  { id: "cm-create-namespace-mismatch", method: "POST", path: CM, body: configMap("c-mismatch", { a: "1" }, { namespace: "other" }) },
  { id: "cm-create-missing-namespace", method: "POST", path: "/api/v1/namespaces/diff-missing/configmaps", body: configMap("c-nowhere") },
  { id: "cm-create-strict-unknown-field", method: "POST", path: `${CM}?fieldValidation=Strict`, body: { ...configMap("c-strict"), bogus: 1 } },
  { id: "cm-create-warn-unknown-field", method: "POST", path: `${CM}?fieldValidation=Warn`, body: { ...configMap("c-warn"), bogus: 1 } },
  { id: "cm-create-ignore-unknown-field", method: "POST", path: CM, body: { ...configMap("c-ignore"), bogus: 1 } },
  { id: "cm-create-fieldvalidation-garbage", method: "POST", path: `${CM}?fieldValidation=Garbage`, body: configMap("c-fv-garbage") },
  { id: "cm-create-dryrun-all", method: "POST", path: `${CM}?dryRun=All`, body: configMap("c-dry") },
  { id: "cm-get-dryrun-created", method: "GET", path: `${CM}/c-dry` },
  { id: "cm-create-no-user-agent", method: "POST", path: CM, body: configMap("c-no-agent"), userAgent: "" },
  { id: "cm-create-yaml", method: "POST", path: CM, body: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c-yaml\ndata:\n  k: \"1\"\n", contentType: "application/yaml" },
  { id: "cm-create-unsupported-content-type", method: "POST", path: CM, body: "hello", contentType: "text/plain" },

  // ConfigMaps: read
  { id: "cm-get", method: "GET", path: `${CM}/c1` },
  { id: "cm-get-missing", method: "GET", path: `${CM}/nope` },
  { id: "cm-list", method: "GET", path: CM },
  { id: "cm-list-label-selector", method: "GET", path: `${CM}?labelSelector=${encodeURIComponent("a=b")}` },
  { id: "cm-list-bad-label-selector", method: "GET", path: `${CM}?labelSelector=${encodeURIComponent("a===b")}` },
  { id: "cm-list-bad-field-selector", method: "GET", path: `${CM}?fieldSelector=${encodeURIComponent("data.a=1")}` },
  { id: "cm-list-field-selector-name", method: "GET", path: `${CM}?fieldSelector=${encodeURIComponent("metadata.name=c1")}` },
  { id: "cm-list-limit", method: "GET", path: `${CM}?limit=1` },
  { id: "cm-list-forged-continue", method: "GET", path: `${CM}?limit=1&continue=Zm9yZ2VkLXRva2Vu` },
  { id: "cm-list-rvmatch-without-rv", method: "GET", path: `${CM}?resourceVersionMatch=NotOlderThan` },
  { id: "cm-list-rvmatch-garbage", method: "GET", path: `${CM}?resourceVersion=0&resourceVersionMatch=Sometimes` },
  { id: "cm-list-timeout-abc", method: "GET", path: `${CM}?timeoutSeconds=abc` },
  { id: "cm-list-limit-abc", method: "GET", path: `${CM}?limit=abc` },
  { id: "cm-get-accept-unsupported", method: "GET", path: `${CM}/c1`, accept: "application/bogus" },
  { id: "cm-get-accept-yaml", method: "GET", path: `${CM}/c1`, accept: "application/yaml" },
  { id: "cm-list-accept-yaml", method: "GET", path: CM, accept: "application/yaml" },
  { id: "cm-get-missing-accept-yaml", method: "GET", path: `${CM}/nope`, accept: "application/yaml" },
  { id: "cm-watch-accept-yaml", method: "GET", path: `${CM}?watch=true&timeoutSeconds=1`, accept: "application/yaml" },
  { id: "cm-get-accept-table", method: "GET", path: CM, accept: "application/json;as=Table;g=meta.k8s.io;v=v1" },
  { id: "cm-get-accept-metadata", method: "GET", path: `${CM}/c1`, accept: "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1" },
  { id: "cm-watch-start", method: "GET", path: `${CM}?watch=true&timeoutSeconds=1&fieldSelector=${encodeURIComponent("metadata.name=c1")}` },
  { id: "cm-watch-table", method: "GET", path: `${CM}?watch=true&timeoutSeconds=1`, accept: TABLE },
  { id: "cm-watch-table-include-none", method: "GET", path: `${CM}?watch=true&timeoutSeconds=1&includeObject=None&fieldSelector=${encodeURIComponent("metadata.name=c1")}`, accept: TABLE },
  { id: "cm-watch-table-bad-include-object", method: "GET", path: `${CM}?watch=true&timeoutSeconds=1&includeObject=Bogus`, accept: TABLE },
  { id: "cm-watch-bad-rv", method: "GET", path: `${CM}?watch=true&timeoutSeconds=1&resourceVersion=abc` },
  { id: "cm-watch-legacy-one-object", method: "GET", path: "/api/v1/watch/namespaces/diff-ns/configmaps/c1?timeoutSeconds=1" },
  { id: "cm-watch-legacy-other-name", method: "GET", path: `/api/v1/watch/namespaces/diff-ns/configmaps/c1?timeoutSeconds=1&fieldSelector=${encodeURIComponent("metadata.name=c2")}` },
  { id: "cm-get-watch-param-on-object", method: "GET", path: `${CM}/c1?watch=true&timeoutSeconds=1` },

  // ConfigMaps: update
  { id: "cm-put", method: "PUT", path: `${CM}/c1`, body: configMap("c1", { a: "2" }) },
  { id: "cm-put-different-uid", method: "PUT", path: `${CM}/c1`, body: configMap("c1", { a: "2" }, { uid: "00000000-0000-0000-0000-000000000001" }) },
  { id: "cm-put-name-mismatch", method: "PUT", path: `${CM}/c1`, body: configMap("c2") },
  { id: "cm-put-namespace-mismatch", method: "PUT", path: `${CM}/c1`, body: configMap("c1", { a: "2" }, { namespace: "other" }) },
  { id: "cm-put-stale-rv", method: "PUT", path: `${CM}/c1`, body: configMap("c1", { a: "2" }, { resourceVersion: "1" }) },
  { id: "cm-put-missing-object", method: "PUT", path: `${CM}/c-new`, body: configMap("c-new") },
  { id: "cm-put-to-collection", method: "PUT", path: CM, body: configMap("c1") },
  { id: "cm-put-fieldvalidation-garbage", method: "PUT", path: `${CM}/c1?fieldValidation=Garbage`, body: configMap("c1", { a: "2" }) },
  { id: "cm-put-bad-json", method: "PUT", path: `${CM}/c1`, body: "{\"metadata\":" },

  // ConfigMaps: patch
  { id: "cm-patch-merge", method: "PATCH", path: `${CM}/c1`, body: { data: { m: "1" } }, contentType: MERGE },
  { id: "cm-patch-json", method: "PATCH", path: `${CM}/c1`, body: [{ op: "add", path: "/data/j", value: "1" }], contentType: JSON_PATCH },
  { id: "cm-patch-json-bad-op", method: "PATCH", path: `${CM}/c1`, body: [{ op: "frob", path: "/data/j" }], contentType: JSON_PATCH },
  { id: "cm-patch-json-test-fails", method: "PATCH", path: `${CM}/c1`, body: [{ op: "test", path: "/data/a", value: "zzz" }], contentType: JSON_PATCH },
  { id: "cm-patch-json-namespace", method: "PATCH", path: `${CM}/c1`, body: [{ op: "replace", path: "/metadata/namespace", value: "other" }], contentType: JSON_PATCH },
  { id: "cm-patch-json-not-array", method: "PATCH", path: `${CM}/c1`, body: { op: "add" }, contentType: JSON_PATCH },
  { id: "cm-patch-strategic", method: "PATCH", path: `${CM}/c1`, body: { data: { s: "1" } }, contentType: STRATEGIC },
  { id: "cm-patch-merge-bad-body", method: "PATCH", path: `${CM}/c1`, body: "{", contentType: MERGE },
  { id: "cm-patch-merge-strict-unknown", method: "PATCH", path: `${CM}/c1?fieldValidation=Strict`, body: { bogus: 1 }, contentType: MERGE },
  { id: "cm-patch-strategic-strict-unknown", method: "PATCH", path: `${CM}/c1?fieldValidation=Strict`, body: { bogus: 1, data: { s: "2" } }, contentType: STRATEGIC },
  { id: "cm-patch-unsupported-content-type", method: "PATCH", path: `${CM}/c1`, body: "{}", contentType: "text/plain" },
  { id: "cm-patch-force-on-merge", method: "PATCH", path: `${CM}/c1?force=true`, body: { data: { a: "2" } }, contentType: MERGE },
  { id: "cm-patch-to-collection", method: "PATCH", path: CM, body: { data: { m: "1" } }, contentType: MERGE },
  { id: "cm-patch-missing", method: "PATCH", path: `${CM}/nope`, body: { data: { m: "1" } }, contentType: MERGE },
  { id: "cm-apply-create", method: "PATCH", path: `${CM}/c-applied?fieldManager=diff`, body: configMap("c-applied", { x: "1" }), contentType: APPLY },
  { id: "cm-apply-update", method: "PATCH", path: `${CM}/c-applied?fieldManager=diff`, body: configMap("c-applied", { x: "2" }), contentType: APPLY },
  { id: "cm-apply-conflict", method: "PATCH", path: `${CM}/c-applied?fieldManager=other`, body: configMap("c-applied", { x: "3" }), contentType: APPLY },
  { id: "cm-apply-force", method: "PATCH", path: `${CM}/c-applied?fieldManager=other&force=true`, body: configMap("c-applied", { x: "3" }), contentType: APPLY },
  { id: "cm-apply-no-field-manager", method: "PATCH", path: `${CM}/c-applied`, body: configMap("c-applied", { x: "3" }), contentType: APPLY },
  { id: "cm-apply-no-kind", method: "PATCH", path: `${CM}/c-applied?fieldManager=diff`, body: { metadata: { name: "c-applied" }, data: { x: "3" } }, contentType: APPLY },
  { id: "cm-apply-name-mismatch", method: "PATCH", path: `${CM}/c-applied?fieldManager=diff`, body: configMap("c-other"), contentType: APPLY },

  // ConfigMaps: delete
  { id: "cm-delete-propagation-garbage", method: "DELETE", path: `${CM}/c1?propagationPolicy=Garbage` },
  { id: "cm-delete-orphan-and-propagation", method: "DELETE", path: `${CM}/c1`, body: { kind: "DeleteOptions", apiVersion: "v1", orphanDependents: true, propagationPolicy: "Background" } },
  { id: "cm-delete-precondition-uid", method: "DELETE", path: `${CM}/c1`, body: { kind: "DeleteOptions", apiVersion: "v1", preconditions: { uid: "00000000-0000-0000-0000-000000000002" } } },
  { id: "cm-delete-dryrun", method: "DELETE", path: `${CM}/c1?dryRun=All` },
  { id: "cm-get-after-dryrun-delete", method: "GET", path: `${CM}/c1` },
  { id: "cm-delete", method: "DELETE", path: `${CM}/c1` },
  { id: "cm-delete-missing", method: "DELETE", path: `${CM}/c1` },
  { id: "cm-deletecollection-selector", method: "DELETE", path: `${CM}?labelSelector=${encodeURIComponent("none=here")}` },

  // Deployments with the status and scale subresources
  { id: "dep-create", method: "POST", path: DEP, body: deployment },
  { id: "dep-create-invalid", method: "POST", path: DEP, body: { ...deployment, metadata: { name: "bad" }, spec: { ...deployment.spec, replicas: -1, selector: { matchLabels: { app: "other" } } } } },
  { id: "dep-create-no-containers", method: "POST", path: DEP, body: { ...deployment, metadata: { name: "empty" }, spec: { ...deployment.spec, template: { metadata: { labels: { app: "web" } }, spec: { containers: [] } } } } },
  { id: "dep-get", method: "GET", path: `${DEP}/web` },
  { id: "dep-list-all-namespaces", method: "GET", path: "/apis/apps/v1/deployments" },
  { id: "dep-get-scale", method: "GET", path: `${DEP}/web/scale` },
  { id: "dep-put-scale", method: "PUT", path: `${DEP}/web/scale`, body: { apiVersion: "autoscaling/v1", kind: "Scale", metadata: { name: "web", namespace: "diff-ns" }, spec: { replicas: 3 } } },
  { id: "dep-put-scale-negative", method: "PUT", path: `${DEP}/web/scale`, body: { apiVersion: "autoscaling/v1", kind: "Scale", metadata: { name: "web", namespace: "diff-ns" }, spec: { replicas: -1 } } },
  { id: "dep-patch-scale", method: "PATCH", path: `${DEP}/web/scale`, body: { spec: { replicas: 2 } }, contentType: MERGE },
  { id: "dep-get-scale-missing", method: "GET", path: `${DEP}/nope/scale` },
  { id: "dep-get-status", method: "GET", path: `${DEP}/web/status` },
  { id: "dep-patch-status", method: "PATCH", path: `${DEP}/web/status`, body: { status: { observedGeneration: 1 } }, contentType: MERGE },
  { id: "dep-patch-status-ignores-spec", method: "PATCH", path: `${DEP}/web/status`, body: { spec: { replicas: 7 } }, contentType: MERGE },
  { id: "dep-patch-strategic-containers", method: "PATCH", path: `${DEP}/web`, body: { spec: { template: { spec: { containers: [{ name: "side", image: "busybox" }] } } } }, contentType: STRATEGIC },
  { id: "dep-patch-json-containers", method: "PATCH", path: `${DEP}/web`, body: [{ op: "replace", path: "/spec/template/spec/containers/0/image", value: "nginx:1.26" }], contentType: JSON_PATCH },
  { id: "dep-patch-selector-change", method: "PATCH", path: `${DEP}/web`, body: { spec: { selector: { matchLabels: { app: "web", x: "y" } } } }, contentType: MERGE },
  { id: "dep-get-unknown-subresource", method: "GET", path: `${DEP}/web/frob` },
  { id: "dep-patch-scale-table", method: "PATCH", path: `${DEP}/web/scale`, body: { spec: { replicas: 2 } }, contentType: MERGE, accept: TABLE },
  { id: "dep-get-scale-metadata", method: "GET", path: `${DEP}/web/scale`, accept: METADATA },
  { id: "dep-get-scale-metadata-list", method: "GET", path: `${DEP}/web/scale`, accept: METADATA_LIST },
  { id: "dep-patch-status-table", method: "PATCH", path: `${DEP}/web/status`, body: { status: { observedGeneration: 1 } }, contentType: MERGE, accept: TABLE },
  { id: "dep-delete", method: "DELETE", path: `${DEP}/web` },

  // Writes kubelab may store by mistake, late so that they cannot change the answers above
  { id: "cm-create-dryrun-garbage", method: "POST", path: `${CM}?dryRun=garbage`, body: configMap("c-dry-garbage") },
  { id: "cm-get-dryrun-garbage-created", method: "GET", path: `${CM}/c-dry-garbage` },
  { id: "cm-post-to-object-url", method: "POST", path: `${CM}/c-posted`, body: configMap("c-posted") },

  // Other kinds
  { id: "secret-create-string-data", method: "POST", path: `${NS}/secrets`, body: { apiVersion: "v1", kind: "Secret", metadata: { name: "s1" }, stringData: { k: "v" } } },
  { id: "secret-create-bad-base64", method: "POST", path: `${NS}/secrets`, body: { apiVersion: "v1", kind: "Secret", metadata: { name: "s2" }, data: { k: "%%%" } } },
  { id: "svc-create-headless", method: "POST", path: `${NS}/services`, body: { apiVersion: "v1", kind: "Service", metadata: { name: "h" }, spec: { clusterIP: "None", selector: { app: "web" }, ports: [{ port: 80 }] } } },
  { id: "svc-create-bad-port", method: "POST", path: `${NS}/services`, body: { apiVersion: "v1", kind: "Service", metadata: { name: "bad" }, spec: { ports: [{ port: 70000 }] } } },
  { id: "pod-create", method: "POST", path: `${NS}/pods`, body: { apiVersion: "v1", kind: "Pod", metadata: { name: "p1" }, spec: { containers: [{ name: "c", image: "busybox:1.36", command: ["sleep", "1d"] }] } } },
  { id: "pod-log-unscheduled", method: "GET", path: `${NS}/pods/p1/log` },
  { id: "pod-exec-without-upgrade", method: "GET", path: `${NS}/pods/p1/exec?command=ls&stdout=true` },
  { id: "pod-log-missing-container", method: "GET", path: `${NS}/pods/p1/log?container=nope` },
  { id: "pod-binding-missing-node-name", method: "POST", path: `${NS}/pods/p1/binding`, body: { apiVersion: "v1", kind: "Binding", metadata: { name: "p1" }, target: { kind: "Node" } } },
  { id: "pod-create-bad-env-name", method: "POST", path: `${NS}/pods`, body: { apiVersion: "v1", kind: "Pod", metadata: { name: "p-env" }, spec: { containers: [{ name: "c", image: "busybox", env: [{ name: "1 bad", value: "x" }] }] } } },
  { id: "pc-delete-system", method: "DELETE", path: "/apis/scheduling.k8s.io/v1/priorityclasses/system-node-critical" },
  { id: "pod-create-no-image", method: "POST", path: `${NS}/pods`, body: { apiVersion: "v1", kind: "Pod", metadata: { name: "p-noimage" }, spec: { containers: [{ name: "c" }] } } },

  // Replies as Tables and PartialObjectMetadata: every verb's reply is transformed as the Accept header asks
  { id: "table-cm-create", method: "POST", path: CM, body: configMap("t1", { a: "1" }, { labels: { table: "yes" } }), accept: TABLE },
  { id: "table-cm-create-v1beta1", method: "POST", path: CM, body: configMap("t2"), accept: TABLE_V1BETA1 },
  { id: "table-cm-create-table-or-json", method: "POST", path: CM, body: configMap("t3", { a: "1" }, { labels: { table: "yes" } }), accept: TABLE_OR_JSON },
  { id: "table-cm-create-yaml", method: "POST", path: CM, body: configMap("t4"), accept: "application/yaml;as=Table;v=v1;g=meta.k8s.io" },
  { id: "table-cm-put-include-none", method: "PUT", path: `${CM}/t1?includeObject=None`, body: configMap("t1", { a: "2" }, { labels: { table: "yes" } }), accept: TABLE },
  { id: "table-cm-patch-include-object", method: "PATCH", path: `${CM}/t1?includeObject=Object`, body: { data: { b: "1" } }, contentType: MERGE, accept: TABLE },
  { id: "table-cm-apply", method: "PATCH", path: `${CM}/t5?fieldManager=diff`, body: configMap("t5"), contentType: APPLY, accept: TABLE },
  { id: "table-cm-get-bad-include-object", method: "GET", path: `${CM}/t1?includeObject=Bogus`, accept: TABLE },
  { id: "table-cm-put-bad-include-object", method: "PUT", path: `${CM}/t1?includeObject=Bogus`, body: configMap("t1", { a: "3" }, { labels: { table: "yes" } }), accept: TABLE },
  { id: "table-cm-get-after-bad-include-object", method: "GET", path: `${CM}/t1` },
  { id: "table-cm-get-row-metadata", method: "GET", path: `${CM}/t1`, accept: TABLE },
  { id: "table-cm-get-row-object", method: "GET", path: `${CM}/t1?includeObject=Object`, accept: TABLE },
  { id: "table-cm-list-row-object", method: "GET", path: `${CM}?includeObject=Object&labelSelector=${encodeURIComponent("table=yes")}`, accept: TABLE },
  { id: "table-cm-watch-row-object", method: "GET", path: `${CM}?watch=true&timeoutSeconds=1&includeObject=Object&labelSelector=${encodeURIComponent("table=yes")}`, accept: TABLE },
  { id: "table-cm-create-finalizer", method: "POST", path: CM, body: configMap("t6", { a: "1" }, { finalizers: ["example.com/keep"] }), accept: TABLE },
  { id: "table-cm-delete-stays", method: "DELETE", path: `${CM}/t6`, accept: TABLE },
  { id: "table-cm-delete-gone", method: "DELETE", path: `${CM}/t2`, accept: TABLE },
  { id: "table-cm-deletecollection", method: "DELETE", path: `${CM}?labelSelector=${encodeURIComponent("table=yes")}`, accept: TABLE },
  { id: "metadata-cm-create", method: "POST", path: CM, body: configMap("t7"), accept: METADATA },
  { id: "metadata-cm-create-list-kind", method: "POST", path: CM, body: configMap("t8"), accept: METADATA_LIST },
  { id: "metadata-cm-get-after-list-kind", method: "GET", path: `${CM}/t8` },
  { id: "metadata-cm-list-object-kind", method: "GET", path: `${CM}?labelSelector=${encodeURIComponent("none=here")}`, accept: METADATA },
  { id: "metadata-cm-list", method: "GET", path: `${CM}?labelSelector=${encodeURIComponent("none=here")}`, accept: METADATA_LIST },
  { id: "table-pod-binding", method: "POST", path: `${NS}/pods/p1/binding`, body: { apiVersion: "v1", kind: "Binding", metadata: { name: "p1" }, target: { kind: "Node", name: "n1" } }, accept: TABLE },
  { id: "pod-binding", method: "POST", path: `${NS}/pods/p1/binding`, body: { apiVersion: "v1", kind: "Binding", metadata: { name: "p1" }, target: { kind: "Node", name: "n1" } }, exactStatus: true },
  { id: "pod-binding-already-bound", method: "POST", path: `${NS}/pods/p1/binding`, body: { apiVersion: "v1", kind: "Binding", metadata: { name: "p1" }, target: { kind: "Node", name: "n2" } }, exactStatus: true },
  { id: "table-pod-eviction", method: "POST", path: `${NS}/pods/p1/eviction`, body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: "p1" } }, accept: TABLE },
  { id: "table-pod-log", method: "GET", path: `${NS}/pods/p1/log`, accept: TABLE },
  { id: "table-pod-status", method: "GET", path: `${NS}/pods/p1/status`, accept: TABLE },
  { id: "table-pod-get-after", method: "GET", path: `${NS}/pods/p1` },
  { id: "sa-create", method: "POST", path: `${NS}/serviceaccounts`, body: { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "sa" } } },
  { id: "sa-token", method: "POST", path: `${NS}/serviceaccounts/sa/token`, body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: {} } },
  { id: "sa-token-bound-object-null", method: "POST", path: `${NS}/serviceaccounts/sa/token`, body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { expirationSeconds: 600, boundObjectRef: null } } },
  { id: "sa-token-bound-to-pod-missing", method: "POST", path: `${NS}/serviceaccounts/sa/token`, body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: { boundObjectRef: { kind: "Pod", apiVersion: "v1", name: "nope" } } }, exactStatus: true },
  { id: "table-sa-token", method: "POST", path: `${NS}/serviceaccounts/sa/token`, body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: {} }, accept: TABLE },
  { id: "metadata-sa-token", method: "POST", path: `${NS}/serviceaccounts/sa/token`, body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: {} }, accept: METADATA },
  { id: "table-ns-finalize", method: "PUT", path: `${NS}/finalize`, body: { apiVersion: "v1", kind: "Namespace", metadata: { name: "diff-ns" }, spec: { finalizers: ["kubernetes"] } }, accept: TABLE },
  { id: "table-ns-status", method: "PUT", path: `${NS}/status`, body: { apiVersion: "v1", kind: "Namespace", metadata: { name: "diff-ns" } }, accept: TABLE },

  // Proxy subresources: the target is looked up first (kubelab proxies only to nodes' kubelets)
  { id: "svc-proxy-missing", method: "GET", path: `${NS}/services/nope/proxy`, exactStatus: true },
  { id: "svc-proxy-missing-port-path", method: "GET", path: `${NS}/services/nope:80/proxy/some/path`, exactStatus: true },
  { id: "svc-proxy-missing-scheme-delete", method: "DELETE", path: `${NS}/services/https:nope:443/proxy/`, exactStatus: true },
  { id: "svc-proxy-bad-scheme", method: "GET", path: `${NS}/services/ftp:nope:21/proxy`, exactStatus: true },
  { id: "pod-proxy-missing", method: "GET", path: `${NS}/pods/nope/proxy`, exactStatus: true },
  { id: "pod-proxy-missing-port-path", method: "POST", path: `${NS}/pods/nope:8080/proxy/x`, body: "{}", exactStatus: true },
  { id: "node-proxy-missing", method: "GET", path: "/api/v1/nodes/nope/proxy", exactStatus: true },
  { id: "node-proxy-missing-path", method: "GET", path: "/api/v1/nodes/nope:10250/proxy/healthz", exactStatus: true },

  // Quantities: stored and answered in canonical form (`1000m` → "1", numbers as strings), on every write path.
  // The LimitRange and the ResourceQuota are deleted right away: the real quota admission refuses pods while a quota
  // has no status (no controller-manager runs here).
  { id: "qty-pod-create", method: "POST", path: `${NS}/pods`, body: QTY_POD },
  { id: "qty-pod-create-dryrun", method: "POST", path: `${NS}/pods?dryRun=All`, body: { ...QTY_POD, metadata: { name: "pq-dry" } } },
  { id: "qty-pod-patch-strategic-same-value", method: "PATCH", path: `${NS}/pods/pq`, body: { spec: { containers: [{ name: "c", resources: { requests: { cpu: "1", memory: "1Gi" } } }] } }, contentType: STRATEGIC },
  { id: "qty-pod-patch-json-equivalent", method: "PATCH", path: `${NS}/pods/pq`, body: [{ op: "replace", path: "/spec/containers/0/resources/limits/cpu", value: "2000m" }], contentType: JSON_PATCH },
  { id: "qty-pod-create-malformed", method: "POST", path: `${NS}/pods`, body: { ...QTY_POD, metadata: { name: "pq-bad" }, spec: { containers: [{ name: "c", image: "busybox:1.36", resources: { requests: { cpu: "lots" } } }] } } },
  { id: "qty-pod-get", method: "GET", path: `${NS}/pods/pq` },
  { id: "qty-lr-create", method: "POST", path: `${NS}/limitranges`, body: { apiVersion: "v1", kind: "LimitRange", metadata: { name: "lr" }, spec: { limits: [{ type: "Container", default: { cpu: "0.5", memory: "1024Mi" }, defaultRequest: { cpu: "100m" }, max: { memory: 4294967296 }, maxLimitRequestRatio: { cpu: 10 } }] } } },
  { id: "qty-lr-get", method: "GET", path: `${NS}/limitranges/lr` },
  { id: "qty-pod-create-limitrange-defaults", method: "POST", path: `${NS}/pods`, body: { apiVersion: "v1", kind: "Pod", metadata: { name: "pq-lr" }, spec: { containers: [{ name: "c", image: "busybox:1.36" }] } } },
  { id: "qty-lr-delete", method: "DELETE", path: `${NS}/limitranges/lr` },
  { id: "qty-rq-create", method: "POST", path: `${NS}/resourcequotas`, body: { apiVersion: "v1", kind: "ResourceQuota", metadata: { name: "rq" }, spec: { hard: { "requests.cpu": "2000m", "requests.memory": "1024Mi", "requests.storage": "1.5Gi", pods: 10, "count/configmaps": "1e3" } } } },
  { id: "qty-rq-patch-status", method: "PATCH", path: `${NS}/resourcequotas/rq/status`, body: { status: { hard: { "requests.cpu": "2000m", pods: 10 }, used: { "requests.cpu": "0.5", pods: 1 } } }, contentType: MERGE },
  { id: "qty-rq-apply", method: "PATCH", path: `${NS}/resourcequotas/rq?fieldManager=qty-apply&force=true`, body: "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: rq\nspec:\n  hard:\n    requests.cpu: 2000m\n    limits.memory: 2048Mi\n", contentType: APPLY },
  { id: "qty-rq-apply-again", method: "PATCH", path: `${NS}/resourcequotas/rq?fieldManager=qty-apply`, body: "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: rq\nspec:\n  hard:\n    requests.cpu: \"2\"\n    limits.memory: 2Gi\n", contentType: APPLY },
  { id: "qty-rq-patch-malformed", method: "PATCH", path: `${NS}/resourcequotas/rq`, body: { spec: { hard: { pods: "lots" } } }, contentType: MERGE },
  { id: "qty-rq-apply-malformed", method: "PATCH", path: `${NS}/resourcequotas/rq?fieldManager=qty-apply`, body: "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: rq\nspec:\n  hard:\n    pods: 1kk\n", contentType: APPLY },
  { id: "qty-rq-delete", method: "DELETE", path: `${NS}/resourcequotas/rq` },
  { id: "qty-pvc-create", method: "POST", path: `${NS}/persistentvolumeclaims`, body: { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "pvc" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1024Mi" }, limits: { storage: 2147483648 } } } } },
  { id: "qty-pvc-put-status", method: "PUT", path: `${NS}/persistentvolumeclaims/pvc/status`, body: { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "pvc" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } }, status: { phase: "Bound", accessModes: ["ReadWriteOnce"], capacity: { storage: "0.5Ti" } } } },
  { id: "qty-pvc-get", method: "GET", path: `${NS}/persistentvolumeclaims/pvc` },

  // Routing
  { id: "unknown-resource", method: "GET", path: `${NS}/frobs` },
  { id: "unknown-group-version", method: "GET", path: "/apis/frob.example.com/v1" },
  { id: "removed-version", method: "GET", path: "/apis/apps/v1beta1/namespaces/diff-ns/deployments" },
  { id: "post-to-get-only-path", method: "POST", path: "/api/v1", body: {} },
  { id: "post-to-group-version", method: "POST", path: "/apis/apps/v1", body: {} },
  { id: "unknown-group-resource", method: "GET", path: "/apis/frob.example.com/v1/namespaces/diff-ns/frobs" },

  // The namespace itself last
  { id: "ns-put-drops-finalizer", method: "PUT", path: NS, body: { apiVersion: "v1", kind: "Namespace", metadata: { name: "diff-ns" }, spec: { finalizers: [] } } },
  { id: "ns-delete", method: "DELETE", path: NS },
  { id: "cm-create-in-terminating-namespace", method: "POST", path: CM, body: configMap("c-late") },
  // Namespaces have no deletecollection; last, since a server that has one deletes every namespace here.
  { id: "ns-deletecollection", method: "DELETE", path: "/api/v1/namespaces" },
];
