import { describe, expect, it } from "vitest";
import type { PodRow } from "./protocol.js";
import { esc, groupByOwner, podStatus, renderNodes } from "./render.js";

function pod(name: string, extra: Partial<PodRow> = {}): PodRow {
  return { namespace: "default", name, node: "node-1", phase: "Running", ready: true, readyContainers: 1, containers: 1, restarts: 0, ip: "10.244.1.2", owner: "Deployment/web", reason: "", createdAt: "", ...extra };
}

describe("the page's sections", () => {
  it("escapes what comes from the cluster", () => {
    expect(esc(`<img src=x onerror="a">&'`)).toBe("&#60;img src=x onerror=&#34;a&#34;&#62;&#38;&#39;");
  });

  it.each([
    [pod("a"), "Running", "ok"],
    [pod("b", { ready: false }), "Running", "warn"],
    [pod("c", { reason: "CrashLoopBackOff" }), "CrashLoopBackOff", "bad"],
    [pod("d", { reason: "Terminating" }), "Terminating", "idle"],
    [pod("e", { phase: "Succeeded", ready: false }), "Completed", "idle"],
    [pod("f", { phase: "Pending", ready: false }), "Pending", "warn"],
  ])("says %# as kubectl's STATUS column would", (row, word, tone) => {
    expect(podStatus(row)).toEqual({ word, tone });
  });

  it("groups pods by owner, bare pods last", () => {
    const groups = groupByOwner([pod("z", { owner: "" }), pod("b"), pod("a"), pod("x", { owner: "DaemonSet/proxy" })]);
    expect(groups.map(([owner, pods]) => [owner, pods.map((p) => p.name)])).toEqual([["DaemonSet/proxy", ["x"]], ["Deployment/web", ["a", "b"]], ["", ["z"]]]);
  });

  it("puts each pod in its node's card, unscheduled pods and pods of a vanished node in cards of their own", () => {
    const html = renderNodes([{ name: "node-1", ready: "True", unschedulable: true, ip: "172.30.0.11", podCidr: "10.244.1.0/24", kubeletVersion: "" }], [pod("a"), pod("p", { node: "" }), pod("q", { node: "node-9" })]);
    expect(html).toContain('data-node-card="node-1"');
    expect(html).toContain("SchedulingDisabled");
    expect(html).toContain('data-node-card=""');
    expect(html).toContain('data-node-card="node-9"');
    expect(html.match(/data-pod=/g)).toHaveLength(3);
  });
});
