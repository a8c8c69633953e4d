// metrics-server's delegated authentication and authorization (Kubernetes' DelegatingAuthenticationOptions and
// DelegatingAuthorizationOptions, which metrics-server uses). Authentication: the front proxy's client certificate
// and X-Remote-* headers (the requestheader authenticator of component-base, configured by --requestheader-* or,
// unless --authentication-skip-lookup, by the apiserver's kube-system/extension-apiserver-authentication ConfigMap
// read at start); a request without them is system:anonymous. Authorization: a SubjectAccessReview per user and
// request (cached 10 s), except for --authorization-always-allow-paths. A refused request is answered with
// Kubernetes' 401/403 Status. Only the HTTPS port authenticates (the plain-HTTP port of the insecure lab does not).
import type { IncomingMessage, ServerResponse } from "node:http";
import { readFileSync } from "node:fs";
import { isNotFound } from "../api/errors.js";
import { RESOURCES } from "../api/resources.js";
import type { ConfigMap, SubjectAccessReviewSpec } from "../api/types/index.js";
import type { RestClient } from "../client/rest.js";
import type { AccessDecision } from "../component-base/delegated-auth.js";
import type { Logger } from "../component-base/logging.js";
import { alwaysAllowPathMatcher } from "../component-base/secure-serving.js";
import { RequestHeaderAuthenticator, type ProxiedUser, type RequestHeaderConfig } from "../component-base/requestheader.js";
import type { MetricsServerFlags } from "./options.js";

const CONFIG_MAPS = RESOURCES.find((r) => r.group === "" && r.resource === "configmaps")!;
const ANONYMOUS: ProxiedUser = { username: "system:anonymous", groups: ["system:unauthenticated"], extra: {} };

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
  authorizer: { authorize(spec: SubjectAccessReviewSpec): Promise<AccessDecision> };
  alwaysAllowPaths: readonly string[];
  logger: Logger;
}

export class DelegatedAuth {
  private readonly requestHeader: RequestHeaderAuthenticator | undefined;
  private readonly alwaysAllowed: (path: string) => boolean;

  constructor(private readonly options: DelegatedAuthOptions) {
    this.requestHeader = options.requestHeader ? new RequestHeaderAuthenticator(options.requestHeader) : undefined;
    this.alwaysAllowed = alwaysAllowPathMatcher(options.alwaysAllowPaths);
  }

  /** True when the request may go on; otherwise it has been answered (401, 403, or 500 when the review failed). */
  async admit(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = new URL(req.url ?? "/", "https://metrics-server");
    if (this.alwaysAllowed(url.pathname)) return true;
    const authenticated = this.requestHeader?.authenticate(req);
    if (authenticated !== undefined && "error" in authenticated) {
      this.options.logger.info({ path: url.pathname, reason: authenticated.error }, "Unable to authenticate the request");
      sendStatus(res, 401, "Unauthorized", "Unauthorized");
      return false;
    }
    const user = authenticated?.user ?? ANONYMOUS;
    const groups = user.groups.includes("system:authenticated") || user.username === ANONYMOUS.username ? user.groups : [...user.groups, "system:authenticated"];
    const attributes = requestAttributes(req.method ?? "GET", url);
    const spec: SubjectAccessReviewSpec = { user: user.username, groups, ...(Object.keys(user.extra).length > 0 ? { extra: user.extra } : {}), ...attributes };
    let decision: AccessDecision;
    try {
      decision = await this.options.authorizer.authorize(spec);
    } catch (err) {
      this.options.logger.error({ user: user.username, path: url.pathname, err: String(err) }, "SubjectAccessReview failed");
      sendStatus(res, 500, "InternalError", `Internal Server Error: "${url.pathname}": ${String(err)}`);
      return false;
    }
    if (decision.allowed) return true;
    this.options.logger.info({ user: user.username, groups, path: url.pathname, reason: decision.reason }, "Forbidden");
    sendStatus(res, 403, "Forbidden", forbiddenMessage(user.username, attributes, decision.reason), attributes.resourceAttributes ? { group: attributes.resourceAttributes.group ?? "", kind: attributes.resourceAttributes.resource ?? "", ...(attributes.resourceAttributes.name ? { name: attributes.resourceAttributes.name } : {}) } : undefined);
    return false;
  }
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

function forbiddenMessage(username: string, attributes: Pick<SubjectAccessReviewSpec, "resourceAttributes" | "nonResourceAttributes">, reason: string): string {
  const r = attributes.resourceAttributes;
  let message: string;
  if (r === undefined) {
    message = `forbidden: User "${username}" cannot ${attributes.nonResourceAttributes?.verb ?? ""} path "${attributes.nonResourceAttributes?.path ?? ""}"`;
  } else {
    const resource = `${r.resource ?? ""}${r.group ? `.${r.group}` : ""}`;
    const what = `${r.resource ?? ""}${r.subresource ? `/${r.subresource}` : ""}`;
    const scope = r.namespace ? `in the namespace "${r.namespace}"` : "at the cluster scope";
    message = `${resource}${r.name ? ` "${r.name}"` : ""} is forbidden: User "${username}" cannot ${r.verb ?? ""} resource "${what}" in API group "${r.group ?? ""}" ${scope}`;
  }
  return reason !== "" ? `${message}: ${reason}` : message;
}

function sendStatus(res: ServerResponse, code: number, reason: string, message: string, details?: Record<string, string>): void {
  const body = JSON.stringify({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, ...(details ? { details } : {}), code });
  res.writeHead(code, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}
