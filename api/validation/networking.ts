// networking.k8s.io/v1: Ingresses, IngressClasses, NetworkPolicies (pkg/apis/networking/validation).
import { isIP } from "node:net";
import type { FieldError } from "../errors.js";
import { isDNS1035Label, isDNS1123Subdomain, isIANASvcName } from "../labels.js";
import type { HTTPIngressPath, Ingress, IngressBackend, IngressClass, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort } from "../types/index.js";
import { forbidden, invalid, notSupported, raw, required, tooLong } from "./field-errors.js";
import { isObj, listOf, objectsOf, str } from "./helpers.js";
import { validateLabelSelector } from "./label-selectors.js";
import { cidrErrors, portNumErrors } from "./names.js";

const PATH_TYPES = ["Exact", "ImplementationSpecific", "Prefix"] as const;
const PROTOCOLS = ["SCTP", "TCP", "UDP"] as const;
/** Path fragments an Exact or Prefix path may not hold (they would not mean what they look like to a proxy). */
const INVALID_PATH_SEQUENCES = ["//", "/./", "/../", "%2f", "%2F"];
const INVALID_PATH_SUFFIXES = ["/..", "/."];

export function validateIngress(ing: Ingress): FieldError[] {
  const spec = isObj(ing.spec) ? ing.spec : {};
  const errs: FieldError[] = [];
  const rules = objectsOf(spec.rules);
  if (spec.defaultBackend === undefined && rules.length === 0) {
    errs.push(invalid("spec", raw("[]networking.IngressRule(nil)"), "either `defaultBackend` or `rules` must be specified"));
  }
  if (spec.defaultBackend !== undefined) errs.push(...validateBackend(spec.defaultBackend, "spec.defaultBackend"));
  if (spec.ingressClassName !== undefined) errs.push(...subdomainErrors("spec.ingressClassName", spec.ingressClassName));
  rules.forEach((rule, i) => {
    const path = `spec.rules[${i}]`;
    if (rule.host) errs.push(...hostErrors(`${path}.host`, rule.host));
    if (!isObj(rule.http)) return;
    const paths = objectsOf(rule.http.paths);
    if (paths.length === 0) errs.push(required(`${path}.http.paths`));
    paths.forEach((p, j) => { errs.push(...validateHTTPPath(p, `${path}.http.paths[${j}]`)); });
  });
  objectsOf(spec.tls).forEach((tls, i) => {
    listOf(tls.hosts).forEach((host, j) => { errs.push(...hostErrors(`spec.tls[${i}].hosts[${j}]`, str(host))); });
  });
  return errs;
}

function validateHTTPPath(p: HTTPIngressPath, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (p.pathType === undefined) errs.push(required(`${path}.pathType`, "pathType must be specified"));
  else if (!(PATH_TYPES as readonly string[]).includes(p.pathType)) errs.push(notSupported(`${path}.pathType`, p.pathType, PATH_TYPES));
  const value = p.path ?? "";
  if (p.pathType === "Exact" || p.pathType === "Prefix") {
    if (!value.startsWith("/")) errs.push(invalid(`${path}.path`, value, "must be an absolute path"));
    for (const seq of INVALID_PATH_SEQUENCES) if (value.includes(seq)) errs.push(invalid(`${path}.path`, value, `must not contain '${seq}'`));
    for (const suffix of INVALID_PATH_SUFFIXES) if (value.endsWith(suffix)) errs.push(invalid(`${path}.path`, value, `cannot end with '${suffix}'`));
  } else if (value !== "" && !value.startsWith("/")) {
    errs.push(invalid(`${path}.path`, value, "must be an absolute path"));
  }
  if (p.backend === undefined) errs.push(required(`${path}.backend`));
  else errs.push(...validateBackend(p.backend, `${path}.backend`));
  return errs;
}

function validateBackend(backend: IngressBackend, path: string): FieldError[] {
  if (!isObj(backend)) return [invalid(path, "", "resource or service backend is required")];
  const hasService = isObj(backend.service);
  const hasResource = isObj(backend.resource);
  if (hasService && hasResource) return [invalid(path, "", "cannot set both resource and service backends")];
  if (hasResource) {
    const ref = backend.resource!;
    const errs: FieldError[] = [];
    if (!ref.kind) errs.push(required(`${path}.resource.kind`));
    if (!ref.name) errs.push(required(`${path}.resource.name`));
    return errs;
  }
  if (!hasService) return [invalid(path, "", "resource or service backend is required")];
  const service = backend.service!;
  const errs: FieldError[] = [];
  if (!service.name) errs.push(required(`${path}.service.name`));
  else for (const msg of isDNS1035Label(service.name)) errs.push(invalid(`${path}.service.name`, service.name, msg));
  const port = isObj(service.port) ? service.port : {};
  const hasName = (port.name ?? "") !== "";
  const hasNumber = (port.number ?? 0) !== 0;
  if (hasName && hasNumber) errs.push(invalid(path, "", "cannot set both port name & port number"));
  else if (hasName) for (const msg of isIANASvcName(port.name ?? "")) errs.push(invalid(`${path}.service.port.name`, port.name, msg));
  else if (hasNumber) for (const msg of portNumErrors(port.number ?? 0)) errs.push(invalid(`${path}.service.port.number`, port.number, msg));
  else errs.push(required(`${path}.service.port`, "port name or number is required"));
  return errs;
}

