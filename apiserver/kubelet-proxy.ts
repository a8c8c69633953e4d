// How the apiserver reaches a node's kubelet for the connect-style subresources: pods/log (streamed through),
// pods/exec, pods/attach and pods/portforward (the client's upgraded connection forwarded to the kubelet's /exec,
// /attach and /portForward, so WebSocket v5.channel.k8s.io and v4 port-forward are negotiated between the client
// and the kubelet; kubectl's SPDY port-forward is ended here instead, see portforward-tunnel.ts), and
// nodes/<name>/proxy/<path>. The kubelet is found as Kubernetes' node connection
// info finds it: the node's InternalIP (then Hostname, ExternalIP) and status.daemonEndpoints.kubeletEndpoint.Port.
// The container is resolved here, with Kubernetes' LogLocation/ExecLocation errors. With
// --kubelet-client-certificate/--kubelet-client-key the kubelet is spoken to over HTTPS with that identity, its
// serving certificate verified against --kubelet-certificate-authority when given (not verified otherwise, as
// Kubernetes); without, plain HTTP as kubelab's kubelets serve by default. The client's own credentials
// (Authorization, impersonation headers) never reach the kubelet: the apiserver is the one who asks.
import { request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { request as httpsRequest } from "node:https";
import type { Duplex } from "node:stream";
import { badRequest, invalid, StatusError } from "../api/errors.js";
import type { KubeObject, Status } from "../api/meta.js";
import type { Node, Pod } from "../api/types/index.js";
import { BackendDialError, proxyRequest, proxyUpgrade, type TlsClientOptions } from "../component-base/http-proxy.js";
import { acceptPortForwardTunnel, portForwardMode } from "./portforward-tunnel.js";
import type { KubeletClientTls } from "./kubelet-client-tls.js";

export { kubeletClientTls, type KubeletClientTls } from "./kubelet-client-tls.js";
import type { KubeletProxy } from "./server.js";

/** The kubelet's default --port. */
const DEFAULT_KUBELET_PORT = 10250;

/** Kubernetes' order of --kubelet-preferred-address-types, InternalIP first as kubelab nodes register it. */
const ADDRESS_PREFERENCE = ["InternalIP", "Hostname", "InternalDNS", "ExternalIP", "ExternalDNS"];

/** A failure Kubernetes reports from a plain Go error: code 500 and no reason ("Error from server: <message>"). */
class UnknownReasonError extends StatusError {
  constructor(message: string, code = 500) {
    super(code, "InternalError", message);
  }

  override toStatus(): Status {
    const status = super.toStatus();
    delete status.reason;
    return status;
  }
}

export interface KubeletProxyOptions {
  /** Reads a Node; throws NotFound when it does not exist. */
  getNode(name: string): Promise<KubeObject>;
  /** The apiserver's kubelet client certificate (and CA to verify kubelets): HTTPS to kubelets; plain HTTP without. */
  tls?: KubeletClientTls;
}

/** Headers carrying the client's credentials or asked-for identity, kept from the kubelet. */
const CLIENT_CREDENTIAL_HEADERS = ["authorization", "impersonate-user", "impersonate-group", "impersonate-uid"];

function tlsClientOptions(tls: KubeletClientTls | undefined): TlsClientOptions | undefined {
  if (!tls) return undefined;
  return { cert: tls.certPem, key: tls.keyPem, ...(tls.caPem !== undefined ? { ca: tls.caPem } : {}), rejectUnauthorized: tls.caPem !== undefined };
}


/** The kubelet's base URL for a node: its preferred address and kubelet port, over `scheme`. */
export function kubeletBaseUrl(node: Readonly<Node>, scheme: "http" | "https" = "http"): URL {
  const addresses = node.status?.addresses ?? [];
  const preferred = ADDRESS_PREFERENCE.map((type) => addresses.find((a) => a.type === type && a.address !== "")).find((a) => a !== undefined);
  if (!preferred) {
    const known = addresses.map((a) => `{${a.type} ${a.address}}`).join(" ");
    throw new UnknownReasonError(`no preferred addresses found; known addresses: [${known}]`);
  }
  const declared = node.status?.daemonEndpoints?.kubeletEndpoint?.Port;
  const port = declared !== undefined && declared > 0 ? declared : DEFAULT_KUBELET_PORT;
  const host = preferred.address.includes(":") ? `[${preferred.address}]` : preferred.address;
  return new URL(`${scheme}://${host}:${port}`);
}

function containerNames(containers: readonly { name: string }[] | undefined): string {
  return (containers ?? []).map((c) => c.name).join(" ");
}

/** The container a pods/log or pods/exec request addresses: the one named, else the pod's only container. */
export function resolveContainer(pod: Readonly<Pod>, requested: string | null): string {
  const name = pod.metadata.name ?? "";
  const containers = pod.spec?.containers ?? [];
  if (requested === null || requested === "") {
    if (containers.length === 1) return containers[0]!.name;
    if (containers.length === 0) throw badRequest(`a container name must be specified for pod ${name}`);
    let message = `a container name must be specified for pod ${name}, choose one of: [${containerNames(containers)}]`;
    const inits = pod.spec?.initContainers ?? [];
    if (inits.length > 0) message += ` or one of the init containers: [${containerNames(inits)}]`;
    throw badRequest(message);
  }
  const ephemeral = (pod.spec as { ephemeralContainers?: { name: string }[] } | undefined)?.ephemeralContainers ?? [];
  if (![...containers, ...(pod.spec?.initContainers ?? []), ...ephemeral].some((c) => c.name === requested)) {
    throw badRequest(`container ${requested} is not valid for pod ${name}`);
  }
  return requested;
}

const LOG_FLAGS = ["follow", "previous", "timestamps"];
const LOG_NUMBERS = [
  { name: "tailLines", min: 0, message: "must be greater than or equal to 0" },
  { name: "sinceSeconds", min: 1, message: "must be greater than 0" },
  { name: "limitBytes", min: 1, message: "must be greater than 0" },
];

/** The kubelet's /containerLogs query for pods/log options, validated as Kubernetes' ValidatePodLogOptions does. */
export function kubeletLogQuery(podName: string, query: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams();
  for (const name of LOG_FLAGS) {
    const value = query.get(name);
    if (value === null) continue;
    if (value !== "true" && value !== "false" && value !== "1" && value !== "0") throw badRequest(`${name}: Invalid value: "${value}": must be a boolean`);
    if (value === "true" || value === "1") out.set(name, "true");
  }
  for (const { name, min, message } of LOG_NUMBERS) {
    const value = query.get(name);
    if (value === null || value === "") continue;
    const n = Number(value);
    if (!Number.isInteger(n)) throw badRequest(`${name}: Invalid value: "${value}": must be an integer`);
    if (n < min) throw invalid("PodLogOptions", "", podName, [{ type: "FieldValueInvalid", field: name, message: `Invalid value: ${n}: ${message}` }]);
    out.set(name, String(n));
  }
  const sinceTime = query.get("sinceTime");
  if (sinceTime !== null && sinceTime !== "") {
    if (out.has("sinceSeconds")) throw invalid("PodLogOptions", "", podName, [{ type: "FieldValueForbidden", field: "", message: "at most one of `sinceTime` or `sinceSeconds` may be specified" }]);
    if (Number.isNaN(Date.parse(sinceTime))) throw badRequest(`sinceTime: Invalid value: "${sinceTime}": must be an RFC3339 time`);
    out.set("sinceTime", sinceTime);
  }
  return out;
}

/** The kubelet's stream parameters for pods/exec and pods/attach (its input/output/error/tty names). */
export function kubeletStreamQuery(query: URLSearchParams, withCommand: boolean): URLSearchParams {
  const out = new URLSearchParams();
  const on = (name: string): boolean => query.get(name) === "true" || query.get(name) === "1";
  if (on("stdin")) out.set("input", "1");
  if (on("stdout")) out.set("output", "1");
  if (on("stderr")) out.set("error", "1");
  if (on("tty")) out.set("tty", "1");
  if (withCommand) for (const command of query.getAll("command")) out.append("command", command);
  return out;
}

/**
 * A kubelet answer that is not 2xx as the Status Kubernetes' pods/log response checker makes of it: 400 keeps the
 * kubelet's text as a BadRequest, 500 becomes an InternalError around it, anything else a generic server response
 * naming pods/log and the pod.
 */
export function kubeletFailure(code: number, body: string, podName: string): StatusError {
  const text = body.trim();
  if (code === 400) return badRequest(text);
  if (code === 500) return new StatusError(500, "InternalError", `Internal error occurred: ${text}`, { causes: [{ message: text }] });
  const where = ` ( pods/log ${podName})`;
  const details = { kind: "pods/log", name: podName };
  if (code === 404) return new StatusError(404, "NotFound", `the server could not find the requested resource${where}`, details);
  if (code >= 500) return new StatusError(code, "InternalError", `an error on the server (${JSON.stringify(text)}) has prevented the request from succeeding${where}`, details);
  return new UnknownReasonError(`the server responded with the status code ${code} but did not return more information${where}`, code);
}

export function createKubeletProxy(options: KubeletProxyOptions): KubeletProxy {
  const scheme = options.tls ? "https" : "http";
  const tls = tlsClientOptions(options.tls);
  const proxyOptions = { dropHeaders: CLIENT_CREDENTIAL_HEADERS, ...(tls ? { tls } : {}) };
  const kubeletOf = async (pod: KubeObject): Promise<URL | undefined> => {
    const nodeName = (pod as Pod).spec?.nodeName;
    if (!nodeName) return undefined;
    return kubeletBaseUrl((await options.getNode(nodeName)), scheme);
  };

  return {
    async log(pod: KubeObject, query: URLSearchParams, res: ServerResponse): Promise<void> {
      const name = pod.metadata.name ?? "";
      const container = resolveContainer(pod, query.get("container"));
      const params = kubeletLogQuery(name, query);
      const base = await kubeletOf(pod);
      if (!base) {
        // A pod not yet assigned to a node has no logs: 204 No Content, as Kubernetes answers.
        res.writeHead(204, { "Cache-Control": "no-cache, private" });
        res.end();
        return;
      }
      const target = new URL(`/containerLogs/${encodeURIComponent(pod.metadata.namespace ?? "")}/${encodeURIComponent(name)}/${encodeURIComponent(container)}`, base);
      target.search = params.toString();
      await new Promise<void>((resolve, reject) => {
        const request = tls ? httpsRequest(target, { method: "GET", ...tls }) : httpRequest(target, { method: "GET" });
        res.once("close", () => request.destroy());
        request.on("response", (upstream: IncomingMessage) => {
          const code = upstream.statusCode ?? 502;
          if (code < 200 || code > 206) {
            const chunks: Buffer[] = [];
            upstream.on("data", (chunk: Buffer) => chunks.push(chunk));
            upstream.on("end", () => { reject(kubeletFailure(code, Buffer.concat(chunks).toString(), name)); });
            upstream.on("error", reject);
            return;
          }
          res.writeHead(200, { "Content-Type": "text/plain", "Cache-Control": "no-cache, private" });
          res.flushHeaders();
          upstream.pipe(res);
          upstream.on("end", () => { resolve(); });
          upstream.on("error", () => {
            res.end();
            resolve();
          });
        });
        request.on("error", (err) => {
          if (res.headersSent) {
            res.end();
            resolve();
          } else {
            reject(new UnknownReasonError(`Get "${target.toString()}": ${new BackendDialError(target, err).message}`));
          }
        });
        request.end();
      });
    },

    async upgrade(pod: KubeObject, subresource: string, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
      const name = pod.metadata.name ?? "";
      const namespace = pod.metadata.namespace ?? "";
      const query = new URL(req.url ?? "/", "http://apiserver").searchParams;
      let path: string;
      let params: URLSearchParams;
      if (subresource === "portforward") {
        path = `/portForward/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
        params = new URLSearchParams();
        for (const port of query.getAll("ports")) params.append("port", port);
      } else {
        const container = resolveContainer(pod, query.get("container"));
        path = `/${subresource}/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/${encodeURIComponent(container)}`;
        params = kubeletStreamQuery(query, subresource === "exec");
      }
      const base = await kubeletOf(pod);
      if (!base) throw badRequest(`pod ${name} does not have a host assigned`);
      const mode = subresource === "portforward" ? portForwardMode(req) : "proxy";
      if (mode !== "proxy") {
        // kubectl's SPDY (tunnelled or plain) ends here; each forwarded connection reaches the kubelet on its own.
        acceptPortForwardTunnel(mode, req, socket, head, {
          ...(tls ? { tls } : {}),
          kubeletUrl: (port) => {
            const url = new URL(path, base);
            url.search = new URLSearchParams({ port: String(port) }).toString();
            return url;
          },
        });
        return;
      }
      const target = new URL(path, base);
      target.search = params.toString();
      try {
        await proxyUpgrade(req, socket, head, target, proxyOptions);
      } catch (err) {
        if (err instanceof BackendDialError) throw new UnknownReasonError(`error dialing backend: ${err.message}`);
        throw err;
      }
    },

    async nodeProxy(node: KubeObject, path: string, query: URLSearchParams, req: IncomingMessage, res: ServerResponse): Promise<void> {
      const target = new URL(`/${path.replace(/^\/+/, "")}`, kubeletBaseUrl(node, scheme));
      target.search = query.toString();
      try {
        await proxyRequest(req, res, target, proxyOptions);
      } catch (err) {
        if (err instanceof BackendDialError) throw new StatusError(503, "ServiceUnavailable", `error trying to reach service: ${err.message}`);
        throw err;
      }
    },
  };
}
