// The page's sections as HTML, pure functions of the rows (the page swaps a section's innerHTML when its rows
// change). Every value from the cluster goes through esc(). Buttons carry data-action and their arguments; the
// page handles clicks in one listener (app.ts). data-node-card / data-pod / data-component / data-state attributes name what a test
// looks for.
import type { ComponentRow, DeploymentRow, EventRow, LabInfo, NodeRow, PodRow, ServiceRow } from "./protocol.js";

export function esc(value: string | number): string {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function attrs(values: Record<string, string | number>): string {
  return Object.entries(values)
    .map(([k, v]) => ` data-${k}="${esc(v)}"`)
    .join("");
}

function button(label: string, action: string, args: Record<string, string | number>, title: string, kind = ""): string {
  return `<button class="btn ${kind}" title="${esc(title)}" data-action="${esc(action)}"${attrs(args)}>${esc(label)}</button>`;
}

/** The word and colour class of a pod, as kubectl's STATUS column would say it. */
export function podStatus(pod: PodRow): { word: string; tone: "ok" | "warn" | "bad" | "idle" } {
  if (pod.reason === "Terminating") return { word: "Terminating", tone: "idle" };
  if (pod.reason !== "" && pod.reason !== pod.phase) return { word: pod.reason, tone: /BackOff|Err|Error|OOM|Failed|Invalid/.test(pod.reason) ? "bad" : "warn" };
  if (pod.phase === "Running") return pod.ready ? { word: "Running", tone: "ok" } : { word: "Running", tone: "warn" };
  if (pod.phase === "Succeeded") return { word: "Completed", tone: "idle" };
  if (pod.phase === "Failed") return { word: "Failed", tone: "bad" };
  return { word: pod.phase, tone: "warn" };
}

function podChip(pod: PodRow): string {
  const status = podStatus(pod);
  const key = `${pod.namespace}/${pod.name}`;
  return `<div class="pod ${status.tone}" data-pod="${esc(key)}" data-phase="${esc(pod.phase)}" data-ready="${pod.ready}">
<div class="pod-name" title="${esc(key)}">${esc(pod.name)}</div>
<div class="pod-meta"><span class="status">${esc(status.word)}</span> ${pod.readyContainers}/${pod.containers}${pod.restarts > 0 ? ` <span class="restarts" title="restarts">↻${pod.restarts}</span>` : ""}</div>
<div class="pod-meta ip">${esc(pod.ip || "no IP")}${pod.namespace !== "default" ? ` · ${esc(pod.namespace)}` : ""}</div>
<div class="pod-actions">${button("logs", "logs", { ns: pod.namespace, name: pod.name }, "kubectl logs")}${pod.phase === "Running" ? button("sh", "exec", { ns: pod.namespace, name: pod.name }, "kubectl exec -it … -- sh") : ""}${button("delete", "delete-pod", { ns: pod.namespace, name: pod.name }, "kubectl delete pod", "danger")}</div>
</div>`;
}

/** Pods grouped by owner ("Deployment/web", or "" for bare pods), owners in name order, pods by name. */
export function groupByOwner(pods: readonly PodRow[]): [string, PodRow[]][] {
  const groups = new Map<string, PodRow[]>();
  for (const pod of pods) {
    const group = groups.get(pod.owner) ?? [];
    group.push(pod);
    groups.set(pod.owner, group);
  }
  return [...groups.entries()].sort(([a], [b]) => (a === "" ? 1 : b === "" ? -1 : a.localeCompare(b))).map(([owner, list]) => [owner, list.sort((x, y) => x.name.localeCompare(y.name))]);
}

function podGroups(pods: readonly PodRow[]): string {
  if (pods.length === 0) return `<div class="empty">no pods</div>`;
  return groupByOwner(pods)
    .map(([owner, list]) => `<div class="owner"><div class="owner-name">${esc(owner || "no owner")}</div><div class="pods">${list.map(podChip).join("")}</div></div>`)
    .join("");
}

export function renderNodes(nodes: readonly NodeRow[], pods: readonly PodRow[]): string {
  const byNode = new Map<string, PodRow[]>();
  for (const pod of pods) {
    const list = byNode.get(pod.node) ?? [];
    list.push(pod);
    byNode.set(pod.node, list);
  }
  const cards = [...nodes]
    .sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }))
    .map((node) => {
      const tone = node.ready === "True" ? "ok" : node.ready === "False" ? "bad" : "warn";
      const cordon = node.unschedulable
        ? button("uncordon", "cordon", { name: node.name, value: "false" }, "kubectl uncordon")
        : button("cordon", "cordon", { name: node.name, value: "true" }, "kubectl cordon");
      return `<section class="node ${tone}" data-node-card="${esc(node.name)}">
<header><span class="node-name">${esc(node.name)}</span> <span class="badge ${tone}">${node.ready === "True" ? "Ready" : "NotReady"}</span>${node.unschedulable ? ` <span class="badge warn">SchedulingDisabled</span>` : ""}
<span class="node-meta">${esc(node.ip)} · pods ${esc(node.podCidr || "-")}</span>${cordon}</header>
${podGroups(byNode.get(node.name) ?? [])}
</section>`;
    });
  const unscheduled = byNode.get("") ?? [];
  if (unscheduled.length > 0) cards.push(`<section class="node warn" data-node-card=""><header><span class="node-name">not scheduled</span></header>${podGroups(unscheduled)}</section>`);
  const orphans = [...byNode.entries()].filter(([name]) => name !== "" && !nodes.some((n) => n.name === name));
  for (const [name, list] of orphans) cards.push(`<section class="node bad" data-node-card="${esc(name)}"><header><span class="node-name">${esc(name)}</span> <span class="badge bad">no Node</span></header>${podGroups(list)}</section>`);
  return cards.length === 0 ? `<div class="empty">no nodes</div>` : cards.join("");
}