/** Hosts: DNS names, with a leading `*.` wildcard allowed; never IP addresses. */
function hostErrors(field: string, host: string): FieldError[] {
  if (isIP(host) !== 0) return [invalid(field, host, "must be a DNS name, not an IP address")];
  if (host.startsWith("*.")) {
    return isDNS1123Subdomain(host.slice(2)).map(() =>
      invalid(field, host, "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com', regex used for validation is '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"),
    );
  }
  return subdomainErrors(field, host);
}

function subdomainErrors(field: string, value: string): FieldError[] {
  return isDNS1123Subdomain(value).map((msg) => invalid(field, value, msg));
}

const MAX_CONTROLLER_LENGTH = 250;

export function validateIngressClass(ic: IngressClass): FieldError[] {
  const spec = isObj(ic.spec) ? ic.spec : {};
  const errs: FieldError[] = [];
  const controller = str(spec.controller);
  if (controller === "") errs.push(required("spec.controller"));
  else if (controller.length > MAX_CONTROLLER_LENGTH) errs.push(tooLong("spec.controller", MAX_CONTROLLER_LENGTH));
  else {
    // A domain-prefixed path: `example.com/ingress-controller`.
    const [domain = "", ...rest] = controller.split("/");
    if (rest.length === 0 || rest.join("/") === "") errs.push(invalid("spec.controller", controller, "must be a domain-prefixed path (such as \"acme.io/foo\")"));
    else errs.push(...subdomainErrors("spec.controller", domain));
  }
  const params = spec.parameters;
  if (isObj(params)) {
    if (!params.kind) errs.push(required("spec.parameters.kind"));
    if (!params.name) errs.push(required("spec.parameters.name"));
    const scope = params.scope ?? "Cluster";
    if (scope !== "Cluster" && scope !== "Namespace") errs.push(notSupported("spec.parameters.scope", scope, ["Cluster", "Namespace"]));
    if (scope === "Namespace" && !params.namespace) errs.push(required("spec.parameters.namespace", "`parameters.scope` is set to 'Namespace'"));
    if (scope === "Cluster" && params.namespace) errs.push(invalid("spec.parameters.namespace", params.namespace, "`parameters.scope` is set to 'Cluster'"));
  }
  return errs;
}

export function validateNetworkPolicy(np: NetworkPolicy): FieldError[] {
  const spec = isObj(np.spec) ? np.spec : {};
  const errs = validateLabelSelector(spec.podSelector, "spec.podSelector");
  objectsOf(spec.ingress).forEach((rule, i) => {
    objectsOf(rule.ports).forEach((port, j) => { errs.push(...validatePolicyPort(port, `spec.ingress[${i}].ports[${j}]`)); });
    objectsOf(rule.from).forEach((peer, j) => { errs.push(...validatePeer(peer, `spec.ingress[${i}].from[${j}]`)); });
  });
  objectsOf(spec.egress).forEach((rule, i) => {
    objectsOf(rule.ports).forEach((port, j) => { errs.push(...validatePolicyPort(port, `spec.egress[${i}].ports[${j}]`)); });
    objectsOf(rule.to).forEach((peer, j) => { errs.push(...validatePeer(peer, `spec.egress[${i}].to[${j}]`)); });
  });
  const types = listOf(spec.policyTypes);
  types.forEach((t, i) => {
    if (t !== "Ingress" && t !== "Egress") errs.push(notSupported(`spec.policyTypes[${i}]`, t, ["Ingress", "Egress"]));
  });
  if (types.length > 2) errs.push(invalid("spec.policyTypes", raw(`[]networking.PolicyType{${types.map((t) => JSON.stringify(t)).join(", ")}}`), "may not specify more than two policyTypes"));
  return errs;
}

function validatePolicyPort(port: NetworkPolicyPort, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (port.protocol !== undefined && !(PROTOCOLS as readonly string[]).includes(port.protocol)) errs.push(notSupported(`${path}.protocol`, port.protocol, PROTOCOLS));
  if (typeof port.port === "number") for (const msg of portNumErrors(port.port)) errs.push(invalid(`${path}.port`, port.port, msg));
  else if (typeof port.port === "string") for (const msg of isIANASvcName(port.port)) errs.push(invalid(`${path}.port`, port.port, msg));
  if (port.endPort !== undefined) {
    if (typeof port.port !== "number") errs.push(required(`${path}.port`, "must specify port when endPort is specified"));
    else if (port.endPort < port.port) errs.push(invalid(`${path}.endPort`, port.endPort, "must be greater than or equal to `port`"));
  }
  return errs;
}

function validatePeer(peer: NetworkPolicyPeer, path: string): FieldError[] {
  const set = [peer.podSelector, peer.namespaceSelector, peer.ipBlock].filter((v) => v !== undefined).length;
  if (set === 0) return [required(path, "must specify a peer")];
  if (peer.ipBlock !== undefined && set > 1) return [forbidden(path, "may not specify more than 1 peer type")];
  const errs = [...validateLabelSelector(peer.podSelector, `${path}.podSelector`), ...validateLabelSelector(peer.namespaceSelector, `${path}.namespaceSelector`)];
  if (isObj(peer.ipBlock)) {
    const cidr = peer.ipBlock.cidr;
    if (!cidr) errs.push(required(`${path}.ipBlock.cidr`));
    else errs.push(...cidrErrors(`${path}.ipBlock.cidr`, cidr));
    listOf(peer.ipBlock.except).forEach((e, i) => { errs.push(...cidrErrors(`${path}.ipBlock.except[${i}]`, str(e))); });
  }
  return errs;
}
