// PodRoutes driving the real iproute2 (Debian's `ip`) inside a throwaway network namespace this test creates, with a
// veth pair on 172.31.250.0/24 so the gateways are on-link. Routes appear, move, disappear, a foreign route stays, and
// stop() removes what PodRoutes made. The namespace is deleted in afterAll, also when a test fails. Needs root.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESOURCES } from "../../api/resources.js";
import { newNode } from "../../api/testing/builders.js";
import type { Node } from "../../api/types/index.js";
import { FakeInformer } from "../../client/testing/fake-informer.js";
import { silentLogger } from "../../component-base/logging.js";
import { netnsNames } from "../../test/support/runtime-host.js";
import { waitFor } from "../../test/support/apiserver.js";
import type { ConditionState } from "../nodestatus/status.js";
import { PodRoutes, runIp } from "./pod-routes.js";

const NODES = RESOURCES.find((r) => r.resource === "nodes")!;
const execFileAsync = promisify(execFile);
const NETNS = `knode-${randomBytes(4).toString("hex")}`;
const inNetns = (args: readonly string[]): Promise<string> => runIp(["-n", NETNS, ...args]);

async function ip(...args: string[]): Promise<string> {
  return (await execFileAsync("ip", args, { encoding: "utf8" })).stdout;
}

/** The namespace's routes as `ip route` prints them, one per line, without trailing flags. */
async function routes(...filter: string[]): Promise<string[]> {
  const out = await ip("-n", NETNS, "-4", "route", "show", "table", "main", ...filter);
  return out.split("\n").map((l) => l.trim().replace(/\s+linkdown$/, "")).filter((l) => l !== "").sort();
}

function node(name: string, podCIDR: string, internalIP: string): Node {
  return newNode(name, { podCIDR, internalIP });
}

beforeAll(async () => {
  await ip("netns", "add", NETNS);
  await ip("-n", NETNS, "link", "add", "kn0", "type", "veth", "peer", "name", "kn1");
  await ip("-n", NETNS, "addr", "add", "172.31.250.1/24", "dev", "kn0");
  await ip("-n", NETNS, "link", "set", "kn0", "up");
  await ip("-n", NETNS, "link", "set", "kn1", "up");
});

afterAll(async () => {
  await ip("netns", "del", NETNS).catch(() => undefined);
  expect(netnsNames()).not.toContain(NETNS);
});

describe("PodRoutes with the real ip in a network namespace", () => {
  const informer = new FakeInformer<Node>(NODES, [node("self", "10.244.1.0/24", "172.31.250.1"), node("peer-2", "10.244.2.0/24", "172.31.250.2")]);
  const reported: ConditionState[] = [];
  const podRoutes = new PodRoutes({ nodeName: "self", nodes: informer, logger: silentLogger(), runIp: inNetns, resyncPeriodMs: 60_000, setNetworkUnavailable: (s) => reported.push(s) });
  afterAll(() => podRoutes.stop()); // idempotent; its timers must not outlive a failed test

  it("programs the other nodes' podCIDRs via their InternalIP, marked proto 151", async () => {
    await ip("-n", NETNS, "route", "add", "10.244.9.0/24", "via", "172.31.250.9"); // someone else's
    await podRoutes.start();
    await waitFor("the route", async () => ((await routes("proto", "151")).length === 1 ? true : undefined));
    expect(await routes("proto", "151")).toEqual(["10.244.2.0/24 via 172.31.250.2 dev kn0"]);
    expect(reported).toEqual([{ status: "False", reason: "RouteCreated", message: "kubelab host-gw routes configured" }]);
  });

  it("adds, moves and removes routes as Nodes come, change and go, leaving other routes alone", async () => {
    informer.add(node("peer-3", "10.244.3.0/24", "172.31.250.3"));
    await waitFor("peer-3's route", async () => ((await routes("proto", "151")).length === 2 ? true : undefined));
    informer.update(node("peer-2", "10.244.2.0/24", "172.31.250.22"));
    await waitFor("peer-2's route moved", async () => ((await routes("proto", "151")).includes("10.244.2.0/24 via 172.31.250.22 dev kn0") ? true : undefined));
    informer.delete(node("peer-3", "10.244.3.0/24", "172.31.250.3"));
    await waitFor("peer-3's route gone", async () => ((await routes("proto", "151")).length === 1 ? true : undefined));
    expect(await routes("proto", "151")).toEqual(["10.244.2.0/24 via 172.31.250.22 dev kn0"]);
    expect(await routes()).toContain("10.244.9.0/24 via 172.31.250.9 dev kn0");
  });

  it("puts back a route someone deleted at the next sync", async () => {
    await ip("-n", NETNS, "route", "del", "10.244.2.0/24", "proto", "151");
    await podRoutes.syncNow();
    expect(await routes("proto", "151")).toEqual(["10.244.2.0/24 via 172.31.250.22 dev kn0"]);
  });

  it("removes its routes, and only those, at stop()", async () => {
    await podRoutes.stop();
    expect(await routes("proto", "151")).toEqual([]);
    expect(await routes()).toEqual(["10.244.9.0/24 via 172.31.250.9 dev kn0", "172.31.250.0/24 dev kn0 proto kernel scope link src 172.31.250.1"]);
  });
});
