// metrics-server's delegated authentication and authorization (Kubernetes' DelegatingAuthenticationOptions and
// DelegatingAuthorizationOptions, which metrics-server uses), as options of component-base's one implementation
// (delegated-auth.ts, delegated-auth-status.ts). Authentication: the front proxy's client certificate and X-Remote-*
// headers (configured by --requestheader-* or, unless --authentication-skip-lookup, by the apiserver's
// kube-system/extension-apiserver-authentication ConfigMap read at start); a request without them is
// system:anonymous. Authorization: a SubjectAccessReview per user and request (cached 10 s), except for
// --authorization-always-allow-paths. A refused request is answered with Kubernetes' 401/403/500 Status. Only the
// HTTPS port authenticates (the plain-HTTP port of the insecure lab does not).
import { readFileSync } from "node:fs";
import { isNotFound } from "../api/errors.js";
import { RESOURCES } from "../api/resources.js";
import type { ConfigMap, SubjectAccessReviewSpec } from "../api/types/index.js";
import type { RestClient } from "../client/rest.js";
import type { AccessDecision, RequestUser } from "../component-base/delegated-auth.js";
import { StatusDelegatedAuth, type ReviewAttributes } from "../component-base/delegated-auth-status.js";
import type { Logger } from "../component-base/logging.js";
import type { RequestHeaderConfig } from "../component-base/requestheader.js";
import type { MetricsServerFlags } from "./options.js";

const CONFIG_MAPS = RESOURCES.find((r) => r.group === "" && r.resource === "configmaps")!;

function sliceFlag(values: readonly string[]): string[] {
  return values.flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v !== "");
}

function jsonList(text: string | undefined): string[] {
  if (text === undefined || text === "") return [];
  const value: unknown = JSON.parse(text);
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/**
 * The requestheader configuration: from --requestheader-client-ca-file and its sibling flags, else from the
 * ConfigMap (its lists replace the flags' defaults, as Kubernetes' lookup does); undefined when neither has a CA.
 */
export async function requestHeaderConfigOf(flags: MetricsServerFlags, client: Pick<RestClient, "get">, logger: Logger): Promise<RequestHeaderConfig | undefined> {
  if (flags.requestheaderClientCaFile !== undefined && flags.requestheaderClientCaFile !== "") {
    return {
      clientCaPem: readFileSync(flags.requestheaderClientCaFile, "utf8"),
      allowedNames: sliceFlag(flags.requestheaderAllowedNames),
      usernameHeaders: sliceFlag(flags.requestheaderUsernameHeaders),
      groupHeaders: sliceFlag(flags.requestheaderGroupHeaders),
      extraHeadersPrefixes: sliceFlag(flags.requestheaderExtraHeadersPrefix),
    };
  }
  if (flags.authenticationSkipLookup) return undefined;
  let configMap: ConfigMap;
  try {
    configMap = await client.get<ConfigMap>(CONFIG_MAPS, "kube-system", "extension-apiserver-authentication");
  } catch (err) {
    if (!isNotFound(err)) throw new Error(`Unable to get configmap/extension-apiserver-authentication in kube-system. Usually fixed by 'kubectl create rolebinding -n kube-system ROLEBINDING_NAME --role=extension-apiserver-authentication-reader --serviceaccount=YOUR_NS:YOUR_SA': ${String(err)}`);
    logger.warn("configmap/extension-apiserver-authentication in kube-system not found: request-header client certificate authentication won't work");
    return undefined;
  }
  const data = configMap.data ?? {};
  const clientCaPem = data["requestheader-client-ca-file"];
  if (clientCaPem === undefined || clientCaPem === "") {
    logger.warn("configmap/extension-apiserver-authentication in kube-system has no requestheader-client-ca-file: request-header client certificate authentication won't work");
    return undefined;
  }
  return {
    clientCaPem,
    allowedNames: jsonList(data["requestheader-allowed-names"]),
    usernameHeaders: jsonList(data["requestheader-username-headers"]),
    groupHeaders: jsonList(data["requestheader-group-headers"]),
    extraHeadersPrefixes: jsonList(data["requestheader-extra-headers-prefix"]),
  };
}

export interface DelegatedAuthOptions {
  requestHeader: RequestHeaderConfig | undefined;
  /** Asked with the whole SubjectAccessReview spec; caching is its own (app.ts: CachedAccessReviewer, 10 s). */
  authorizer: { authorize(spec: SubjectAccessReviewSpec): Promise<AccessDecision> };
  alwaysAllowPaths: readonly string[];
  logger: Logger;
}

/**
 * metrics-server's options of component-base's delegated authentication and authorization: the front proxy's
 * requestheader authentication only (no client certificates, no tokens: every caller comes through the
 * aggregator), anonymous otherwise, metrics.k8s.io resource attributes, --authorization-always-allow-paths.
 */
export class DelegatedAuth extends StatusDelegatedAuth {
  constructor(options: DelegatedAuthOptions) {
    super({
      anonymous: true,
      ...(options.requestHeader ? { requestHeader: options.requestHeader } : {}),
      clientCertificates: false,
      tokenCacheTtlMs: 0,
      attributesOf: (_user, req) => requestAttributes(req.method ?? "GET", new URL(req.url ?? "/", "https://metrics-server")),
      accessReviewer: (user, attributes) => options.authorizer.authorize(reviewSpec(user, attributes)),
      // The authorizer caches.
      authorizedTtlMs: 0,
      unauthorizedTtlMs: 0,
      alwaysAllowPaths: options.alwaysAllowPaths,
      logger: options.logger,
    });
  }
}

function reviewSpec(user: RequestUser, attributes: ReviewAttributes): SubjectAccessReviewSpec {
  const extra = user.extra ?? {};
  return { user: user.username ?? "", groups: user.groups ?? [], ...(Object.keys(extra).length > 0 ? { extra } : {}), ...attributes };
}

/** Kubernetes' RequestInfo for /apis/<group>/<version>/...: a resource request with its verb, else a path. */
export function requestAttributes(method: string, url: URL): Pick<SubjectAccessReviewSpec, "resourceAttributes" | "nonResourceAttributes"> {
  const httpVerb = method === "HEAD" ? "get" : method.toLowerCase();
  const parts = url.pathname.split("/").filter((p) => p !== "").map(decodeURIComponent);
  if (parts[0] !== "apis" || parts.length < 4) return { nonResourceAttributes: { path: url.pathname, verb: httpVerb } };
  const [, group = "", version = ""] = parts;
  let rest = parts.slice(3);
  let namespace = "";
  if (rest[0] === "namespaces" && rest.length >= 3) {
    namespace = rest[1] ?? "";
    rest = rest.slice(2);
  }
  const [resource = "", name = "", subresource = ""] = rest;
  let verb = httpVerb;
  if (method === "GET" || method === "HEAD") {
    const watch = url.searchParams.get("watch");
    verb = watch === "true" || watch === "1" ? "watch" : name === "" ? "list" : "get";
  }
  return { resourceAttributes: { namespace, verb, group, version, resource, subresource, name } };
}

