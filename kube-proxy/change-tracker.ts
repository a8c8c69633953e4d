// Change trackers (Kubernetes' ServiceChangeTracker and EndpointsChangeTracker): informer events only record what
// changed, per Service; the next sync applies every pending change at once to the maps it renders from and learns
// what changed, for conntrack clean-up and latency metrics. Events that cancel out (an add then a delete, an update
// that changes nothing kube-proxy uses) leave nothing pending.
import type { Service } from "../api/types/core.js";
import type { EndpointSlice } from "../api/types/discovery.js";
import { endpointsOfSlices, LAST_CHANGE_TRIGGER_TIME_ANNOTATION, serviceKeyOfSlice, type EndpointInfo, type EndpointsMap } from "./endpoints.js";
import { sameServicePort, servicePortsOf, type ServicePortInfo, type ServicePortMap } from "./service-port.js";

function serviceKey(svc: Readonly<Service>): string {
  return `${svc.metadata.namespace ?? "default"}/${svc.metadata.name ?? ""}`;
}

export interface ServiceUpdateResult {
  /** "namespace/name" of every Service whose ports changed. */
  updatedServices: Set<string>;
  /** Ports that are gone, with what they were (UDP ones need their conntrack entries cleared). */
  deletedPorts: ServicePortInfo[];
}

export class ServiceChangeTracker {
  /** Per Service: its ports as of the last apply, and as of the newest event. */
  private readonly changes = new Map<string, { previous: ServicePortMap; current: ServicePortMap }>();

  /** Records an add (previous undefined), update or delete (current undefined). Returns whether changes are pending. */
  update(previous: Readonly<Service> | undefined, current: Readonly<Service> | undefined): boolean {
    const svc = current ?? previous;
    if (!svc) return this.changes.size > 0;
    const key = serviceKey(svc);
    const pending = this.changes.get(key);
    const change = pending ?? { previous: previous ? servicePortsOf(previous) : new Map<string, ServicePortInfo>(), current: new Map<string, ServicePortInfo>() };
    change.current = current ? servicePortsOf(current) : new Map<string, ServicePortInfo>();
    if (samePorts(change.previous, change.current)) this.changes.delete(key);
    else this.changes.set(key, change);
    return this.changes.size > 0;
  }

  get pending(): number {
    return this.changes.size;
  }

  /** Applies the pending changes to `map` and clears them. */
  apply(map: ServicePortMap): ServiceUpdateResult {
    const result: ServiceUpdateResult = { updatedServices: new Set(), deletedPorts: [] };
    for (const [key, change] of this.changes) {
      result.updatedServices.add(key);
      for (const [name, info] of change.previous) {
        map.delete(name);
        if (!change.current.has(name)) result.deletedPorts.push(info);
      }
      for (const [name, info] of change.current) map.set(name, info);
    }
    this.changes.clear();
    return result;
  }
}

function samePorts(a: ServicePortMap, b: ServicePortMap): boolean {
  if (a.size !== b.size) return false;
  for (const [name, info] of a) {
    const other = b.get(name);
    if (!other || !sameServicePort(info, other)) return false;
  }
  return true;
}

export interface EndpointsUpdateResult {
  /** "namespace/name" of every Service whose endpoints changed. */
  updatedServices: Set<string>;
  /** Per service port whose endpoints changed: before and after. */
  changedPorts: Map<string, { previous: readonly EndpointInfo[]; current: readonly EndpointInfo[] }>;
  /** The last-change-trigger-time (ms) of every slice version applied, for the network programming latency. */
  lastChangeTriggerTimes: number[];
}

export class EndpointsChangeTracker {
  /** Every known slice, per Service, by slice name. */
  private readonly slices = new Map<string, Map<string, Readonly<EndpointSlice>>>();
  /** Service port keys each Service had at the last apply, to remove ports that disappear. */
  private readonly appliedPorts = new Map<string, string[]>();
  private readonly dirty = new Set<string>();
  private readonly triggerTimes = new Map<string, number[]>();

  /**
   * `startTime` (ms): trigger times before it are not recorded, as in Kubernetes: a change made before this
   * kube-proxy started (the whole cluster, on its first list) is no measure of how fast it programs the network.
   */
  constructor(private readonly startTime = Number.NEGATIVE_INFINITY) {}

  /** Records a slice added or updated, or removed. Returns whether changes are pending. */
  sliceUpdate(slice: Readonly<EndpointSlice>, removed: boolean): boolean {
    const svc = serviceKeyOfSlice(slice);
    if (svc === undefined) return this.dirty.size > 0;
    const name = slice.metadata.name ?? "";
    let bySlice = this.slices.get(svc);
    if (removed) {
      bySlice?.delete(name);
      if (bySlice?.size === 0) this.slices.delete(svc);
    } else {
      if (!bySlice) this.slices.set(svc, (bySlice = new Map<string, Readonly<EndpointSlice>>()));
      bySlice.set(name, slice);
      const trigger = Date.parse(slice.metadata.annotations?.[LAST_CHANGE_TRIGGER_TIME_ANNOTATION] ?? "");
      if (Number.isFinite(trigger) && trigger > this.startTime) this.triggerTimes.set(svc, [...(this.triggerTimes.get(svc) ?? []), trigger]);
    }
    this.dirty.add(svc);
    return true;
  }

  get pending(): number {
    return this.dirty.size;
  }

  /** Recomputes the endpoints of every Service with changed slices into `map` and clears the pending changes. */
  apply(map: EndpointsMap): EndpointsUpdateResult {
    const result: EndpointsUpdateResult = { updatedServices: new Set(), changedPorts: new Map(), lastChangeTriggerTimes: [] };
    for (const svc of this.dirty) {
      const [namespace = "", name = ""] = svc.split("/");
      const next = endpointsOfSlices(namespace, name, this.slices.get(svc)?.values() ?? []);
      const keys = new Set([...(this.appliedPorts.get(svc) ?? []), ...next.keys()]);
      for (const key of keys) {
        const previous = map.get(key) ?? [];
        const current = next.get(key) ?? [];
        if (JSON.stringify(previous) === JSON.stringify(current)) continue;
        result.changedPorts.set(key, { previous, current });
        result.updatedServices.add(svc);
        if (current.length > 0) map.set(key, current);
        else map.delete(key);
      }
      if (next.size > 0) this.appliedPorts.set(svc, [...next.keys()]);
      else this.appliedPorts.delete(svc);
      result.lastChangeTriggerTimes.push(...(this.triggerTimes.get(svc) ?? []));
      this.triggerTimes.delete(svc);
    }
    this.dirty.clear();
    return result;
  }
}
