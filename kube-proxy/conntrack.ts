// Stale UDP conntrack entries (Kubernetes' conntrack clean-up): UDP has no connection to break, so a client that
// keeps sending to a service from the same port keeps hitting the DNAT its first packet got, even after that
// endpoint is gone or while the service had no endpoint (its packets were rejected and that was remembered too).
// After each successful sync kube-proxy deletes, with Debian's `conntrack`:
//   - entries to a ClusterIP / external IP / NodePort whose port gained its first endpoint (or was deleted);
//   - entries DNATed to an endpoint that a UDP service port no longer uses.
import { usableEndpoints, type EndpointInfo } from "./endpoints.js";
import type { CommandRunner } from "./exec.js";
import type { ServicePortInfo } from "./service-port.js";

/** One `conntrack -D` filter. */
export type ConntrackDeletion = { kind: "service"; ip: string; port: number } | { kind: "nodePort"; port: number } | { kind: "endpoint"; serviceIP: string; endpointIP: string } | { kind: "nodePortEndpoint"; port: number; endpointIP: string };

/** What to clear after a sync, from what changed in it (pure). */
export function staleUDPEntries(
  services: ReadonlyMap<string, ServicePortInfo>,
  changedPorts: ReadonlyMap<string, { previous: readonly EndpointInfo[]; current: readonly EndpointInfo[] }>,
  deletedPorts: readonly ServicePortInfo[],
): ConntrackDeletion[] {
  const out: ConntrackDeletion[] = [];
  const serviceIPs = (svc: ServicePortInfo): ConntrackDeletion[] => [
    { kind: "service", ip: svc.clusterIP, port: svc.port },
    ...svc.externalIPs.map((ip): ConntrackDeletion => ({ kind: "service", ip, port: svc.port })),
    ...(svc.nodePort > 0 ? [{ kind: "nodePort", port: svc.nodePort } as const] : []),
  ];
  for (const svc of deletedPorts) if (svc.protocol === "UDP") out.push(...serviceIPs(svc));
  for (const [name, change] of changedPorts) {
    const svc = services.get(name);
    if (svc?.protocol !== "UDP") continue;
    const before = usableEndpoints(change.previous);
    const after = usableEndpoints(change.current);
    if (before.length === 0 && after.length > 0) out.push(...serviceIPs(svc));
    const kept = new Set(after.map((e) => e.ip));
    for (const gone of new Set(before.filter((e) => !kept.has(e.ip)).map((e) => e.ip))) {
      out.push({ kind: "endpoint", serviceIP: svc.clusterIP, endpointIP: gone });
      for (const ip of svc.externalIPs) out.push({ kind: "endpoint", serviceIP: ip, endpointIP: gone });
      if (svc.nodePort > 0) out.push({ kind: "nodePortEndpoint", port: svc.nodePort, endpointIP: gone });
    }
  }
  return out;
}

export function conntrackArgs(d: ConntrackDeletion): string[] {
  switch (d.kind) {
    case "service":
      return ["conntrack", "-D", "--orig-dst", d.ip, "-p", "udp", "--dport", String(d.port)];
    case "nodePort":
      return ["conntrack", "-D", "-p", "udp", "--dport", String(d.port)];
    case "endpoint":
      return ["conntrack", "-D", "--orig-dst", d.serviceIP, "--dst-nat", d.endpointIP, "-p", "udp"];
    case "nodePortEndpoint":
      return ["conntrack", "-D", "--dst-nat", d.endpointIP, "-p", "udp", "--dport", String(d.port)];
  }
}

/** Runs the deletions; `conntrack` exits 1 when nothing matched, which is no error. Returns the failures. */
export async function clearConntrack(runner: CommandRunner, deletions: readonly ConntrackDeletion[]): Promise<string[]> {
  const failures: string[] = [];
  for (const d of deletions) {
    const argv = conntrackArgs(d);
    const r = await runner.run(argv).catch((err: unknown) => ({ code: -1, stdout: "", stderr: err instanceof Error ? err.message : String(err) }));
    if (r.code !== 0 && !r.stderr.includes("0 flow entries have been deleted")) failures.push(`${argv.join(" ")}: ${r.stderr.trim()}`);
  }
  return failures;
}
