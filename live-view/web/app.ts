// The page: one WebSocket to the server (/ws; reconnects with backoff), the rows it sends kept by collection, and
// each section redrawn in the next animation frame after its rows change. Buttons post actions to /api/... and
// show the answer; "logs" shows `kubectl logs`, "sh" opens a terminal (terminal.ts). window.kubelabView exposes the delays from the server's observation of each change to the
// frame that drew it (the integration test reads them).
import { Charts } from "./charts.js";
import { ACTION_HEADER, COLLECTIONS, type ActionReply, type Collection, type LabInfo, type Rows, type ServerMessage } from "./protocol.js";
import { openTerminal, type TerminalSession } from "./terminal.js";
import { esc, renderComponents, renderDeployments, renderEvents, renderNodes, renderServices } from "./render.js";

type Store = { [C in Collection]: Map<string, Rows[C]> };

const store: Store = { nodes: new Map(), pods: new Map(), deployments: new Map(), services: new Map(), events: new Map(), components: new Map() };
let lab: LabInfo = { connected: false, phase: "", home: "", apiserver: "", error: "" };

/** What the integration test reads: delays (ms) from a change's observation on the server to its drawn frame. */
interface ViewProbe {
  delays: number[];
  /** The server's part of each delay: observed to sent. */
  serverDelays: number[];
  messages: number;
  connected: boolean;
}
declare global {
  interface Window {
    kubelabView: ViewProbe;
  }
}
const probe: ViewProbe = { delays: [], serverDelays: [], messages: 0, connected: false };
window.kubelabView = probe;

function element(id: string): HTMLElement {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`the page has no #${id}`);
  return found;
}

const sections: Record<string, { element: HTMLElement; collections: readonly Collection[]; render: () => string }> = {
  nodes: { element: element("nodes"), collections: ["nodes", "pods"], render: () => renderNodes([...store.nodes.values()], [...store.pods.values()]) },
  deployments: { element: element("deployments"), collections: ["deployments"], render: () => renderDeployments([...store.deployments.values()]) },
  services: { element: element("services"), collections: ["services"], render: () => renderServices([...store.services.values()]) },
  components: { element: element("components"), collections: ["components"], render: () => renderComponents([...store.components.values()], lab) },
  events: { element: element("events"), collections: ["events"], render: () => renderEvents([...store.events.values()]) },
};

const charts = new Charts(element("charts"));
const dirty = new Set<string>();
let observed: number[] = [];
let frameRequested = false;

function markDirty(collections: Iterable<Collection>, observedAt?: number): void {
  for (const c of collections) for (const [name, section] of Object.entries(sections)) if (section.collections.includes(c)) dirty.add(name);
  if (observedAt !== undefined) observed.push(observedAt);
  if (!frameRequested) {
    frameRequested = true;
    requestAnimationFrame(draw);
  }
}

function draw(): void {
  frameRequested = false;
  for (const name of dirty) {
    const section = sections[name];
    if (section !== undefined) section.element.innerHTML = section.render();
  }
  dirty.clear();
  element("counts").textContent = `${store.nodes.size} nodes · ${store.pods.size} pods · ${store.deployments.size} deployments · ${store.services.size} services`;
  const drawnAt = Date.now();
  for (const at of observed) probe.delays.push(drawnAt - at);
  if (probe.delays.length > 10_000) probe.delays.splice(0, 5_000);
  if (probe.serverDelays.length > 10_000) probe.serverDelays.splice(0, 5_000);
  observed = [];
}

function setRow<C extends Collection>(collection: C, key: string, row: Rows[C] | undefined): void {
  const rows = store[collection] as Map<string, Rows[C]>;
  if (row === undefined) rows.delete(key);
  else rows.set(key, row);
}

function loadRows<C extends Collection>(collection: C, rows: Readonly<Record<string, Rows[C]>>): void {
  store[collection].clear();
  for (const [key, row] of Object.entries(rows)) setRow(collection, key, row);
}

function setLab(info: LabInfo): void {
  lab = info;
  element("lab").textContent = info.connected ? `lab ${info.home} · ${info.phase} · apiserver ${info.apiserver}` : info.error || "cluster only (no lab)";
  markDirty(["components"]);
}

