// Runs one probe of one container (Kubernetes' pkg/kubelet/prober/prober.go): picks the handler, retries a
// handler that could not run at all up to 3 times, and records the container's events: Warning "Unhealthy"
// "<Kind> probe failed: <output>" on a failure, "<Kind> probe errored: <error>" when no attempt could run (that
// result is then thrown away by the worker), Warning "ProbeWarning" "<Kind> probe warning: <output>" on a success
// with something to report (an HTTP redirect to another host).
import type { Container, IntOrString, Pod, Probe } from "../../api/types/index.js";
import type { EventRecorder, ObjectReference } from "../../client/event-recorder.js";
import type { Clock } from "../../component-base/clock.js";
import type { Logger } from "../../component-base/logging.js";
import { execProbe, expandCommand, type ExecRuntime } from "./handlers/exec.js";
import { grpcProbe } from "./handlers/grpc.js";
import { httpProbe } from "./handlers/http.js";
import { ProbeError, type ProbeOutcome } from "./handlers/outcome.js";
import { tcpProbe } from "./handlers/tcp.js";

export type ProbeKind = "liveness" | "readiness" | "startup";
export type ProbeResult = "Success" | "Failure";

/** Kubernetes' event reasons for probes. */
export const REASON_UNHEALTHY = "Unhealthy";
export const REASON_PROBE_WARNING = "ProbeWarning";

/** Attempts of a handler that errors (as opposed to failing) before the probe counts as errored. */
export const MAX_PROBE_RETRIES = 3;

/** The probe's defaults when the pod was not defaulted by an apiserver. */
export const DEFAULT_TIMEOUT_SECONDS = 1;

/** The kind as Kubernetes prints it in events and the probe_type metric label: Liveness, Readiness, Startup. */
export function kindName(kind: ProbeKind): "Liveness" | "Readiness" | "Startup" {
  switch (kind) {
    case "liveness":
      return "Liveness";
    case "readiness":
      return "Readiness";
    case "startup":
      return "Startup";
  }
}

export interface ProbeTarget {
  pod: Readonly<Pod>;
  podIP: string;
  container: Readonly<Container>;
  containerId: string;
  /** spec.containers{name}, or spec.initContainers{name} for a sidecar. */
  fieldPath: string;
}

export interface ProberOptions {
  runtime: ExecRuntime;
  recorder: EventRecorder;
  clock: Clock;
  logger: Logger;
  /**
   * "simulated" on a hollow node, where no pod address exists and nothing listens: HTTP, TCP and gRPC probes succeed
   * as a serving container's would (still resolving a named port, so a probe naming a port the container lacks
   * errors as on a real node). Exec probes always go to the runtime. Default "real".
   */
  network?: "real" | "simulated";
}

export class Prober {
  constructor(private readonly options: ProberOptions) {}

  /** The probe's result, or undefined when it errored (nothing could be concluded). */
  async probe(kind: ProbeKind, probe: Readonly<Probe>, target: ProbeTarget): Promise<ProbeResult | undefined> {
    let outcome: ProbeOutcome | undefined;
    let error: unknown;
    for (let attempt = 0; attempt < MAX_PROBE_RETRIES && outcome === undefined; attempt++) {
      try {
        outcome = await this.run(probe, target);
      } catch (err) {
        error = err;
      }
    }
    const name = kindName(kind);
    const log = { pod: `${target.pod.metadata.namespace ?? ""}/${target.pod.metadata.name ?? ""}`, container: target.container.name, probeType: name };
    if (outcome === undefined) {
      const message = error instanceof Error ? error.message : String(error);
      this.options.logger.debug({ ...log, err: message }, "Probe errored");
      this.event(target, REASON_UNHEALTHY, `${name} probe errored: ${message}`);
      return undefined;
    }
    if (outcome.result === "Failure") {
      this.options.logger.debug({ ...log, output: outcome.output }, "Probe failed");
      this.event(target, REASON_UNHEALTHY, `${name} probe failed: ${outcome.output}`);
      return "Failure";
    }
    if (outcome.result === "Warning") this.event(target, REASON_PROBE_WARNING, `${name} probe warning: ${outcome.output}`);
    return "Success";
  }

