// Services: ports, type-dependent fields, cluster IPs, and what an update may not change.
import type { FieldError } from "../errors.js";
import { isDNS1123Label, isDNS1123Subdomain } from "../labels.js";
import type { Service } from "../types/index.js";
import { duplicate, forbidden, goStringSlice, invalid, notSupported, raw, required } from "./field-errors.js";
import { includes, isObj, listOf, objectsOf, str } from "./helpers.js";
import { ipErrors, portNumErrors, qualifiedNameErrors } from "./names.js";
import { validateLabels } from "./object-meta.js";
import { PROTOCOLS, portNumOrNameErrors } from "./pod-spec.js";

const SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"] as const;
const KUBELET_PORT = 10250;

export function validateService(svc: Service): FieldError[] {
  const spec: NonNullable<Service["spec"]> = isObj(svc.spec) ? svc.spec : {};
  const errs: FieldError[] = [];
  const ports = objectsOf(spec.ports);
  const headless = spec.clusterIP === "None";
  const type = spec.type;
  if (ports.length === 0 && !headless && type !== "ExternalName") errs.push(required("spec.ports"));
  switch (type) {
    case "LoadBalancer":
      ports.forEach((p, i) => {
        if (p.port === KUBELET_PORT) errs.push(invalid(`spec.ports[${i}]`, p.port, `may not expose port ${KUBELET_PORT} externally since it is used by kubelet`));
      });
      if (headless) errs.push(invalid("spec.clusterIPs[0]", "None", "may not be set to 'None' for LoadBalancer services"));
      break;
    case "NodePort":
      if (headless) errs.push(invalid("spec.clusterIPs[0]", "None", "may not be set to 'None' for NodePort services"));
      break;
    case "ExternalName": {
      if (spec.clusterIP || listOf(spec.clusterIPs).length > 0) errs.push(forbidden("spec.clusterIPs", "may not be set for ExternalName services"));
      if (listOf(spec.ipFamilies).length > 0) errs.push(forbidden("spec.ipFamilies", "may not be set for ExternalName services"));
      if (spec.ipFamilyPolicy !== undefined) errs.push(forbidden("spec.ipFamilyPolicy", "may not be set for ExternalName services"));
      const cname = (spec.externalName ?? "").replace(/\.$/, "");
      if (!cname) errs.push(required("spec.externalName"));
      else for (const msg of isDNS1123Subdomain(str(cname))) errs.push(invalid("spec.externalName", cname, msg));
      break;
    }
    case "ClusterIP":
    case undefined:
      break;
  }

  const names = new Set<string>();
  ports.forEach((p, i) => {
    const pp = `spec.ports[${i}]`;
    if (!isObj(p)) return;
    if (ports.length > 1 && !p.name) errs.push(required(`${pp}.name`));
    else if (p.name) {
      for (const msg of isDNS1123Label(str(p.name))) errs.push(invalid(`${pp}.name`, p.name, msg));
      if (names.has(p.name)) errs.push(duplicate(`${pp}.name`, p.name));
      names.add(p.name);
    }
    for (const msg of portNumErrors(p.port)) errs.push(invalid(`${pp}.port`, p.port ?? 0, msg));
    if (!p.protocol) errs.push(required(`${pp}.protocol`));
    else if (!includes(PROTOCOLS, p.protocol)) errs.push(notSupported(`${pp}.protocol`, p.protocol, PROTOCOLS));
    errs.push(...portNumOrNameErrors(p.targetPort, `${pp}.targetPort`));
    if (p.appProtocol !== undefined) errs.push(...qualifiedNameErrors(`${pp}.appProtocol`, p.appProtocol));
  });

  errs.push(...validateLabels(spec.selector, "spec.selector"));
  if (!spec.sessionAffinity) errs.push(required("spec.sessionAffinity"));
  else if (!includes(["ClientIP", "None"], spec.sessionAffinity)) errs.push(notSupported("spec.sessionAffinity", spec.sessionAffinity, ["ClientIP", "None"]));
  listOf(spec.externalIPs).forEach((ip, i) => errs.push(...ipErrors(`spec.externalIPs[${i}]`, str(ip))));
  if (!type) errs.push(required("spec.type"));
  else if (!includes(SERVICE_TYPES, type)) errs.push(notSupported("spec.type", type, SERVICE_TYPES));
  if (type === "ClusterIP") {
    ports.forEach((p, i) => {
      if (p.nodePort) errs.push(forbidden(`spec.ports[${i}].nodePort`, "may not be used when `type` is 'ClusterIP'"));
    });
  }
  const nodePorts = new Set<string>();
  const servicePorts = new Set<string>();
  ports.forEach((p, i) => {
    if (p.nodePort) {
      const key = `${p.protocol ?? ""}/${p.nodePort}`;
      if (nodePorts.has(key)) errs.push(duplicate(`spec.ports[${i}].nodePort`, p.nodePort));
      nodePorts.add(key);
    }
    const key = `${p.protocol ?? ""}/${p.port}`;
    if (servicePorts.has(key)) {
      errs.push(duplicate(`spec.ports[${i}]`, raw(`core.ServicePort{Name:"", Protocol:${JSON.stringify(p.protocol ?? "")}, AppProtocol:(*string)(nil), Port:${p.port}, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}`)));
    }
    servicePorts.add(key);
  });

  const accessible = type === "NodePort" || type === "LoadBalancer" || (type === "ClusterIP" && listOf(spec.externalIPs).length > 0);
  if (!accessible) {
    if (spec.externalTrafficPolicy) errs.push(invalid("spec.externalTrafficPolicy", spec.externalTrafficPolicy, "may only be set for externally-accessible services"));
  } else if (!spec.externalTrafficPolicy) {
    errs.push(required("spec.externalTrafficPolicy"));
  } else if (!includes(["Cluster", "Local"], spec.externalTrafficPolicy)) {
    errs.push(notSupported("spec.externalTrafficPolicy", spec.externalTrafficPolicy, ["Cluster", "Local"]));
  }
  if (spec.internalTrafficPolicy === undefined) {
    if (type === "ClusterIP" || type === "NodePort" || type === "LoadBalancer") errs.push(required("spec.internalTrafficPolicy"));
  } else if (!includes(["Cluster", "Local"], spec.internalTrafficPolicy)) {
    errs.push(notSupported("spec.internalTrafficPolicy", spec.internalTrafficPolicy, ["Cluster", "Local"]));
  }
  if (type !== "ExternalName") errs.push(...validateClusterIPs(spec));
  return errs;
}

