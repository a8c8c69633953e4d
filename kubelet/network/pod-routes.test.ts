// PodRoutes over a FakeInformer and an in-memory `ip` (a routing table that understands the few commands used). The
// real iproute2 in a throwaway network namespace is in pod-routes.int.test.ts.
import { afterEach, describe, expect, it } from "vitest";
import { RESOURCES } from "../../api/resources.js";
import { newNode } from "../../api/testing/builders.js";
import type { Node } from "../../api/types/index.js";
import { FakeInformer } from "../../client/testing/fake-informer.js";
import { silentLogger } from "../../component-base/logging.js";
import { FakeClock, flushPromises } from "../../component-base/testing/fake-clock.js";
import type { ConditionState } from "../nodestatus/status.js";
import { desiredRoutes, parseRoutes, planRoutes, PodRoutes, routeDestination } from "./pod-routes.js";

const NODES = RESOURCES.find((r) => r.resource === "nodes")!;

interface Route {
  dst: string;
  gateway: string;
  protocol: string;
}

/** A main routing table driven by the `ip` argument lists PodRoutes uses; every call is recorded. */
class FakeIp {
  readonly routes: Route[] = [{ dst: "172.30.0.0/24", gateway: "", protocol: "kernel" }];
  readonly calls: string[] = [];
  failReplace: string | undefined;

  readonly run = (args: readonly string[]): Promise<string> => {
    this.calls.push(args.join(" "));
    const a = [...args];
    if (a[0] === "-j") {
      const proto = a.includes("proto") ? a[a.indexOf("proto") + 1] : undefined;
      const shown = this.routes.filter((r) => proto === undefined || r.protocol === proto);
      // Like iproute2: a filtered listing does not repeat the protocol; "boot" is never printed.
      return Promise.resolve(JSON.stringify(shown.map((r) => ({ dst: r.dst, ...(r.gateway ? { gateway: r.gateway } : {}), ...(proto === undefined && r.protocol !== "boot" ? { protocol: r.protocol } : {}) }))));
    }
    if (a[0] === "route" && a[1] === "replace") {
      if (this.failReplace === a[2]) return Promise.reject(new Error(`ip ${args.join(" ")}: Error: Nexthop has invalid gateway.`));
      const route = { dst: a[2] ?? "", gateway: a[4] ?? "", protocol: a[6] ?? "boot" };
      const i = this.routes.findIndex((r) => r.dst === route.dst);
      if (i >= 0) this.routes[i] = route;
      else this.routes.push(route);
      return Promise.resolve("");
    }
    if (a[0] === "route" && a[1] === "del") {
      const i = this.routes.findIndex((r) => r.dst === a[2] && r.protocol === a[4]);
      if (i < 0) return Promise.reject(new Error("RTNETLINK answers: No such process"));
      this.routes.splice(i, 1);
      return Promise.resolve("");
    }
    return Promise.reject(new Error(`unexpected ip ${args.join(" ")}`));
  };

  owned(): string[] {
    return this.routes.filter((r) => r.protocol === "151").map((r) => `${r.dst} via ${r.gateway}`).sort();
  }

  writes(): string[] {
    return this.calls.filter((c) => !c.startsWith("-j"));
  }
}

function node(name: string, podCIDR: string | undefined, ip: string): Node {
  return newNode(name, { internalIP: ip, ...(podCIDR ? { podCIDR } : {}) });
}

let routes: PodRoutes[] = [];
afterEach(async () => {
  await Promise.all(routes.map((r) => r.stop()));
  routes = [];
});

function setup(nodes: Node[]): { ip: FakeIp; informer: FakeInformer<Node>; clock: FakeClock; podRoutes: PodRoutes; reported: ConditionState[] } {
  const ip = new FakeIp();
  const informer = new FakeInformer<Node>(NODES, nodes);
  const clock = new FakeClock();
  const reported: ConditionState[] = [];
  const podRoutes = new PodRoutes({
    nodeName: "node-1",
    nodes: informer,
    logger: silentLogger(),
    runIp: ip.run,
    clock,
    resyncPeriodMs: 30_000,
    setNetworkUnavailable: (s) => reported.push(s),
  });
  routes.push(podRoutes);
  return { ip, informer, clock, podRoutes, reported };
}

