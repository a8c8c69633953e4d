// Static pods (Kubernetes' file config source): the manifests in --pod-manifest-path run on this node without the
// apiserver, each under a uid derived from the node, file and content (so a restarted kubelet adopts them and an
// edited file replaces the pod), named <name>-<node>. The apiserver sees each through a mirror pod the pod manager
// keeps (annotation kubernetes.io/config.mirror).
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { applyDefaults } from "../../api/defaults.js";
import { RESOURCES } from "../../api/resources.js";
import type { Pod } from "../../api/types/index.js";
import type { Clock } from "../../component-base/clock.js";
import type { Logger } from "../../component-base/logging.js";

const PODS = RESOURCES.find((r) => r.group === "" && r.resource === "pods")!;

export const CONFIG_SOURCE_ANNOTATION = "kubernetes.io/config.source";
export const CONFIG_HASH_ANNOTATION = "kubernetes.io/config.hash";
export const CONFIG_SEEN_ANNOTATION = "kubernetes.io/config.seen";
export const CONFIG_MIRROR_ANNOTATION = "kubernetes.io/config.mirror";

export function isStaticPod(pod: Readonly<Pod>): boolean {
  return pod.metadata.annotations?.[CONFIG_SOURCE_ANNOTATION] === "file";
}

/** The static pod uid a mirror pod stands for, or undefined for an ordinary pod. */
export function mirrorOf(pod: Readonly<Pod>): string | undefined {
  return pod.metadata.annotations?.[CONFIG_MIRROR_ANNOTATION];
}

/** The static pods one manifest file describes (a file may hold several YAML documents); throws on a bad file. */
export function staticPodsFromManifest(text: string, file: string, nodeName: string, seenAt: string): Pod[] {
  const pods: Pod[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (typeof value !== "object" || (value as { kind?: unknown }).kind !== "Pod") throw new Error(`${file}: not a Pod manifest`);
    const pod = value as Pod;
    if (!pod.metadata.name) throw new Error(`${file}: metadata.name is required`);
    const uid = createHash("sha256").update(`${nodeName}\n${file}\n${JSON.stringify(pod)}`).digest("hex").slice(0, 32);
    pod.apiVersion = "v1";
    pod.metadata.name = `${pod.metadata.name}-${nodeName}`;
    pod.metadata.namespace ??= "default";
    pod.metadata.uid = uid;
    pod.metadata.annotations = { ...(pod.metadata.annotations ?? {}), [CONFIG_HASH_ANNOTATION]: uid, [CONFIG_SOURCE_ANNOTATION]: "file", [CONFIG_SEEN_ANNOTATION]: seenAt };
    applyDefaults(PODS, pod);
    if (pod.spec) {
      pod.spec.nodeName = nodeName;
      // As Kubernetes: a static pod tolerates every NoExecute taint (it cannot be evicted anyway).
      pod.spec.tolerations = [...(pod.spec.tolerations ?? []), { operator: "Exists", effect: "NoExecute" }];
    }
    pods.push(pod);
  }
  return pods;
}

export interface StaticPodSourceOptions {
  dir: string;
  nodeName: string;
  clock: Clock;
  logger: Logger;
  /** How often the directory is read (Kubernetes' --file-check-frequency, 20 s). */
  periodMs?: number;
  /** Every static pod the directory describes now. */
  onPods: (pods: Pod[]) => void;
}

export class StaticPodSource {
  constructor(private readonly opts: StaticPodSourceOptions) {}

  /** Reads the directory now; unreadable files are logged and skipped. */
  read(): Pod[] {
    const { dir, nodeName, clock, logger } = this.opts;
    let files: string[];
    try {
      files = readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f) && !f.startsWith(".")).sort();
    } catch (err) {
      logger.warn({ dir, err: err instanceof Error ? err.message : String(err) }, "Cannot read the static pod manifest directory");
      return [];
    }
    const pods: Pod[] = [];
    const seenAt = new Date(clock.now()).toISOString();
    for (const file of files) {
      try {
        pods.push(...staticPodsFromManifest(readFileSync(join(dir, file), "utf8"), join(dir, file), nodeName, seenAt));
      } catch (err) {
        logger.warn({ file, err: err instanceof Error ? err.message : String(err) }, "Skipping a static pod manifest");
      }
    }
    return pods;
  }

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      this.opts.onPods(this.read());
      if (!(await this.opts.clock.sleep(this.opts.periodMs ?? 20_000, signal))) return;
    }
  }
}