/** clusterIP and clusterIPs agree, each is an IP ("None" only first), and IP family fields are well-formed. */
function validateClusterIPs(spec: NonNullable<Service["spec"]>): FieldError[] {
  const errs: FieldError[] = [];
  const ips = listOf(spec.clusterIPs);
  if (spec.clusterIP) {
    if (ips.length === 0) errs.push(required("spec.clusterIPs"));
    else if (ips[0] !== spec.clusterIP) errs.push(invalid("spec.clusterIPs", raw(goStringSlice(ips)), "first value must match `clusterIP`"));
  } else if (ips.length > 0) {
    errs.push(invalid("spec.clusterIPs", raw(goStringSlice(ips)), "must be empty when `clusterIP` is not specified"));
  }
  const families = new Set<string>();
  listOf(spec.ipFamilies).forEach((f, i) => {
    if (!includes(["IPv4", "IPv6"], f)) errs.push(notSupported(`spec.ipFamilies[${i}]`, f, ["IPv4", "IPv6"]));
    if (families.has(f)) errs.push(duplicate(`spec.ipFamilies[${i}]`, f));
    families.add(f);
  });
  if (spec.ipFamilyPolicy !== undefined && !includes(["PreferDualStack", "RequireDualStack", "SingleStack"], spec.ipFamilyPolicy)) {
    errs.push(notSupported("spec.ipFamilyPolicy", spec.ipFamilyPolicy, ["PreferDualStack", "RequireDualStack", "SingleStack"]));
  }
  ips.forEach((ip, i) => {
    if (ip === "None") {
      if (i > 0) errs.push(invalid(`spec.clusterIPs[${i}]`, ip, "may only be set to 'None' for the first value"));
      return;
    }
    errs.push(...ipErrors(`spec.clusterIPs[${i}]`, str(ip)));
  });
  return errs;
}

/**
 * A service's cluster IPs may not change once allocated, except through ExternalName. A write that leaves them
 * out keeps them (the registry carries them over), so only a different value is a change.
 */
export function validateServiceUpdate(next: Service, prev: Service): FieldError[] {
  const ns = next.spec ?? {};
  const ps = prev.spec ?? {};
  if (ns.type === "ExternalName" || ps.type === "ExternalName") return [];
  const ipsOf = (spec: NonNullable<Service["spec"]>): string[] => {
    const ips = listOf(spec.clusterIPs);
    if (ips.length > 0) return [...ips];
    return spec.clusterIP ? [spec.clusterIP] : [];
  };
  const nextIPs = ipsOf(ns);
  const prevIPs = ipsOf(ps);
  if (nextIPs.length === 0 || prevIPs.length === 0) return [];
  if (nextIPs[0] === "None" && prevIPs[0] === "None") return [];
  const errs: FieldError[] = [];
  prevIPs.forEach((ip, i) => {
    if (i < nextIPs.length && nextIPs[i] !== ip) errs.push(invalid(`spec.clusterIPs[${i}]`, raw(goStringSlice(nextIPs)), "may not change once set"));
  });
  return errs;
}