describe("route helpers", () => {
  it("writes destinations as ip route prints them", () => {
    expect(routeDestination("10.244.1.0/24")).toBe("10.244.1.0/24");
    expect(routeDestination("10.244.1.7/24")).toBe("10.244.1.0/24");
    expect(routeDestination("10.244.1.7/32")).toBe("10.244.1.7");
    expect(routeDestination("fd00::/64")).toBeUndefined();
    expect(routeDestination("10.0.0.0/33")).toBeUndefined();
  });

  it("wants one route per other node with a podCIDR and an InternalIP", () => {
    const nodes = [node("node-1", "10.244.1.0/24", "172.30.0.2"), node("node-2", "10.244.2.0/24", "172.30.0.3"), node("node-3", undefined, "172.30.0.4"), node("node-4", "10.244.2.0/24", "172.30.0.5")];
    expect(desiredRoutes(nodes, "node-1")).toEqual([{ dst: "10.244.2.0/24", gateway: "172.30.0.3" }]);
  });

  it("plans replacements, removals and leaves foreign routes alone", () => {
    const plan = planRoutes(
      [
        { dst: "10.244.2.0/24", gateway: "172.30.0.3" },
        { dst: "10.244.3.0/24", gateway: "172.30.0.4" },
        { dst: "10.244.4.0/24", gateway: "172.30.0.5" },
        { dst: "10.244.5.0/24", gateway: "172.30.0.6" },
      ],
      [
        { dst: "10.244.2.0/24", gateway: "172.30.0.3" },
        { dst: "10.244.3.0/24", gateway: "172.30.0.9" },
        { dst: "10.244.9.0/24", gateway: "172.30.0.9" },
      ],
      new Set(["10.244.5.0/24"]),
    );
    expect(plan.replace).toEqual([
      { dst: "10.244.3.0/24", gateway: "172.30.0.4" },
      { dst: "10.244.4.0/24", gateway: "172.30.0.5" },
    ]);
    expect(plan.remove).toEqual([{ dst: "10.244.9.0/24", gateway: "172.30.0.9" }]);
    expect(plan.conflicts).toEqual([{ dst: "10.244.5.0/24", gateway: "172.30.0.6" }]);
  });

  it("parses ip's JSON", () => {
    expect(parseRoutes("")).toEqual([]);
    expect(parseRoutes('[{"dst":"10.1.0.0/24","gateway":"10.0.0.1","protocol":"151"},{"dst":"10.0.0.0/24","dev":"eth0"}]')).toEqual([
      { dst: "10.1.0.0/24", gateway: "10.0.0.1", protocol: "151" },
      { dst: "10.0.0.0/24", gateway: "", protocol: "" },
    ]);
  });
});

