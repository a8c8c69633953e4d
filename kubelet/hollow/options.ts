// Flags of the hollow kubelets (`kubelab hollow-nodes`, dist/kubelet/hollow/main.js) and their conversion into a validated HollowNodesConfig: the one place a bad
// value is named, so the simulator itself trusts its configuration.
import { errorMessage } from "../../api/errors.js";
import { isDNS1123Label, validateLabelKey, validateLabelValue } from "../../api/labels.js";
import { canonicalQuantity, parseQuantity, quantityValue } from "../../api/quantity.js";
import { defineFlags, FlagError, formatDuration, loggingFlags, type FlagValues } from "../../component-base/flags.js";
import { DEFAULT_MISSING_IMAGES, MissingImages } from "./missing-images.js";
import { parseCIDR, type CIDR } from "./pod-ips.js";

export const hollowNodesFlags = defineFlags({
  master: { type: "string", help: "The address of the Kubernetes API server (overrides any value in kubeconfig)" },
  kubeconfig: { type: "string", help: "Path to a kubeconfig file with the API server and credentials" },
  count: { type: "number", default: 1, help: "Number of nodes this process simulates" },
  namePrefix: { type: "string", default: "hollow-node", help: "Nodes are named <name-prefix>-<index>" },
  startIndex: { type: "number", default: 0, help: "Index of the first node (several processes can split a range)" },
  cpu: { type: "string", default: "4", help: "cpu capacity (and allocatable) of every node" },
  memory: { type: "string", default: "8Gi", help: "memory capacity (and allocatable) of every node" },
  maxPods: { type: "number", default: 110, help: "pods capacity of every node (kubelet's --max-pods)" },
  ephemeralStorage: { type: "string", default: "100Gi", help: "ephemeral-storage capacity of every node" },
  labels: { type: "string", default: "", help: "Extra labels for every node, k=v,k2=v2 (kubelet's --node-labels)" },
  startDelay: { type: "duration", default: "0s", help: "How long the fake runtime takes to create a pod sandbox (the pod stays Pending meanwhile)" },
  leaseDuration: { type: "duration", default: "40s", help: "leaseDurationSeconds of each node's Lease (kubelet's nodeLeaseDurationSeconds)" },
  leaseRenewInterval: { type: "duration", help: "How often each node renews its Lease (default lease-duration/4, 10s, like the kubelet)" },
  nodeStatusUpdateFrequency: { type: "duration", default: "10s", help: "How often each node computes its status; it is posted when it changed (kubelet's --node-status-update-frequency)" },
  nodeStatusReportFrequency: { type: "duration", default: "5m", help: "How often an unchanged node status is posted anyway (kubelet's nodeStatusReportFrequency)" },
  podCidrWait: { type: "duration", default: "5s", help: "How long a pod waits for its node's spec.podCIDR (node IPAM) before the fallback range is used" },
  podCidrFallback: {
    type: "string",
    default: "10.244.0.0/16",
    help: 'Range for a pseudo /24 per node (picked by a hash of the node name) when the node has no podCIDR after --pod-cidr-wait; "none" makes pods wait for a podCIDR',
  },
  missingImages: {
    type: "string",
    default: DEFAULT_MISSING_IMAGES.join(","),
    help: 'Images the simulated registry lacks, comma-separated patterns (* matches anything) matched against the reference as written and normalized: their pulls fail NotFound (ErrImagePull, then ImagePullBackOff); "" means every image exists',
  },
  concurrentNodeSyncs: { type: "number", default: 16, help: "Nodes registering at the same time at start" },
  concurrentPodSyncs: { type: "number", default: 16, help: "Ignored (kept for old command lines): every hollow kubelet has one worker per pod, as the kubelet" },
  rootDir: { type: "string", help: "Directory the paths of the nodes' pod files (volumes, /etc/hosts, termination logs) are named under — no file is written: nothing reads them; default a temporary directory (in /dev/shm when it has 1 GiB free) removed at exit" },
  port: { type: "number", default: 0, help: "Port for /healthz and /metrics (0 = none)" },
  bindAddress: { type: "string", default: "0.0.0.0", help: "Address for the health and metrics server" },
  eventQps: { type: "number", default: 50, help: "Events per second all the nodes together may create (kubelet's --event-qps, here shared by the process; <= 0: unlimited)" },
  eventBurst: { type: "number", default: 100, help: "Burst of event creations (kubelet's --event-burst)" },
  kubeApiQps: { type: "number", default: 500, help: "Client-side requests per second to the API server (<= 0: unlimited)" },
  kubeApiBurst: { type: "number", default: 1000, help: "Client-side burst of requests to the API server" },
  ...loggingFlags,
});

export type HollowNodesFlags = FlagValues<typeof hollowNodesFlags>;

/** Everything the simulator needs besides a client, validated. Durations are milliseconds. */
export interface HollowNodesConfig {
  count: number;
  namePrefix: string;
  startIndex: number;
  /** Canonical quantities. */
  capacity: { cpu: string; memory: string; pods: string; "ephemeral-storage": string };
  /** Extra node labels from --labels. */
  labels: Record<string, string>;
  startDelayMs: number;
  leaseDurationSeconds: number;
  leaseRenewIntervalMs: number;
  nodeStatusUpdateFrequencyMs: number;
  nodeStatusReportFrequencyMs: number;
  podCIDRWaitMs: number;
  /** Undefined: no fallback (pods wait for the node's podCIDR). */
  podCIDRFallback: CIDR | undefined;
  /** The images the simulated registry lacks. */
  missingImages: MissingImages;
  concurrentNodeSyncs: number;
  concurrentPodSyncs: number;
  /** --root-dir; undefined: a temporary directory of the process's own. */
  rootDir: string | undefined;
}

