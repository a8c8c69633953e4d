// Writes pod statuses level-based (Kubernetes' status manager): a conditional PUT of pods/<name>/status, only when
// the generated status differs from what the API holds, so an unchanged status costs no write. A status the
// server normalized on the way in (what it stored differs from what was sent) is recognized as written.
import { cloneJson, deepEqual } from "../../api/normalize.js";
import { isConflict, isNotFound } from "../../api/errors.js";
import { RESOURCES } from "../../api/resources.js";
import type { Pod, PodStatus } from "../../api/types/index.js";
import type { RestClient } from "../../client/rest.js";
import type { Logger } from "../../component-base/logging.js";

const PODS = RESOURCES.find((r) => r.group === "" && r.resource === "pods")!;

export type StatusClient = Pick<RestClient, "updateStatus" | "get">;

export class StatusManager {
  /** Per pod uid: the status last sent and what the server stored for it. */
  private readonly written = new Map<string, { sent: PodStatus; stored: PodStatus | undefined }>();
  /** Per pod uid: the phase of the status being written, or last written. */
  private readonly phases = new Map<string, string>();

  constructor(private readonly opts: { client: StatusClient; logger: Logger }) {}

  /**
   * The phase of the status this manager is writing or last wrote for the pod (undefined: none written): the pod
   * informer's update carrying it is this kubelet's own write coming back, possibly before the write's response.
   */
  ownPhase(uid: string): string | undefined {
    return this.phases.get(uid);
  }

  /** Whether writing `status` for `pod` (as last seen) would change anything. */
  needsWrite(pod: Readonly<Pod>, status: Readonly<PodStatus>): boolean {
    if (deepEqual(pod.status ?? {}, status)) return false;
    const last = this.written.get(pod.metadata.uid ?? "");
    return !(last && deepEqual(last.sent, status) && deepEqual(last.stored ?? {}, pod.status ?? {}));
  }

  /**
   * Writes `status` unless unchanged; returns the pod as the server stored it (undefined when nothing was written,
   * or the pod is gone or was replaced by another of the same name).
   */
  async write(pod: Readonly<Pod>, status: PodStatus): Promise<Pod | undefined> {
    if (!this.needsWrite(pod, status)) return undefined;
    const uid = pod.metadata.uid ?? "";
    const ns = pod.metadata.namespace ?? "default";
    let base: Readonly<Pod> = pod;
    if (status.phase !== undefined) this.phases.set(uid, status.phase);
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        // A shallow copy: the client only serializes the object (base may be the informer's frozen copy).
        const stored = await this.opts.client.updateStatus<Pod>(PODS, ns, { ...base, status });
        // A copy, in case the caller reuses the object; plain JSON data, so cloneJson (structuredClone cost 4-5x more).
        this.written.set(uid, { sent: cloneJson(status), stored: stored.status });
        return stored;
      } catch (err) {
        if (isNotFound(err)) return undefined;
        if (!isConflict(err)) throw err;
        const latest = await this.opts.client.get<Pod>(PODS, ns, pod.metadata.name ?? "").catch((e: unknown) => {
          if (isNotFound(e)) return undefined;
          throw e;
        });
        if (latest?.metadata.uid !== uid) return undefined;
        base = latest;
      }
    }
    this.opts.logger.info({ pod: `${ns}/${pod.metadata.name ?? ""}` }, "Status update kept conflicting; retrying at the next sync");
    return undefined;
  }

  forget(uid: string): void {
    this.written.delete(uid);
    this.phases.delete(uid);
  }
}
