// The page's terminal: `kubectl exec -it` over the apiserver's exec WebSocket. The page speaks the channel protocol
// itself (v5.channel.k8s.io, or v4: stdin 0, stdout 1, stderr 2, status 3, resize 4); this relay only opens the
// apiserver's end with the client's credentials and copies frames both ways, so the terminal is exactly the call
// kubectl makes. The page asks for /exec?namespace=&pod=&container=&command= (the command is one word: a shell).
import type { IncomingMessage } from "node:http";
import { WebSocket, type RawData } from "ws";
import { CHANNEL_V4, CHANNEL_V5 } from "../api/streaming/channel-protocol.js";
import type { ClientConfig } from "../client/kubeconfig.js";

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const COMMAND = /^[\w./-]{1,64}$/;

export interface ExecTarget {
  namespace: string;
  pod: string;
  container: string;
  command: string;
}

/** The target of an /exec request, or an error message naming the bad parameter. */
export function execTarget(url: URL): ExecTarget | string {
  const get = (name: string): string => url.searchParams.get(name) ?? "";
  const target = { namespace: get("namespace"), pod: get("pod"), container: get("container"), command: get("command") || "sh" };
  if (!NAME.test(target.namespace)) return "namespace: not a valid name";
  if (!NAME.test(target.pod)) return "pod: not a valid name";
  if (target.container !== "" && !NAME.test(target.container)) return "container: not a valid name";
  if (!COMMAND.test(target.command)) return "command: one word (a program such as sh)";
  return target;
}

/** The apiserver's exec URL for the target, with a terminal on stdin and stdout (tty merges stderr into stdout). */
export function execUrl(server: string, target: ExecTarget): string {
  const query = new URLSearchParams({ command: target.command, stdin: "true", stdout: "true", tty: "true" });
  if (target.container !== "") query.set("container", target.container);
  const base = server.replace(/^http/, "ws");
  return `${base}/api/v1/namespaces/${target.namespace}/pods/${target.pod}/exec?${query.toString()}`;
}

/** Connects the page's socket to the apiserver's exec of `target`; either side closing closes the other. */
export function relayExec(page: WebSocket, config: ClientConfig, target: ExecTarget): void {
  const upstream = new WebSocket(execUrl(config.server, target), [CHANNEL_V5, CHANNEL_V4], {
    headers: config.token !== undefined ? { authorization: `Bearer ${config.token}` } : {},
    ...(config.caData !== undefined ? { ca: config.caData } : {}),
    ...(config.clientCertData !== undefined ? { cert: config.clientCertData } : {}),
    ...(config.clientKeyData !== undefined ? { key: config.clientKeyData } : {}),
    ...(config.insecureSkipTLSVerify === true ? { rejectUnauthorized: false } : {}),
  });
  const pending: RawData[] = [];
  const closeBoth = (code: number, reason: string): void => {
    const safe = code === 1000 || (code >= 3000 && code < 5000) ? code : 1011;
    if (page.readyState === WebSocket.OPEN) page.close(safe, reason.slice(0, 120));
    if (upstream.readyState === WebSocket.OPEN || upstream.readyState === WebSocket.CONNECTING) upstream.terminate();
  };
  upstream.on("open", () => {
    // The page learns which protocol was agreed (v4 has no close signal) before the first frame.
    page.send(JSON.stringify({ protocol: upstream.protocol }));
    for (const frame of pending.splice(0)) upstream.send(frame);
  });
  upstream.on("message", (data: RawData, isBinary: boolean) => {
    if (page.readyState === WebSocket.OPEN) page.send(data, { binary: isBinary });
  });
  upstream.on("unexpected-response", (_req, res: IncomingMessage) => {
    let body = "";
    res.setEncoding("utf8");
    res.on("data", (chunk: string) => (body += chunk));
    res.on("end", () => {
      let message = body;
      try {
        const parsed: unknown = JSON.parse(body);
        if (typeof parsed === "object" && parsed !== null && "message" in parsed) message = String(parsed.message);
      } catch {
        // not a Status: the body as it is
      }
      closeBoth(4000, `${res.statusCode ?? 0}: ${message}`);
    });
  });
  upstream.on("close", (code, reason) => { closeBoth(code, reason.toString("utf8")); });
  upstream.on("error", (err) => { closeBoth(4001, err.message); });
  page.on("message", (data: RawData) => {
    if (upstream.readyState === WebSocket.OPEN) upstream.send(data);
    else pending.push(data);
  });
  page.on("close", () => { closeBoth(1000, ""); });
  page.on("error", () => { closeBoth(1011, ""); });
}
