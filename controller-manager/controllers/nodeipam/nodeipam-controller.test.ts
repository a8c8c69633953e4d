import { describe, expect, it } from "vitest";
import { newNode } from "../../../api/testing/builders.js";
import type { Node } from "../../../api/types/index.js";
import { FakeClock } from "../../../component-base/testing/fake-clock.js";
import { drainQueue } from "../../../client/testing/drain-queue.js";
import { FakeClient } from "../../../client/testing/fake-client.js";
import { FakeRecorder } from "../../../client/testing/fake-recorder.js";
import { CidrSet, InvalidCidrError } from "./cidr-set.js";
import { CidrExhaustedError, createNodeIpamController, createNodeipamController, NodeIpamController, NODES } from "./nodeipam-controller.js";

function setup(nodes: Node[], clusterCidr = "10.244.0.0/16", mask = 24): { fake: FakeClient; recorder: FakeRecorder; controller: NodeIpamController; drain: () => Promise<string[]> } {
  const fake = new FakeClient({ clock: new FakeClock(), objects: nodes });
  const recorder = new FakeRecorder();
  const controller = new NodeIpamController({ client: fake, nodes: fake.informer<Node>(NODES), recorder, clusterCidr, nodeCidrMaskSize: mask });
  return { fake, recorder, controller, drain: () => drainQueue(controller.queue, (key) => controller.sync(key)) };
}

const cidrOf = (fake: FakeClient, name: string): [string | undefined, string[] | undefined] => {
  const node = fake.object<Node>(NODES, undefined, name)!;
  return [node.spec?.podCIDR, node.spec?.podCIDRs];
};

describe("NodeIpamController", () => {
  it("exports the factory under both names the registry may use", () => {
    expect(createNodeipamController).toBe(createNodeIpamController);
  });

  it("gives each node its own block, skipping blocks nodes already hold", async () => {
    const { fake, controller, drain } = setup([newNode("n0", { podCIDR: "10.244.0.0/24" }), newNode("n1"), newNode("n2"), newNode("n3", { podCIDR: "10.244.2.0/24" })]);
    await drain();
    expect(cidrOf(fake, "n1")).toEqual(["10.244.1.0/24", ["10.244.1.0/24"]]);
    expect(cidrOf(fake, "n2")).toEqual(["10.244.3.0/24", ["10.244.3.0/24"]]);
    expect(fake.actionsFor("patch").map((a) => a.name)).toEqual(["n1", "n2"]);
    expect(controller.cidrs.free).toBe(256 - 4);
  });

  it("never allocates twice for a node whose update the cache has not shown yet", async () => {
    const { fake, controller } = setup([newNode("n1")]);
    const informer = fake.informer<Node>(NODES);
    informer.hold();
    await controller.sync("n1");
    await controller.sync("n1");
    const patches = fake.actionsFor("patch");
    expect(patches.map((a) => (a.patch as { spec: { podCIDR: string } }).spec.podCIDR)).toEqual(["10.244.0.0/24"]);
    informer.release();
    await controller.sync("n1");
    expect(fake.actionsFor("patch")).toHaveLength(1);
    expect(controller.cidrs.free).toBe(255);
  });

  it("reports CIDRNotAvailable and retries when the range is exhausted, then uses a block freed by a deleted node", async () => {
    const { fake, recorder, controller, drain } = setup([newNode("a"), newNode("b")], "10.244.0.0/24", 25);
    await drain();
    fake.seed(newNode("c"));
    await expect(controller.sync("c")).rejects.toBeInstanceOf(CidrExhaustedError);
    expect(recorder.events).toEqual([expect.objectContaining({ reason: "CIDRNotAvailable", message: "Node c status is now: CIDRNotAvailable", type: "Normal" })]);
    const freed = cidrOf(fake, "a")[0];
    fake.remove(NODES, undefined, "a");
    await controller.sync("c");
    expect(cidrOf(fake, "c")[0]).toBe(freed);
  });

  it("keeps the reservation across a failed patch and retries with the same block", async () => {
    const { fake, controller } = setup([newNode("n1")]);
    fake.failNext("patch", "nodes", new Error("timeout"));
    await expect(controller.sync("n1")).rejects.toThrow("timeout");
    await controller.sync("n1");
    expect(cidrOf(fake, "n1")[0]).toBe("10.244.0.0/24");
    expect(controller.cidrs.free).toBe(255);
  });
});

describe("CidrSet", () => {
  it("hands out blocks round-robin and marks overlapping larger CIDRs", () => {
    const set = new CidrSet("10.0.0.0/22", 24);
    expect(set.occupy("10.0.2.0/23")).toBe(true);
    expect([set.allocateNext(), set.allocateNext(), set.allocateNext()]).toEqual(["10.0.0.0/24", "10.0.1.0/24", undefined]);
    set.release("10.0.0.0/24");
    expect(set.allocateNext()).toBe("10.0.0.0/24");
    expect(set.occupy("192.168.0.0/24")).toBe(false);
  });

  it.each([
    ["10.244.0.0/16", 8, "--node-cidr-mask-size"],
    ["10.0.0.0/8", 25, "--node-cidr-mask-size"],
    ["10.244.1.0/16", 24, "--cluster-cidr"],
    ["fd00::/64", 80, "--cluster-cidr"],
  ])("rejects fake %s with mask %d (%s)", (cidr, mask, field) => {
    expect(() => new CidrSet(cidr, mask)).toThrow(InvalidCidrError);
    expect(() => new CidrSet(cidr, mask)).toThrow(field);
  });
});
