// What the page's buttons do, each the same call a user makes: `kubectl delete pod`, `kubectl scale` (a merge patch
// of the scale subresource), `kubectl cordon|uncordon` (a strategic merge patch of spec.unschedulable), `kubectl
// logs`, and `kubelab kill|stop|start` (the lab's control socket). Arguments are checked here, at the boundary.
import { errorMessage, isStatusError } from "../api/errors.js";
import { findResource } from "../api/resources.js";
import type { LabControlClient } from "../client/lab-control.js";
import type { RestClient } from "../client/rest.js";

const PODS = findResource("", "v1", "pods")!;
const NODES = findResource("", "v1", "nodes")!;
const DEPLOYMENTS = findResource("apps", "v1", "deployments")!;

/** A request the page got wrong (400) or that the cluster refused (the apiserver's code). */
export class ActionError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
    this.name = "ActionError";
  }
}

export type ComponentVerb = "kill" | "stop" | "start";

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

function checkName(what: string, value: unknown): string {
  if (typeof value !== "string" || value.length > 253 || !NAME.test(value)) throw new ActionError(`${what}: not a valid name: ${JSON.stringify(value)}`, 400);
  return value;
}

export class Actions {
  constructor(
    private readonly client: RestClient,
    /** Absent when the view runs without a lab (--lab-home unset): component actions are refused. */
    private readonly lab: LabControlClient | undefined,
  ) {}

  get hasLab(): boolean {
    return this.lab !== undefined;
  }

  async deletePod(namespace: unknown, name: unknown): Promise<string> {
    await this.cluster(() => this.client.delete(PODS, checkName("namespace", namespace), checkName("name", name)));
    return `pod "${String(name)}" deleted`;
  }

  async scaleDeployment(namespace: unknown, name: unknown, replicas: unknown): Promise<string> {
    if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0 || replicas > 1000) throw new ActionError(`replicas: an integer from 0 to 1000, not ${JSON.stringify(replicas)}`, 400);
    await this.cluster(() => this.client.patch(DEPLOYMENTS, checkName("namespace", namespace), checkName("name", name), "merge", { spec: { replicas } }, { subresource: "scale" }));
    return `deployment.apps/${String(name)} scaled to ${replicas}`;
  }

  async cordonNode(name: unknown, unschedulable: unknown): Promise<string> {
    if (typeof unschedulable !== "boolean") throw new ActionError("unschedulable: true (cordon) or false (uncordon)", 400);
    await this.cluster(() => this.client.patch(NODES, undefined, checkName("name", name), "strategic", { spec: { unschedulable: unschedulable ? true : null } }));
    return `node/${String(name)} ${unschedulable ? "cordoned" : "uncordoned"}`;
  }

  /** The last lines of a container's log (`kubectl logs --tail`). */
  async podLog(namespace: unknown, name: unknown, container: unknown, tailLines = 500): Promise<string> {
    const query = new URLSearchParams({ tailLines: String(tailLines) });
    if (typeof container === "string" && container !== "") query.set("container", checkName("container", container));
    const path = `/api/v1/namespaces/${checkName("namespace", namespace)}/pods/${checkName("name", name)}/log?${query.toString()}`;
    const reply = await this.cluster(() => this.client.raw("GET", path));
    return typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body);
  }

  async component(verb: ComponentVerb, component: unknown, node: unknown): Promise<string> {
    if (this.lab === undefined) throw new ActionError("this view is not connected to a lab (start it with --lab-home)", 400);
    if (typeof component !== "string" || !/^[a-z-]+$/.test(component)) throw new ActionError(`component: not a component kind: ${JSON.stringify(component)}`, 400);
    const target = { component, ...(node === undefined || node === "" ? {} : { node: checkName("node", node) }) };
    let changed;
    try {
      changed = verb === "kill" ? await this.lab.kill(target) : verb === "stop" ? await this.lab.stop(target) : await this.lab.start(target);
    } catch (err) {
      throw new ActionError(errorMessage(err), 502);
    }
    return changed.map((c) => `${c.name}: ${verb === "kill" ? "killed" : verb === "stop" ? "stopped" : "started"} (state ${c.state})`).join("\n");
  }

  private async cluster<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof ActionError) throw err;
      throw new ActionError(errorMessage(err), isStatusError(err) ? err.code : 502);
    }
  }
}
