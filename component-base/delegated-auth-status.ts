// Delegated authentication and authorization (delegated-auth.ts) for servers that answer like an apiserver: the
// attributes are a SubjectAccessReview's (resource or non-resource), and a refused request gets Kubernetes' Status
// body. The secure ports of kube-scheduler and kube-controller-manager (secure-serving.ts) and metrics-server use it;
// the kubelet answers in plain text and uses DelegatedAuth directly.
//
// The bodies, as Kubernetes' filters write them: 401 `Unauthorized`; 403 with the message of its Forbidden
// (`forbidden: User "u" cannot get path "/metrics"`, `pods.metrics.k8s.io "web" is forbidden: User "u" cannot get
// resource "pods" in API group "metrics.k8s.io" in the namespace "default"`, then `: <reason>` when the authorizer
// gave one) and details { group, kind, name } without the empty ones; 500 InternalError `Internal Server Error:
// "<request URI>": <error>` when the apiserver could not be asked (Kubernetes writes that text as plain text; here
// it is the Status's message, as every other refusal).
import type { IncomingMessage, ServerResponse } from "node:http";
import { DelegatedAuth, type DelegatedAuthOptions, type DelegatedAuthVerdict, type RequestUser } from "./delegated-auth.js";
import type { Logger } from "./logging.js";
import type { RequestHandler } from "./server.js";

/** What a SubjectAccessReview asks about (its spec without the user): a resource or a non-resource path. */
export interface ReviewAttributes {
  resourceAttributes?: { namespace?: string; verb?: string; group?: string; version?: string; resource?: string; subresource?: string; name?: string };
  nonResourceAttributes?: { path?: string; verb?: string };
}

/** The Status body Kubernetes answers a refused request with. */
export interface KubeStatus {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Failure";
  message: string;
  reason: "Unauthorized" | "Forbidden" | "InternalError";
  details?: Record<string, unknown>;
  code: number;
}

/** The verdict on one request: serve it, or answer with `status` (a Kubernetes Status object) and its code. */
export type StatusVerdict = { ok: true; user: RequestUser } | { ok: false; code: 401 | 403 | 500; status: KubeStatus; reason: string };

export interface StatusAuthOptions extends DelegatedAuthOptions<ReviewAttributes> {
  /** Where refusals are logged: 401 at info, 403 at debug (Kubernetes' V(4)), 500 at error. */
  logger?: Logger;
}

/** DelegatedAuth with SubjectAccessReview attributes whose refusals are Kubernetes' Status bodies. */
export class StatusDelegatedAuth {
  private readonly auth: DelegatedAuth<ReviewAttributes>;

  constructor(private readonly options: StatusAuthOptions) {
    this.auth = new DelegatedAuth(options);
  }

  async check(req: IncomingMessage): Promise<StatusVerdict> {
    const verdict = await this.auth.check(req);
    if (verdict.ok) return verdict;
    return { ok: false, code: verdict.code, status: refusalStatus(verdict, req.url ?? "/"), reason: verdict.reason };
  }

  /** True when the request may go on; otherwise it has been answered with its Status and logged. */
  async admit(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const verdict = await this.check(req);
    if (verdict.ok) return true;
    const logger = this.options.logger;
    const fields = { path: req.url, method: req.method, code: verdict.code, reason: verdict.reason };
    if (verdict.code === 401) logger?.info(fields, "Unable to authenticate the request");
    else if (verdict.code === 403) logger?.debug(fields, verdict.status.message);
    else logger?.error(fields, "Authorization failed");
    writeStatus(res, verdict.code, verdict.status);
    return false;
  }

  /** `handler` behind the checks. */
  wrap(handler: RequestHandler): RequestHandler {
    return (req, res) => {
      void this.admit(req, res).then((ok) => {
        if (ok) handler(req, res);
      });
    };
  }
}

/** The Status a refused request is answered with (see the file comment); `requestUri` is its URL as sent. */
export function refusalStatus(verdict: Exclude<DelegatedAuthVerdict<ReviewAttributes>, { ok: true }>, requestUri: string): KubeStatus {
  if (verdict.code === 401) return failure(401, "Unauthorized", "Unauthorized");
  if (verdict.code === 500) return failure(500, "InternalError", `Internal Server Error: ${JSON.stringify(requestUri)}: ${verdict.reason}`);
  const r = verdict.attributes.resourceAttributes;
  const details: Record<string, string> = {};
  if (r?.group) details.group = r.group;
  if (r?.resource) details.kind = r.resource;
  if (r?.name) details.name = r.name;
  return { ...failure(403, "Forbidden", forbiddenMessage(verdict.user.username ?? "", verdict.attributes, verdict.reason)), details };
}

/** Kubernetes' Forbidden message for a SubjectAccessReview's attributes. */
export function forbiddenMessage(username: string, attributes: ReviewAttributes, reason: string): string {
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

function failure(code: number, reason: KubeStatus["reason"], message: string): KubeStatus {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code };
}

export function writeStatus(res: ServerResponse, code: number, status: KubeStatus): void {
  res.writeHead(code, { "Content-Type": "application/json", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache, private" });
  res.end(`${JSON.stringify(status)}\n`);
}