describe("PodRoutes", () => {
  it("programs every other node's route, then reports NetworkUnavailable=False once", async () => {
    const { ip, podRoutes, reported } = setup([node("node-1", "10.244.1.0/24", "172.30.0.2"), node("node-2", "10.244.2.0/24", "172.30.0.3"), node("node-3", "10.244.3.0/24", "172.30.0.4")]);
    await podRoutes.start();
    await flushPromises();
    expect(ip.owned()).toEqual(["10.244.2.0/24 via 172.30.0.3", "10.244.3.0/24 via 172.30.0.4"]);
    expect(ip.writes()).toContain("route replace 10.244.2.0/24 via 172.30.0.3 proto 151");
    expect(reported).toEqual([{ status: "False", reason: "RouteCreated", message: "kubelab host-gw routes configured" }]);
    await podRoutes.syncNow();
    expect(reported).toHaveLength(1);
  });

  it("follows nodes as they come, change and go", async () => {
    const { ip, informer, podRoutes } = setup([node("node-1", "10.244.1.0/24", "172.30.0.2"), node("node-2", "10.244.2.0/24", "172.30.0.3")]);
    await podRoutes.start();
    await flushPromises();
    informer.add(node("node-3", undefined, "172.30.0.4"));
    await flushPromises();
    expect(ip.owned()).toEqual(["10.244.2.0/24 via 172.30.0.3"]);
    informer.update(node("node-3", "10.244.3.0/24", "172.30.0.4"));
    await flushPromises();
    expect(ip.owned()).toEqual(["10.244.2.0/24 via 172.30.0.3", "10.244.3.0/24 via 172.30.0.4"]);
    informer.update(node("node-2", "10.244.2.0/24", "172.30.0.9"));
    await flushPromises();
    expect(ip.owned()).toEqual(["10.244.2.0/24 via 172.30.0.9", "10.244.3.0/24 via 172.30.0.4"]);
    informer.delete(node("node-3", "10.244.3.0/24", "172.30.0.4"));
    await flushPromises();
    expect(ip.owned()).toEqual(["10.244.2.0/24 via 172.30.0.9"]);
  });

  it("does not touch ip for a heartbeat-only update", async () => {
    const { ip, informer, podRoutes } = setup([node("node-1", "10.244.1.0/24", "172.30.0.2"), node("node-2", "10.244.2.0/24", "172.30.0.3")]);
    await podRoutes.start();
    await flushPromises();
    const calls = ip.calls.length;
    const changed = node("node-2", "10.244.2.0/24", "172.30.0.3");
    changed.metadata.labels = { ...changed.metadata.labels, heartbeat: "1" };
    informer.update(changed);
    await flushPromises();
    expect(ip.calls.length).toBe(calls);
  });

  it("repairs a route someone removed at the next resync, and retries failures with backoff", async () => {
    const { ip, clock, podRoutes, reported } = setup([node("node-1", "10.244.1.0/24", "172.30.0.2"), node("node-2", "10.244.2.0/24", "172.30.0.3"), node("node-3", "10.244.3.0/24", "172.30.0.4")]);
    ip.failReplace = "10.244.3.0/24";
    await podRoutes.start();
    await flushPromises();
    expect(ip.owned()).toEqual(["10.244.2.0/24 via 172.30.0.3"]);
    expect(reported).toEqual([]);
    ip.failReplace = undefined;
    await clock.advance(2500); // two failed attempts at start (the initial list and the synced informer): 1 s, then 2 s
    expect(ip.owned()).toEqual(["10.244.2.0/24 via 172.30.0.3", "10.244.3.0/24 via 172.30.0.4"]);
    expect(reported).toHaveLength(1);
    ip.routes.splice(ip.routes.findIndex((r) => r.dst === "10.244.2.0/24"), 1);
    await clock.advance(30_000);
    expect(ip.owned()).toEqual(["10.244.2.0/24 via 172.30.0.3", "10.244.3.0/24 via 172.30.0.4"]);
  });

  it("touches only its own routes and removes them at stop()", async () => {
    const { ip, podRoutes } = setup([node("node-1", "10.244.1.0/24", "172.30.0.2"), node("node-2", "10.244.2.0/24", "172.30.0.3"), node("node-3", "10.244.3.0/24", "172.30.0.4")]);
    ip.routes.push({ dst: "10.244.3.0/24", gateway: "192.168.0.1", protocol: "static" }, { dst: "10.99.0.0/16", gateway: "172.30.0.1", protocol: "boot" });
    // Left over by an earlier run of this kubelet: adopted, and removed because no Node wants it.
    ip.routes.push({ dst: "10.244.8.0/24", gateway: "172.30.0.8", protocol: "151" });
    await podRoutes.start();
    await flushPromises();
    expect(ip.owned()).toEqual(["10.244.2.0/24 via 172.30.0.3"]);
    expect(ip.routes.find((r) => r.dst === "10.244.3.0/24")).toEqual({ dst: "10.244.3.0/24", gateway: "192.168.0.1", protocol: "static" });
    await podRoutes.stop();
    expect(ip.owned()).toEqual([]);
    expect(ip.routes.map((r) => r.dst).sort()).toEqual(["10.244.3.0/24", "10.99.0.0/16", "172.30.0.0/24"]);
  });
});
