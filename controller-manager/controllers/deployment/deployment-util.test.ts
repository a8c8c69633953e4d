import { describe, expect, it } from "vitest";
import { newDeployment, newReplicaSet } from "../../../api/testing/builders.js";
import type { Deployment, ReplicaSet } from "../../../api/types/apps.js";
import {
  InvalidRevisionError,
  maxRevision,
  parseRevision,
  revisionOf,
  canonicalJson,
  computeHash,
  equalIgnoreHash,
  fnv1a32,
  maxSurge,
  maxUnavailable,
  POD_TEMPLATE_HASH_LABEL,
  replicaSetProportion,
  resolveFenceposts,
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  safeEncodeString,
  scaledValue,
  setCondition,
  setNewReplicaSetAnnotations,
} from "./deployment-util.js";

function deployment(replicas: number, surge?: number | string, unavailable?: number | string): Deployment {
  const d = newDeployment("web", { replicas });
  d.spec!.strategy = { type: "RollingUpdate", rollingUpdate: { ...(surge !== undefined ? { maxSurge: surge } : {}), ...(unavailable !== undefined ? { maxUnavailable: unavailable } : {}) } };
  return d;
}

describe("the pod-template hash", () => {
  it("is FNV-1a 32", () => {
    expect(fnv1a32(new TextEncoder().encode(""))).toBe(0x811c9dc5);
    expect(fnv1a32(new TextEncoder().encode("a"))).toBe(0xe40c292c);
    expect(fnv1a32(new TextEncoder().encode("foobar"))).toBe(0xbf9cf968);
  });

  it("safe-encodes digits into the alphabet without vowels or look-alikes", () => {
    expect(safeEncodeString("0123456789")).toBe("456789bcdf");
    expect(computeHash(newDeployment("web").spec?.template)).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
  });

  it("depends on the template's content, not its key order, and on collisionCount", () => {
    const a = { metadata: { labels: { app: "web", tier: "fe" } }, spec: { containers: [{ name: "c", image: "nginx" }] } };
    const b = { spec: { containers: [{ image: "nginx", name: "c" }] }, metadata: { labels: { tier: "fe", app: "web" } } };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(computeHash(a)).toBe(computeHash(b));
    expect(computeHash(a, 1)).not.toBe(computeHash(a));
    expect(computeHash(a, 1)).not.toBe(computeHash(a, 2));
    expect(computeHash({ ...a, spec: { containers: [{ name: "c", image: "nginx:2" }] } })).not.toBe(computeHash(a));
  });

  it("compares templates ignoring only the hash label", () => {
    const t = newDeployment("web").spec!.template!;
    const withHash = structuredClone(t);
    withHash.metadata!.labels![POD_TEMPLATE_HASH_LABEL] = "abc";
    expect(equalIgnoreHash(t, withHash)).toBe(true);
    const changed = structuredClone(withHash);
    changed.metadata!.labels!.extra = "x";
    expect(equalIgnoreHash(t, changed)).toBe(false);
  });
});

describe("maxSurge and maxUnavailable", () => {
  it.each([
    [10, "25%", "25%", 3, 2],
    [4, "25%", "25%", 1, 1],
    [3, "25%", "25%", 1, 0],
    [1, "25%", "25%", 1, 0],
    [10, 0, "10%", 0, 1],
    [3, 0, 1, 0, 1],
    [5, 2, 9, 2, 5],
    // Both rounding to 0: unavailable becomes 1 so the rollout can move.
    [1, 0, "25%", 0, 1],
  ])("with %i replicas, surge %j and unavailable %j resolve to %i and %i", (replicas, surge, unavailable, wantSurge, wantUnavailable) => {
    const d = deployment(replicas, surge, unavailable);
    expect(maxSurge(d)).toBe(wantSurge);
    expect(maxUnavailable(d)).toBe(wantUnavailable);
  });

  it("rounds percentages up for surge and down for unavailable", () => {
    expect(scaledValue("25%", 5, true)).toBe(2);
    expect(scaledValue("25%", 5, false)).toBe(1);
    expect(resolveFenceposts("0%", "0%", 10)).toEqual({ surge: 0, unavailable: 1 });
    expect(() => scaledValue("lots", 5, true)).toThrow("invalid value");
  });

  it("is 0 for Recreate", () => {
    const d = deployment(4);
    d.spec!.strategy = { type: "Recreate" };
    expect(maxSurge(d)).toBe(0);
    expect(maxUnavailable(d)).toBe(0);
  });
});