  private async run(probe: Readonly<Probe>, target: ProbeTarget): Promise<ProbeOutcome> {
    const { clock } = this.options;
    const timeoutSeconds = probe.timeoutSeconds !== undefined && probe.timeoutSeconds > 0 ? probe.timeoutSeconds : DEFAULT_TIMEOUT_SECONDS;
    const timeoutMs = timeoutSeconds * 1000;
    if (probe.exec) {
      const command = expandCommand(probe.exec.command ?? [], target.container.env);
      return execProbe(this.options.runtime, target.containerId, command, timeoutSeconds, clock);
    }
    if (this.options.network === "simulated" && (probe.httpGet || probe.tcpSocket || probe.grpc)) {
      const port = probe.httpGet?.port ?? probe.tcpSocket?.port ?? probe.grpc?.port ?? 0;
      resolveContainerPort(port, target.container);
      return { result: "Success", output: "" };
    }
    if (probe.httpGet) {
      const action = probe.httpGet;
      return httpProbe(
        {
          scheme: action.scheme ?? "HTTP",
          host: probeHost(action.host, target.podIP),
          port: resolveContainerPort(action.port, target.container),
          path: action.path ?? "/",
          headers: action.httpHeaders ?? [],
        },
        timeoutMs,
        clock,
      );
    }
    if (probe.tcpSocket) {
      const action = probe.tcpSocket;
      return tcpProbe(probeHost(action.host, target.podIP), resolveContainerPort(action.port, target.container), timeoutMs, clock);
    }
    if (probe.grpc) {
      return grpcProbe(probeHost(undefined, target.podIP), resolveContainerPort(probe.grpc.port, target.container), probe.grpc.service ?? "", timeoutMs);
    }
    const { name, namespace, uid } = target.pod.metadata;
    throw new ProbeError(`missing probe handler for ${name ?? ""}_${namespace ?? ""}(${uid ?? ""}):${target.container.name}`);
  }

  private event(target: ProbeTarget, reason: string, message: string): void {
    this.options.recorder.event(containerRef(target.pod, target.fieldPath), "Warning", reason, message);
  }
}

/** The ObjectReference of a pod's container, as the kubelet's container events carry it. */
export function containerRef(pod: Readonly<Pod>, fieldPath: string): ObjectReference {
  const { name, namespace, uid, resourceVersion } = pod.metadata;
  return {
    kind: "Pod",
    apiVersion: "v1",
    name: name ?? "",
    ...(namespace !== undefined ? { namespace } : {}),
    ...(uid !== undefined ? { uid } : {}),
    ...(resourceVersion !== undefined ? { resourceVersion } : {}),
    fieldPath,
  };
}

/** The action's host, else the pod's IP (a probe never silently goes to the node's own localhost). */
function probeHost(host: string | undefined, podIP: string): string {
  const chosen = host !== undefined && host !== "" ? host : podIP;
  if (chosen === "") throw new ProbeError("the pod has no IP to probe");
  return chosen;
}

/**
 * A probe's port: a number, or the name of one of the container's ports (a numeric string still counts as a
 * number, as Kubernetes' last-ditch parse does); it must be within 1–65535.
 */
export function resolveContainerPort(port: IntOrString, container: Readonly<Container>): number {
  let value: number;
  if (typeof port === "number") value = port;
  else {
    const named = container.ports?.find((p) => p.name === port);
    if (named !== undefined) value = named.containerPort;
    else if (/^[0-9]+$/.test(port)) value = Number(port);
    else throw new ProbeError(`port ${port} not found`);
  }
  if (Number.isInteger(value) && value > 0 && value < 65536) return value;
  throw new ProbeError(`invalid port number: ${String(value)}`);
}
