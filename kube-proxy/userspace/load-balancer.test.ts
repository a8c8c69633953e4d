import { describe, expect, it } from "vitest";
import { RoundRobinLoadBalancer } from "./load-balancer.js";

describe("RoundRobinLoadBalancer", () => {
  it("rotates over the endpoints", () => {
    const lb = new RoundRobinLoadBalancer();
    lb.update("default/web", ["10.244.1.5:80", "10.244.1.6:80", "10.244.1.7:80"], undefined);
    expect(Array.from({ length: 6 }, () => lb.next("default/web", "10.0.0.1", 0))).toEqual(["10.244.1.5:80", "10.244.1.6:80", "10.244.1.7:80", "10.244.1.5:80", "10.244.1.6:80", "10.244.1.7:80"]);
    expect(lb.next("default/other", "10.0.0.1", 0)).toBeUndefined();
    lb.update("default/web", [], undefined);
    expect(lb.next("default/web", "10.0.0.1", 0)).toBeUndefined();
  });

  it("keeps a client on its endpoint within the affinity timeout", () => {
    const lb = new RoundRobinLoadBalancer();
    lb.update("default/web", ["10.244.1.5:80", "10.244.1.6:80"], 10);
    const first = lb.next("default/web", "10.0.0.1", 0);
    expect(lb.next("default/web", "10.0.0.2", 0)).not.toBe(first);
    expect(lb.next("default/web", "10.0.0.1", 9_000)).toBe(first);
    expect(lb.next("default/web", "10.0.0.1", 18_000)).toBe(first);
    // A failed connection forgets the affinity: the client moves on with the rotation.
    lb.resetAffinity("default/web", "10.0.0.1", first!);
    expect(lb.next("default/web", "10.0.0.1", 18_001)).toBe(first);
    expect(lb.next("default/web", "10.0.0.1", 18_002)).toBe(first);
    // Idle longer than the timeout: the rotation decides again.
    expect(lb.next("default/web", "10.0.0.3", 18_003)).not.toBe(first);
    expect(lb.next("default/web", "10.0.0.1", 40_000)).toBe(first);
    expect(lb.next("default/web", "10.0.0.1", 40_000)).toBe(first);
  });

  it("drops affinity to an endpoint that is gone, keeps it for one that stays", () => {
    const lb = new RoundRobinLoadBalancer();
    lb.update("default/web", ["10.244.1.5:80", "10.244.1.6:80"], 60);
    expect(lb.next("default/web", "a", 0)).toBe("10.244.1.5:80");
    expect(lb.next("default/web", "b", 0)).toBe("10.244.1.6:80");
    lb.update("default/web", ["10.244.1.6:80", "10.244.1.7:80"], 60);
    expect(lb.next("default/web", "b", 1)).toBe("10.244.1.6:80");
    expect(lb.next("default/web", "a", 1)).not.toBe("10.244.1.5:80");
  });
});
