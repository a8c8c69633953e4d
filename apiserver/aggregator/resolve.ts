// Where an APIService's requests go, as Kubernetes' aggregator resolves it with --enable-aggregator-routing: the
// Service named in spec.service, its port numbered spec.service.port (443 by default), then an address of the
// Service's Endpoints on the port of the same name. The lab's host has no kube-proxy rules, so the apiserver dials the
// endpoint itself rather than the ClusterIP. Pure: the caller reads the objects.
import type { APIService, Endpoints, Service } from "../../api/types/index.js";

/** Why an APIService is not available, with Kubernetes' reasons (its Available condition). */
export class AvailabilityProblem extends Error {
  constructor(
    readonly reason: "ServiceNotFound" | "ServicePortError" | "ServiceAccessError" | "MissingEndpoints" | "EndpointsNotFound" | "FailedDiscoveryCheck",
    message: string,
  ) {
    super(message);
    this.name = "AvailabilityProblem";
  }
}

export interface Backend {
  host: string;
  port: number;
  /** https when the Service port is named "https" (or is an unnamed 443), as metrics-server's is; http otherwise. */
  scheme: "http" | "https";
}

export function resolveBackend(apiService: Readonly<APIService>, service: Readonly<Service> | undefined, endpoints: Readonly<Endpoints> | undefined, pick: (n: number) => number = () => 0): Backend {
  const ref = apiService.spec?.service;
  const where = `service/${ref?.name ?? ""} in "${ref?.namespace ?? ""}"`;
  if (service === undefined) throw new AvailabilityProblem("ServiceNotFound", `${where} is not present`);
  const wanted = ref?.port ?? 443;
  const servicePort = service.spec?.ports?.find((p) => p.port === wanted);
  if (servicePort === undefined) throw new AvailabilityProblem("ServicePortError", `${where} is not listening on port ${wanted}`);
  if (service.spec?.type === "ExternalName") throw new AvailabilityProblem("ServiceAccessError", `${where} is of type ExternalName`);
  if (endpoints === undefined) throw new AvailabilityProblem("EndpointsNotFound", `cannot find endpoints for ${where}`);
  const portName = servicePort.name ?? "";
  const candidates: { ip: string; port: number }[] = [];
  for (const subset of endpoints.subsets ?? []) {
    const port = (subset.ports ?? []).find((p) => (p.name ?? "") === portName);
    if (port === undefined) continue;
    for (const address of subset.addresses ?? []) candidates.push({ ip: address.ip, port: port.port });
  }
  const chosen = candidates[pick(candidates.length)];
  if (chosen === undefined) throw new AvailabilityProblem("MissingEndpoints", `endpoints for ${where} have no addresses with port name "${portName}"`);
  return { host: chosen.ip, port: chosen.port, scheme: portName === "https" || (portName === "" && wanted === 443) ? "https" : "http" };
}

/** The group version an APIService registers, as "<group>/<version>". */
export function groupVersionOf(apiService: Readonly<APIService>): { group: string; version: string } {
  return { group: apiService.spec?.group ?? "", version: apiService.spec?.version ?? "" };
}