/** A node name is <prefix>-<index>; it is also the kubernetes.io/hostname label value, so at most 63 characters. */
const MAX_NODE_NAME = 63;

/** Converts parsed flags into a config; throws FlagError naming the flag for any bad value. */
export function resolveConfig(flags: HollowNodesFlags): HollowNodesConfig {
  const count = positiveInteger(flags.count, "count");
  const startIndex = nonNegativeInteger(flags.startIndex, "start-index");
  const lastName = `${flags.namePrefix}-${startIndex + count - 1}`;
  const nameErrors = isDNS1123Label(lastName);
  if (flags.namePrefix === "" || nameErrors.length > 0 || lastName.length > MAX_NODE_NAME) {
    throw new FlagError(`invalid argument "${flags.namePrefix}" for "--name-prefix" flag: node names such as "${lastName}" must be DNS-1123 labels of at most ${MAX_NODE_NAME} characters${nameErrors.length > 0 ? `: ${nameErrors.join("; ")}` : ""}`);
  }
  const leaseDurationMs = positiveDuration(flags.leaseDuration, "lease-duration");
  if (leaseDurationMs % 1000 !== 0) throw new FlagError(`invalid argument "${formatDuration(leaseDurationMs)}" for "--lease-duration" flag: must be whole seconds`);
  const leaseRenewIntervalMs = flags.leaseRenewInterval === undefined ? leaseDurationMs / 4 : positiveDuration(flags.leaseRenewInterval, "lease-renew-interval");
  return {
    count,
    namePrefix: flags.namePrefix,
    startIndex,
    capacity: {
      cpu: quantity(flags.cpu, "cpu"),
      memory: quantity(flags.memory, "memory"),
      pods: String(positiveInteger(flags.maxPods, "max-pods")),
      "ephemeral-storage": quantity(flags.ephemeralStorage, "ephemeral-storage"),
    },
    labels: parseLabels(flags.labels),
    startDelayMs: nonNegativeDuration(flags.startDelay, "start-delay"),
    leaseDurationSeconds: leaseDurationMs / 1000,
    leaseRenewIntervalMs,
    nodeStatusUpdateFrequencyMs: positiveDuration(flags.nodeStatusUpdateFrequency, "node-status-update-frequency"),
    nodeStatusReportFrequencyMs: positiveDuration(flags.nodeStatusReportFrequency, "node-status-report-frequency"),
    podCIDRWaitMs: nonNegativeDuration(flags.podCidrWait, "pod-cidr-wait"),
    podCIDRFallback: fallbackRange(flags.podCidrFallback),
    missingImages: missingImages(flags.missingImages),
    concurrentNodeSyncs: positiveInteger(flags.concurrentNodeSyncs, "concurrent-node-syncs"),
    concurrentPodSyncs: positiveInteger(flags.concurrentPodSyncs, "concurrent-pod-syncs"),
    rootDir: flags.rootDir !== undefined && flags.rootDir !== "" ? flags.rootDir : undefined,
  };
}

/** "k=v,k2=v2" (kubelet's --node-labels syntax); keys and values must be valid label keys and values. */
export function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  if (text.trim() === "") return labels;
  for (const pair of text.split(",")) {
    const eq = pair.indexOf("=");
    if (eq < 0) throw new FlagError(`invalid argument "${text}" for "--labels" flag: "${pair}" is not of the form key=value`);
    const key = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const problems = [...validateLabelKey(key).map((m) => `key "${key}": ${m}`), ...validateLabelValue(value).map((m) => `value "${value}": ${m}`)];
    if (problems.length > 0) throw new FlagError(`invalid argument "${text}" for "--labels" flag: ${problems.join("; ")}`);
    labels[key] = value;
  }
  return labels;
}

function missingImages(text: string): MissingImages {
  try {
    return MissingImages.parse(text);
  } catch (err) {
    throw new FlagError(`invalid argument "${text}" for "--missing-images" flag: ${errorMessage(err)}`);
  }
}

function fallbackRange(text: string): CIDR | undefined {
  if (text === "none") return undefined;
  const cidr = parseCIDR(text);
  if (!cidr || cidr.prefixLength > 24) throw new FlagError(`invalid argument "${text}" for "--pod-cidr-fallback" flag: want an IPv4 CIDR of /24 or larger, or "none"`);
  return cidr;
}

function quantity(text: string, flag: string): string {
  try {
    const q = parseQuantity(text);
    if (quantityValue(q) <= 0) throw new Error("must be positive");
    return canonicalQuantity(text);
  } catch (err) {
    throw new FlagError(`invalid argument "${text}" for "--${flag}" flag: ${errorMessage(err)}`);
  }
}

function positiveInteger(n: number, flag: string): number {
  if (!Number.isInteger(n) || n <= 0) throw new FlagError(`invalid argument "${n}" for "--${flag}" flag: must be a positive integer`);
  return n;
}

function nonNegativeInteger(n: number, flag: string): number {
  if (!Number.isInteger(n) || n < 0) throw new FlagError(`invalid argument "${n}" for "--${flag}" flag: must be a non-negative integer`);
  return n;
}

function positiveDuration(ms: number, flag: string): number {
  if (!(ms > 0)) throw new FlagError(`invalid argument "${formatDuration(ms)}" for "--${flag}" flag: must be positive`);
  return ms;
}

function nonNegativeDuration(ms: number, flag: string): number {
  if (!(ms >= 0)) throw new FlagError(`invalid argument "${formatDuration(ms)}" for "--${flag}" flag: must not be negative`);
  return ms;
}
