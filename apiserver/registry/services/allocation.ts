// ClusterIP and NodePort allocation around Service writes: allocate before the write, release what the write
// stopped using after it succeeds, give back what was allocated when it fails.
import { invalid, type FieldError } from "../../../api/errors.js";
import type { KubeObject } from "../../../api/meta.js";
import type { StoreHooks } from "../store.js";

/** The allocator contract the registry needs (implemented over etcd reservation keys in allocators.ts). */
export interface ValueAllocator<T> {
  allocate(owner: string): Promise<T>;
  /**
   * Reserves a specific value; throws AllocationError when taken or out of range. Resolves true when this call
   * reserved it and false when `owner` already held it (a retried request), which a failed write must not release.
   */
  allocateSpecific(value: T, owner: string): Promise<boolean>;
  release(value: T): Promise<void>;
}

export class AllocationError extends Error {
  readonly kind: "AlreadyAllocated" | "OutOfRange" | "Full";
  constructor(kind: "AlreadyAllocated" | "OutOfRange" | "Full", message: string) {
    super(message);
    this.name = "AllocationError";
    this.kind = kind;
  }
}

interface ServicePort { name?: string; port?: number; nodePort?: number; protocol?: string }
interface ServiceSpec { type?: string; clusterIP?: string; clusterIPs?: string[]; ports?: ServicePort[] }

function specOf(svc: KubeObject): ServiceSpec {
  const spec = svc.spec;
  if (typeof spec !== "object" || spec === null) {
    const fresh: ServiceSpec = {};
    svc.spec = fresh;
    return fresh;
  }
  return spec;
}

function wantsNodePorts(spec: ServiceSpec): boolean {
  return spec.type === "NodePort" || spec.type === "LoadBalancer";
}

function wantsClusterIP(spec: ServiceSpec): boolean {
  return spec.type !== "ExternalName" && spec.clusterIP !== "None";
}

export interface ServiceAllocators {
  clusterIPs: ValueAllocator<string>;
  nodePorts: ValueAllocator<number>;
  serviceRange: string;
}

/** Store hooks for services. `owner` strings are "namespace/name". */
export function serviceHooks(allocators: ServiceAllocators): StoreHooks {
  const invalidService = (svc: KubeObject, errors: FieldError[]): Error => invalid("Service", "", svc.metadata.name ?? "", errors);

  /** Allocates what `next` needs and `prev` did not have; returns the values newly taken. */
  async function allocate(next: KubeObject, prev: KubeObject | undefined): Promise<{ ips: string[]; ports: number[] }> {
    const owner = `${next.metadata.namespace ?? ""}/${next.metadata.name ?? ""}`;
    const spec = specOf(next);
    const prevSpec = prev ? specOf(structuredClone(prev)) : undefined;
    const taken = { ips: [] as string[], ports: [] as number[] };
    try {
      if (wantsClusterIP(spec)) {
        if (prevSpec?.clusterIP && prevSpec.clusterIP !== "None") {
          if (spec.clusterIP === undefined || spec.clusterIP === "") spec.clusterIP = prevSpec.clusterIP;
        } else if (spec.clusterIP) {
          const reserved = await withFieldError(() => allocators.clusterIPs.allocateSpecific(spec.clusterIP!, owner), "spec.clusterIPs", `["${spec.clusterIP}"]`, `failed to allocate IP ${spec.clusterIP}: `, next, invalidService);
          if (reserved) taken.ips.push(spec.clusterIP);
        } else {
          spec.clusterIP = await allocators.clusterIPs.allocate(owner);
          taken.ips.push(spec.clusterIP);
        }
        spec.clusterIPs = [spec.clusterIP];
      } else if (spec.clusterIP === "None") {
        spec.clusterIPs = ["None"];
      }
      const prevPorts = new Set((prevSpec && wantsNodePorts(prevSpec) ? prevSpec.ports ?? [] : []).map((p) => p.nodePort).filter((p): p is number => p !== undefined));
      const ports = spec.ports ?? [];
      for (const [i, port] of ports.entries()) {
        if (!wantsNodePorts(spec)) {
          delete port.nodePort;
          continue;
        }
        if (port.nodePort !== undefined && port.nodePort !== 0) {
          if (prevPorts.has(port.nodePort) || taken.ports.includes(port.nodePort)) continue;
          const value = port.nodePort;
          const reserved = await withFieldError(() => allocators.nodePorts.allocateSpecific(value, owner), `spec.ports[${i}].nodePort`, String(value), "", next, invalidService);
          if (reserved) taken.ports.push(value);
        } else {
          const reuse = [...prevPorts].find((p) => !ports.some((q) => q.nodePort === p));
          if (reuse !== undefined) {
            port.nodePort = reuse;
            prevPorts.delete(reuse);
          } else {
            port.nodePort = await allocators.nodePorts.allocate(owner);
            taken.ports.push(port.nodePort);
          }
        }
      }
      return taken;
    } catch (err) {
      await release(taken.ips, taken.ports);
      throw err;
    }
  }

  async function release(ips: string[], ports: number[]): Promise<void> {
    for (const ip of ips) await allocators.clusterIPs.release(ip);
    for (const port of ports) await allocators.nodePorts.release(port);
  }

  function heldBy(svc: KubeObject): { ips: string[]; ports: number[] } {
    const spec = specOf(structuredClone(svc));
    const ips = spec.clusterIP && spec.clusterIP !== "None" && spec.type !== "ExternalName" ? [spec.clusterIP] : [];
    const ports = wantsNodePorts(spec) ? (spec.ports ?? []).map((p) => p.nodePort).filter((p): p is number => p !== undefined) : [];
    return { ips, ports };
  }

  return {
    async beforeCreate(svc, dryRun) {
      const taken = await allocate(svc, undefined);
      if (dryRun) {
        await release(taken.ips, taken.ports);
        return undefined;
      }
      return () => release(taken.ips, taken.ports);
    },
    async beforeUpdate(next, prev, dryRun) {
      const taken = await allocate(next, prev);
      const before = heldBy(prev);
      const after = heldBy(next);
      const freedIps = before.ips.filter((ip) => !after.ips.includes(ip));
      const freedPorts = before.ports.filter((p) => !after.ports.includes(p));
      if (dryRun) {
        await release(taken.ips, taken.ports);
        return undefined;
      }
      return {
        commit: () => release(freedIps, freedPorts),
        undo: () => release(taken.ips, taken.ports),
      };
    },
    async afterDelete(svc) {
      const held = heldBy(svc);
      await release(held.ips, held.ports);
    },
  };
}

async function withFieldError<T>(
  call: () => Promise<T>,
  field: string,
  shown: string,
  prefix: string,
  svc: KubeObject,
  toError: (svc: KubeObject, errors: FieldError[]) => Error,
): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof AllocationError) {
      throw toError(svc, [{ type: "FieldValueInvalid", field, message: `Invalid value: ${shown}: ${prefix}${err.message}` }]);
    }
    throw err;
  }
}
