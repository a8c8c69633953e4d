// What the authorizer is asked about a request, and the 401/403 replies, in Kubernetes' shapes: resource requests
// by their RequestInfo (verb, group, namespace, resource, subresource, name), everything else (/healthz, /version,
// /apis, /openapi/v2, /metrics ...) by its path and lower-cased method.
import { StatusError } from "../../api/errors.js";
import type { StatusDetails } from "../../api/meta.js";
import type { UserInfo } from "../../api/types/index.js";
import type { RequestInfo } from "../request-info.js";
import type { Attributes } from "./authorizer.js";

/** The authorization verb Kubernetes derives from the method: connect subresources (exec, attach, proxy) are get/create/... by method. */
function resourceVerb(info: RequestInfo, method: string): string {
  if (info.verb !== "connect") return info.verb;
  return methodVerb(method);
}

function methodVerb(method: string): string {
  switch (method) {
    case "GET":
    case "HEAD":
      return "get";
    case "POST":
      return "create";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    case "DELETE":
      return "delete";
    default:
      return method.toLowerCase();
  }
}

export function requestAttributes(user: UserInfo, method: string, path: string, info: RequestInfo | undefined): Attributes {
  if (info === undefined) {
    return { user, verb: method.toLowerCase(), resourceRequest: false, path, apiGroup: "", apiVersion: "", namespace: "", resource: "", subresource: "", name: "" };
  }
  return {
    user,
    verb: resourceVerb(info, method),
    resourceRequest: true,
    path,
    apiGroup: info.group,
    apiVersion: info.version,
    namespace: info.namespace ?? "",
    resource: info.resource,
    subresource: info.subresource ?? "",
    name: info.name ?? "",
  };
}

/** `User "x" cannot list resource "pods" in API group "" in the namespace "default"` and its cluster-scope and path forms. */
export function forbiddenMessage(attributes: Attributes): string {
  const username = attributes.user.username ?? "";
  if (!attributes.resourceRequest) return `User ${JSON.stringify(username)} cannot ${attributes.verb} path ${JSON.stringify(attributes.path)}`;
  const resource = attributes.subresource !== "" ? `${attributes.resource}/${attributes.subresource}` : attributes.resource;
  const where = attributes.namespace !== "" ? `in the namespace ${JSON.stringify(attributes.namespace)}` : "at the cluster scope";
  return `User ${JSON.stringify(username)} cannot ${attributes.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(attributes.apiGroup)} ${where}`;
}

/** 403 Forbidden as Kubernetes' NewForbidden words it: `<resource>[.<group>] ["<name>"] is forbidden: <message>[: <reason>]`. */
export function forbidden(attributes: Attributes, reason: string): StatusError {
  const detail = reason !== "" ? `${forbiddenMessage(attributes)}: ${reason}` : forbiddenMessage(attributes);
  const details: StatusDetails = {};
  if (!attributes.resourceRequest || attributes.resource === "") return new StatusError(403, "Forbidden", `forbidden: ${detail}`, details);
  const qualified = attributes.apiGroup !== "" ? `${attributes.resource}.${attributes.apiGroup}` : attributes.resource;
  if (attributes.name !== "") details.name = attributes.name;
  if (attributes.apiGroup !== "") details.group = attributes.apiGroup;
  details.kind = attributes.resource;
  const subject = attributes.name !== "" ? `${qualified} ${JSON.stringify(attributes.name)}` : qualified;
  return new StatusError(403, "Forbidden", `${subject} is forbidden: ${detail}`, details);
}

/** 401: the request's credentials are missing (anonymous auth off) or invalid. */
export function unauthorized(): StatusError {
  return new StatusError(401, "Unauthorized", "Unauthorized");
}