describe("revisions", () => {
  it("gives a reused ReplicaSet the next revision and remembers its old one", () => {
    const d = deployment(3);
    d.metadata.annotations = { "kubernetes.io/change-cause": "undo", [REVISION_ANNOTATION]: "2" };
    const rs = newReplicaSet("web-1", { meta: { annotations: { [REVISION_ANNOTATION]: "1" } } });
    expect(setNewReplicaSetAnnotations(d, rs, 3n, true)).toBe(true);
    expect(rs.metadata.annotations).toEqual({ [REVISION_ANNOTATION]: "3", [REVISION_HISTORY_ANNOTATION]: "1", "kubernetes.io/change-cause": "undo" });
    expect(setNewReplicaSetAnnotations(d, rs, 5n, true)).toBe(true);
    expect(rs.metadata.annotations?.[REVISION_HISTORY_ANNOTATION]).toBe("1,3");
    expect(setNewReplicaSetAnnotations(d, rs, 5n, true)).toBe(false);
  });

  it("never lowers a revision", () => {
    const rs = newReplicaSet("web-1", { meta: { annotations: { [REVISION_ANNOTATION]: "7" } } });
    setNewReplicaSetAnnotations(deployment(1), rs, 3n, true);
    expect(rs.metadata.annotations?.[REVISION_ANNOTATION]).toBe("7");
  });

  it("reads revisions as int64, exactly beyond 2^53 (the RollingUpdateDeployment conformance test adopts revision 3546343826724305832)", () => {
    const adopted = newReplicaSet("web-1", { meta: { annotations: { [REVISION_ANNOTATION]: "3546343826724305832" } } });
    const next = maxRevision([adopted, newReplicaSet("web-2", { meta: { annotations: { [REVISION_ANNOTATION]: "not-a-number" } } })]) + 1n;
    expect(String(next)).toBe("3546343826724305833");
    const rs = newReplicaSet("web-3");
    setNewReplicaSetAnnotations(deployment(1), rs, next, false);
    expect(rs.metadata.annotations?.[REVISION_ANNOTATION]).toBe("3546343826724305833");
    expect(parseRevision("9223372036854775807")).toBe(9223372036854775807n);
    expect(parseRevision("9223372036854775808")).toBeUndefined();
    expect(parseRevision("+4")).toBe(4n);
    expect(() => revisionOf(newReplicaSet("web-4", { meta: { annotations: { [REVISION_ANNOTATION]: "1.5" } } }))).toThrow(InvalidRevisionError);
  });
});

describe("proportional scaling", () => {
  function sized(replicas: number, maxReplicas: number): ReplicaSet {
    return newReplicaSet("rs", { replicas, meta: { annotations: { "deployment.kubernetes.io/max-replicas": String(maxReplicas) } } });
  }

  it("splits added replicas by each ReplicaSet's share of the previous maximum", () => {
    // Kubernetes' documented example: 10 replicas, surge 3, stuck at 8 old + 5 new, scaled to 15.
    const d = deployment(15, 3, 2);
    expect(replicaSetProportion(sized(8, 13), d, 5, 0)).toBe(3);
    expect(replicaSetProportion(sized(5, 13), d, 5, 3)).toBe(2);
  });

  it("never hands out more than is left", () => {
    expect(replicaSetProportion(sized(8, 13), deployment(15, 3, 2), 2, 0)).toBe(2);
    // Scaled from 10 (max 13) down to 5 (max 8): 8 old replicas would become 5.
    expect(replicaSetProportion(sized(8, 13), deployment(5, 3, 2), -5, 0)).toBe(-3);
    expect(replicaSetProportion(sized(8, 13), deployment(5, 3, 2), -2, 0)).toBe(-2);
  });
});

describe("setCondition", () => {
  it("keeps lastTransitionTime while the status stays the same", () => {
    const status = { conditions: [{ type: "Progressing", status: "True" as const, reason: "A", lastTransitionTime: "t0", lastUpdateTime: "t0" }] };
    setCondition(status, { type: "Progressing", status: "True", reason: "B", lastTransitionTime: "t1", lastUpdateTime: "t1" });
    expect(status.conditions).toEqual([{ type: "Progressing", status: "True", reason: "B", lastTransitionTime: "t0", lastUpdateTime: "t1" }]);
    setCondition(status, { type: "Progressing", status: "True", reason: "B", lastTransitionTime: "t2", lastUpdateTime: "t2" });
    expect(status.conditions[0]?.lastUpdateTime).toBe("t1");
  });
});