export function renderDeployments(deployments: readonly DeploymentRow[]): string {
  if (deployments.length === 0) return `<div class="empty">no deployments</div>`;
  const rows = [...deployments]
    .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`))
    .map((d) => {
      const width = (n: number): number => (d.desired === 0 ? 0 : Math.min(100, (100 * n) / d.desired));
      const done = d.observed && d.updated === d.desired && d.available === d.desired;
      return `<tr data-deployment="${esc(`${d.namespace}/${d.name}`)}"><td>${esc(d.namespace)}/<b>${esc(d.name)}</b></td>
<td class="progress-cell"><div class="progress" title="updated ${d.updated}, ready ${d.ready}, available ${d.available} of ${d.desired}"><div class="bar updated" style="width:${width(d.updated)}%"></div><div class="bar available" style="width:${width(d.available)}%"></div></div></td>
<td>${d.available}/${d.desired}</td><td class="${done ? "ok-text" : "warn-text"}">${esc(done ? "complete" : d.progress || "progressing")}</td>
<td class="nowrap">${button("−", "scale", { ns: d.namespace, name: d.name, replicas: Math.max(0, d.desired - 1) }, "kubectl scale --replicas=" + String(Math.max(0, d.desired - 1)))}${button("+", "scale", { ns: d.namespace, name: d.name, replicas: d.desired + 1 }, "kubectl scale --replicas=" + String(d.desired + 1))}</td></tr>`;
    });
  return `<table><thead><tr><th>deployment</th><th>rollout</th><th>available</th><th>progress</th><th>scale</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

export function renderServices(services: readonly ServiceRow[]): string {
  if (services.length === 0) return `<div class="empty">no services</div>`;
  const rows = [...services]
    .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`))
    .map((s) => {
      const endpoints = [...s.ready.map((e) => `<span class="ep ok">${esc(e)}</span>`), ...s.notReady.map((e) => `<span class="ep warn" title="not ready">${esc(e)}</span>`)];
      return `<tr data-service="${esc(`${s.namespace}/${s.name}`)}"><td>${esc(s.namespace)}/<b>${esc(s.name)}</b></td><td>${esc(s.type)}</td><td>${esc(s.clusterIp)}</td><td>${esc(s.ports.join(", "))}</td><td>${endpoints.join(" ") || `<span class="warn-text">none</span>`}</td></tr>`;
    });
  return `<table><thead><tr><th>service</th><th>type</th><th>cluster IP</th><th>ports</th><th>endpoints</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

export function renderComponents(components: readonly ComponentRow[], lab: LabInfo): string {
  if (!lab.connected) return `<div class="empty">${esc(lab.error || "not connected to a lab (kubelab-ui --lab-home)")}</div>`;
  const rows = components.map((c) => {
    const tone = c.state === "running" ? (c.health === "failing" ? "warn" : "ok") : c.state === "stopped" ? "idle" : "bad";
    const target = { kind: c.component, node: c.node };
    const self = c.component === "kubelab-ui";
    return `<tr data-component="${esc(c.name)}" data-state="${esc(c.state)}" data-restarts="${c.restarts}"><td><b>${esc(c.component)}</b></td><td>${esc(c.node || "-")}</td>
<td><span class="badge ${tone}">${esc(c.state)}</span></td><td>${c.restarts}</td><td>${esc(c.health)}</td><td>${c.pid || "-"}</td>
<td class="nowrap">${self ? "" : button("kill", "component", { verb: "kill", ...target }, "kubelab kill (SIGKILL; restarted)", "danger") + (c.state === "stopped" ? button("start", "component", { verb: "start", ...target }, "kubelab start") : button("stop", "component", { verb: "stop", ...target }, "kubelab stop"))}</td></tr>`;
  });
  return `<table><thead><tr><th>component</th><th>node</th><th>state</th><th>restarts</th><th>health</th><th>pid</th><th></th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function clock(ms: number): string {
  if (ms === 0) return "--:--:--";
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
}

export function renderEvents(events: readonly EventRow[], max = 150): string {
  if (events.length === 0) return `<div class="empty">no events</div>`;
  return [...events]
    .sort((a, b) => b.time - a.time)
    .slice(0, max)
    .map(
      (e) =>
        `<div class="event ${e.type === "Warning" ? "warn" : ""}"><span class="time">${clock(e.time)}</span><span class="reason">${esc(e.reason)}</span><span class="object">${esc(e.object)}</span><span class="message">${esc(e.message)}${e.count > 1 ? ` <span class="count">×${e.count}</span>` : ""}</span><span class="source">${esc(e.source)}</span></div>`,
    )
    .join("");
}
