// Where the built kubelab processes are: dist/<folder>/main.js under the repository root, whether this module runs
// from source (lab/components/) or from its compiled copy (dist/lab/components/). An environment variable per
// entry point overrides the path (to measure another build, say).
import { existsSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: the nearest directory above this module with a package.json that is not dist/. */
export const REPO_ROOT = findRepoRoot(dirname(fileURLToPath(import.meta.url)));

function findRepoRoot(start: string): string {
  for (let dir = start; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json")) && !dir.endsWith(`${sep}dist`)) return dir;
  }
  return resolve(start, "..", "..");
}

/** The kubelab programs built into dist/, by their folder, with the variable that overrides each path. */
export const DIST_ENTRIES = {
  apiserver: "KUBELAB_APISERVER_MAIN",
  scheduler: "KUBELAB_SCHEDULER_MAIN",
  "controller-manager": "KUBELAB_CONTROLLER_MANAGER_MAIN",
  lab: "KUBELAB_LAB_MAIN",
  "container-runtime": "KUBELAB_CONTAINER_RUNTIME_MAIN",
  kubelet: "KUBELAB_KUBELET_MAIN",
  "kube-proxy": "KUBELAB_KUBE_PROXY_MAIN",
  "cluster-dns": "KUBELAB_CLUSTER_DNS_MAIN",
  "kube-state-metrics": "KUBELAB_KUBE_STATE_METRICS_MAIN",
  "metrics-server": "KUBELAB_METRICS_SERVER_MAIN",
  "live-view": "KUBELAB_UI_MAIN",
  /** Hollow nodes: N kubelets over a fake runtime in one process (`kubelab hollow-nodes`). */
  "kubelet/hollow": "KUBELAB_HOLLOW_NODES_MAIN",
} as const;
export type DistProgram = keyof typeof DIST_ENTRIES;

/** The main.js of a built kubelab program (the runner checks that it exists when it starts it). */
export function distEntry(program: DistProgram, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env[DIST_ENTRIES[program]];
  return fromEnv ? resolve(fromEnv) : join(REPO_ROOT, "dist", program, "main.js");
}
