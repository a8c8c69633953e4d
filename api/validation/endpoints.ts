// Endpoints and EndpointSlices.
import { isIP } from "node:net";
import type { FieldError } from "../errors.js";
import { isDNS1123Label, isDNS1123Subdomain } from "../labels.js";
import type { EndpointSlice, Endpoints } from "../types/index.js";
import { duplicate, invalid, notSupported, required, tooMany } from "./field-errors.js";
import { includes, isObj, listOf, objectsOf, str } from "./helpers.js";
import { ipErrors, portNumErrors, qualifiedNameErrors } from "./names.js";
import { PROTOCOLS } from "./pod-spec.js";

export function validateEndpoints(ep: Endpoints): FieldError[] {
  const errs: FieldError[] = [];
  objectsOf(ep.subsets).forEach((ss, i) => {
    const p = `subsets[${i}]`;
    if (!isObj(ss)) return;
    if (objectsOf(ss.addresses).length === 0 && objectsOf(ss.notReadyAddresses).length === 0) {
      errs.push(required(p, "must specify `addresses` or `notReadyAddresses`"));
    }
    for (const key of ["addresses", "notReadyAddresses"] as const) {
      objectsOf(ss[key]).forEach((addr, j) => {
        const ap = `${p}.${key}[${j}]`;
        errs.push(...ipErrors(`${ap}.ip`, str(addr.ip ?? "")));
        errs.push(...specialIPErrors(`${ap}.ip`, str(addr.ip ?? "")));
        if (addr.hostname) for (const msg of isDNS1123Label(str(addr.hostname))) errs.push(invalid(`${ap}.hostname`, addr.hostname, msg));
        if (addr.nodeName) for (const msg of isDNS1123Subdomain(str(addr.nodeName))) errs.push(invalid(`${ap}.nodeName`, addr.nodeName, msg));
      });
    }
    const ports = objectsOf(ss.ports);
    ports.forEach((port, j) => {
      const pp = `${p}.ports[${j}]`;
      if (ports.length > 1 && !port.name) errs.push(required(`${pp}.name`));
      else if (port.name) for (const msg of isDNS1123Label(str(port.name))) errs.push(invalid(`${pp}.name`, port.name, msg));
      for (const msg of portNumErrors(port.port)) errs.push(invalid(`${pp}.port`, port.port ?? 0, msg));
      if (!port.protocol) errs.push(required(`${pp}.protocol`));
      else if (!includes(PROTOCOLS, port.protocol)) errs.push(notSupported(`${pp}.protocol`, port.protocol, PROTOCOLS));
    });
  });
  return errs;
}

/** Endpoint IPs may not be unspecified, loopback or link-local (ValidateNonSpecialIP). */
function specialIPErrors(field: string, ip: string): FieldError[] {
  const family = isIP(ip);
  if (family === 0) return [];
  const lower = ip.toLowerCase();
  if (ip === "0.0.0.0" || lower === "::") return [invalid(field, ip, "may not be unspecified (0.0.0.0, ::)")];
  if ((family === 4 && ip.startsWith("127.")) || lower === "::1") return [invalid(field, ip, "may not be in the loopback range (127.0.0.0/8, ::1/128)")];
  if ((family === 4 && ip.startsWith("169.254.")) || /^fe[89ab]/.test(lower)) {
    return [invalid(field, ip, "may not be in the link-local range (169.254.0.0/16, fe80::/10)")];
  }
  if ((family === 4 && ip.startsWith("224.0.0.")) || lower.startsWith("ff02:")) {
    return [invalid(field, ip, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)")];
  }
  return [];
}

const ADDRESS_TYPES = ["FQDN", "IPv4", "IPv6"] as const;

export function validateEndpointSlice(slice: EndpointSlice): FieldError[] {
  const errs: FieldError[] = [];
  const addressType = slice.addressType;
  if (!addressType) errs.push(required("addressType"));
  else if (!includes(ADDRESS_TYPES, addressType)) errs.push(notSupported("addressType", addressType, ADDRESS_TYPES));
  const endpoints = objectsOf(slice.endpoints);
  if (endpoints.length > 1000) errs.push(tooMany("endpoints", endpoints.length, 1000));
  endpoints.forEach((ep, i) => {
    const p = `endpoints[${i}]`;
    if (!isObj(ep)) return;
    const addresses = listOf(ep.addresses);
    if (addresses.length === 0) errs.push(required(`${p}.addresses`, "must contain at least 1 address"));
    else if (addresses.length > 100) errs.push(tooMany(`${p}.addresses`, addresses.length, 100));
    addresses.forEach((addr, j) => {
      const ap = `${p}.addresses[${j}]`;
      const a = str(addr);
      if (addressType === "IPv4" && isIP(a) !== 4) errs.push(invalid(ap, a, "must be a valid IPv4 address"));
      if (addressType === "IPv6" && isIP(a) !== 6) errs.push(invalid(ap, a, "must be a valid IPv6 address"));
      if (addressType === "FQDN") for (const msg of isDNS1123Subdomain(str(a))) errs.push(invalid(ap, a, msg));
    });
    if (ep.nodeName) for (const msg of isDNS1123Subdomain(str(ep.nodeName))) errs.push(invalid(`${p}.nodeName`, ep.nodeName, msg));
    if (ep.hostname) for (const msg of isDNS1123Label(str(ep.hostname))) errs.push(invalid(`${p}.hostname`, ep.hostname, msg));
  });
  const names = new Set<string>();
  objectsOf(slice.ports).forEach((port, i) => {
    const p = `ports[${i}]`;
    if (!isObj(port)) return;
    const name = port.name ?? "";
    if (name) for (const msg of isDNS1123Label(str(name))) errs.push(invalid(`${p}.name`, name, msg));
    if (names.has(name)) errs.push(duplicate(`${p}.name`, name));
    names.add(name);
    if (!port.protocol) errs.push(required(`${p}.protocol`));
    else if (!includes(PROTOCOLS, port.protocol)) errs.push(notSupported(`${p}.protocol`, port.protocol, PROTOCOLS));
    if (port.port !== undefined) for (const msg of portNumErrors(port.port)) errs.push(invalid(`${p}.port`, port.port, msg));
    if (port.appProtocol !== undefined) errs.push(...qualifiedNameErrors(`${p}.appProtocol`, port.appProtocol));
  });
  return errs;
}