function receive(message: ServerMessage): void {
  probe.messages++;
  switch (message.type) {
    case "snapshot":
      for (const collection of COLLECTIONS) loadRows(collection, message.rows[collection]);
      charts.reset(message.samples);
      setLab(message.lab);
      markDirty(COLLECTIONS);
      return;
    case "changes": {
      const touched = new Set<Collection>();
      for (const change of message.changes) {
        setRow(change.collection, change.key, change.row);
        touched.add(change.collection);
        observed.push(change.observedAt);
        probe.serverDelays.push(message.sentAt - change.observedAt);
      }
      markDirty(touched);
      return;
    }
    case "sample":
      charts.add(message.sample);
      return;
    case "lab":
      setLab(message.lab);
      return;
  }
}

let retryMs = 250;
function connect(): void {
  const status = element("connection");
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
  ws.onopen = () => {
    retryMs = 250;
    probe.connected = true;
    status.textContent = "live";
    status.className = "badge ok";
  };
  ws.onmessage = (event: MessageEvent<string>) => {
    receive(JSON.parse(event.data) as ServerMessage);
  };
  ws.onclose = () => {
    probe.connected = false;
    status.textContent = "reconnecting…";
    status.className = "badge bad";
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 5_000);
  };
}

function toast(text: string, ok: boolean): void {
  const item = document.createElement("div");
  item.className = `toast ${ok ? "ok" : "bad"}`;
  item.textContent = text;
  element("toasts").append(item);
  setTimeout(() => { item.remove(); }, ok ? 4_000 : 10_000);
}

async function post(path: string, body: unknown): Promise<void> {
  try {
    const response = await fetch(path, { method: "POST", headers: { "content-type": "application/json", [ACTION_HEADER]: "1" }, body: JSON.stringify(body) });
    const reply = (await response.json()) as ActionReply;
    toast(reply.ok ? (reply.message ?? "done") : (reply.error ?? "failed"), reply.ok);
  } catch (err) {
    toast(String(err), false);
  }
}

async function showLogs(namespace: string, name: string): Promise<void> {
  const panel = element("logs");
  element("logs-title").textContent = `kubectl logs -n ${namespace} ${name} --tail=500`;
  const text = element("logs-text");
  text.textContent = "…";
  panel.hidden = false;
  panel.dataset.ns = namespace;
  panel.dataset.name = name;
  try {
    const response = await fetch(`/api/pods/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/log`);
    const reply = (await response.json()) as ActionReply;
    text.textContent = reply.ok ? (reply.message !== undefined && reply.message !== "" ? reply.message : "(empty)") : `error: ${reply.error ?? ""}`;
    text.scrollTop = text.scrollHeight;
  } catch (err) {
    text.textContent = String(err);
  }
}

let terminal: TerminalSession | undefined;

async function showTerminal(namespace: string, name: string): Promise<void> {
  terminal?.close();
  element("terminal-title").textContent = `kubectl exec -it -n ${namespace} ${name} -- sh`;
  element("terminal").hidden = false;
  try {
    terminal = await openTerminal(element("terminal-screen"), namespace, name);
  } catch (err) {
    toast(`the terminal did not open: ${String(err)}`, false);
  }
}

document.addEventListener("click", (event) => {
  const target = event.target instanceof Element ? event.target.closest<HTMLElement>("[data-action]") : null;
  if (target === null) return;
  const d = target.dataset;
  const ns = encodeURIComponent(d.ns ?? "");
  const name = encodeURIComponent(d.name ?? "");
  switch (d.action) {
    case "delete-pod":
      void post(`/api/pods/${ns}/${name}/delete`, {});
      break;
    case "scale":
      void post(`/api/deployments/${ns}/${name}/scale`, { replicas: Number(d.replicas) });
      break;
    case "cordon":
      void post(`/api/nodes/${name}/cordon`, { unschedulable: d.value === "true" });
      break;
    case "component":
      void post(`/api/components/${encodeURIComponent(d.verb ?? "")}`, { component: d.kind, node: d.node });
      break;
    case "logs":
      void showLogs(d.ns ?? "", d.name ?? "");
      break;
    case "exec":
      void showTerminal(d.ns ?? "", d.name ?? "");
      break;
    case "close-terminal":
      terminal?.close();
      terminal = undefined;
      element("terminal").hidden = true;
      break;
    case "close-logs":
      element("logs").hidden = true;
      break;
    case "refresh-logs":
      void showLogs(element("logs").dataset.ns ?? "", element("logs").dataset.name ?? "");
      break;
    case undefined:
      break;
    default:
      toast(`unknown action ${esc(d.action ?? "")}`, false);
  }
});

connect();
