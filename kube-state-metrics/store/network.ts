// kube_service_*, kube_endpoint_* and kube_endpointslice_* families (kube-state-metrics' service, endpoint and
// endpointslice stores).
import type { EndpointSlice, Endpoints, Service } from "../../api/types/index.js";
import type { FamilyGenerator, Labels, Sample } from "../exposition.js";
import { createdSamples, family, metadataMapFamilies, sample, type FamilyOptions } from "./common.js";

type Generate<T> = (obj: Readonly<T>) => Sample[];

export function serviceFamilies(opts: FamilyOptions): FamilyGenerator<Service>[] {
  const base = (s: Readonly<Service>): Labels => [
    ["namespace", s.metadata.namespace ?? ""],
    ["service", s.metadata.name ?? ""],
    ["uid", s.metadata.uid ?? ""],
  ];
  const f = (name: string, help: string, generate: Generate<Service>): FamilyGenerator<Service> => family<Service>(name, help, "gauge", base, generate);
  return [
    ...metadataMapFamilies<Service>("service", base, opts),
    f("kube_service_info", "Information about service.", (s) => [
      sample(1, ["cluster_ip", s.spec?.clusterIP ?? ""], ["external_name", s.spec?.externalName ?? ""], ["load_balancer_ip", s.spec?.loadBalancerIP ?? ""]),
    ]),
    f("kube_service_created", "Unix creation timestamp", (s) => createdSamples(s.metadata)),
    f("kube_service_spec_type", "Type about service.", (s) => [sample(1, ["type", s.spec?.type ?? "ClusterIP"])]),
    f("kube_service_spec_external_ip", "Service external ips. One series for each ip", (s) => (s.spec?.externalIPs ?? []).map((ip) => sample(1, ["external_ip", ip]))),
    f("kube_service_status_load_balancer_ingress", "Service load balancer ingress status", (s) =>
      (s.status?.loadBalancer?.ingress ?? []).map((i) => sample(1, ["ip", i.ip ?? ""], ["hostname", i.hostname ?? ""])),
    ),
  ];
}

export function endpointsFamilies(opts: FamilyOptions): FamilyGenerator<Endpoints>[] {
  const base = (e: Readonly<Endpoints>): Labels => [
    ["namespace", e.metadata.namespace ?? ""],
    ["endpoint", e.metadata.name ?? ""],
  ];
  const f = (name: string, help: string, generate: Generate<Endpoints>): FamilyGenerator<Endpoints> => family<Endpoints>(name, help, "gauge", base, generate);
  // Counted as kube-state-metrics counts them: each address once per port of its subset.
  const count = (e: Readonly<Endpoints>, which: "addresses" | "notReadyAddresses"): number => (e.subsets ?? []).reduce((n, s) => n + (s[which]?.length ?? 0) * (s.ports?.length ?? 0), 0);
  return [
    ...metadataMapFamilies<Endpoints>("endpoint", base, opts),
    f("kube_endpoint_info", "Information about endpoint.", () => [sample(1)]),
    f("kube_endpoint_created", "Unix creation timestamp", (e) => createdSamples(e.metadata)),
    f("kube_endpoint_address_available", "Number of addresses available in endpoint.", (e) => [sample(count(e, "addresses"))]),
    f("kube_endpoint_address_not_ready", "Number of addresses not ready in endpoint", (e) => [sample(count(e, "notReadyAddresses"))]),
    f("kube_endpoint_address", "Information about Endpoint available and non available addresses.", (e) =>
      (e.subsets ?? []).flatMap((s) => [...(s.addresses ?? []).map((a) => sample(1, ["ip", a.ip], ["ready", "true"])), ...(s.notReadyAddresses ?? []).map((a) => sample(1, ["ip", a.ip], ["ready", "false"]))]),
    ),
    f("kube_endpoint_ports", "Information about the Endpoint ports.", (e) =>
      (e.subsets ?? []).flatMap((s) => (s.ports ?? []).map((p) => sample(1, ["port_name", p.name ?? ""], ["port_protocol", p.protocol ?? "TCP"], ["port_number", String(p.port)]))),
    ),
  ];
}

export function endpointSliceFamilies(opts: FamilyOptions): FamilyGenerator<EndpointSlice>[] {
  const base = (e: Readonly<EndpointSlice>): Labels => [
    ["endpointslice", e.metadata.name ?? ""],
    ["namespace", e.metadata.namespace ?? ""],
  ];
  const f = (name: string, help: string, generate: Generate<EndpointSlice>): FamilyGenerator<EndpointSlice> => family<EndpointSlice>(name, help, "gauge", base, generate);
  return [
    ...metadataMapFamilies<EndpointSlice>("endpointslice", base, opts),
    f("kube_endpointslice_info", "Information about endpointslice.", (e) => [sample(1, ["addresstype", e.addressType])]),
    f("kube_endpointslice_created", "Unix creation timestamp", (e) => createdSamples(e.metadata)),
    f("kube_endpointslice_endpoints", "Endpoints attached to the endpointslice.", (e) =>
      (e.endpoints ?? []).flatMap((ep) =>
        ep.addresses.map((address) =>
          sample(
            1,
            ["ready", String(ep.conditions?.ready ?? true)],
            ["serving", String(ep.conditions?.serving ?? ep.conditions?.ready ?? true)],
            ["terminating", String(ep.conditions?.terminating ?? false)],
            ["hostname", ep.hostname ?? ""],
            ["targetref_kind", ep.targetRef?.kind ?? ""],
            ["targetref_name", ep.targetRef?.name ?? ""],
            ["targetref_namespace", ep.targetRef?.namespace ?? ""],
            ["nodename", ep.nodeName ?? ""],
            ["endpoint_zone", ep.zone ?? ""],
            ["address", address],
          ),
        ),
      ),
    ),
    f("kube_endpointslice_ports", "Ports attached to the endpointslice.", (e) =>
      (e.ports ?? []).map((p) => sample(1, ["port_name", p.name ?? ""], ["port_protocol", p.protocol ?? "TCP"], ["port_number", p.port === undefined ? "" : String(p.port)])),
    ),
  ];
}
