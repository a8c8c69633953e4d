import { describe, expect, it } from "vitest";
import { selectorFromSet } from "../../../api/labels.js";
import { findResource } from "../../../api/resources.js";
import type { ControllerRevision } from "../../../api/types/admissionregistration.js";
import type { DaemonSet } from "../../../api/types/apps.js";
import type { PodTemplateSpec } from "../../../api/types/core.js";
import { applyPatch } from "../../../api/patch/apply.js";
import { FakeClient } from "../../../client/testing/fake-client.js";
import { FakeInformer } from "../../../client/testing/fake-informer.js";
import {
  computeHash,
  CONTROLLER_REVISIONS,
  hashRevisionData,
  ControllerHistory,
  newRevision,
  nextRevisionNumber,
  revisionMatches,
  revisionsToTruncate,
  sortRevisions,
  templateOfRevision,
  templatePatch,
} from "./history.js";

const DAEMONSETS = findResource("apps", "v1", "daemonsets")!;
const KIND = { apiVersion: "apps/v1", kind: "DaemonSet", hashLabel: "controller-revision-hash", hashOf: "template" } as const;

const template = (image: string): PodTemplateSpec => ({ metadata: { labels: { app: "agent" } }, spec: { containers: [{ name: "agent", image }] } });

function ds(image: string): DaemonSet {
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: "agent", namespace: "default", uid: "ds-uid", annotations: { note: "x" } },
    spec: { selector: { matchLabels: { app: "agent" } }, template: template(image) },
  };
}

function rev(name: string, revision: number, created = "2024-01-01T00:00:00Z"): ControllerRevision {
  return { apiVersion: "apps/v1", kind: "ControllerRevision", metadata: { name, namespace: "default", creationTimestamp: created }, revision };
}

describe("revision data and names", () => {
  it("is the strategic patch kubectl applies on undo, as Kubernetes' getPatch writes it, and gives the template back", () => {
    const data = templatePatch(template("nginx:1"));
    // Go's typed JSON (creationTimestamp and resources written unset), members sorted at every depth.
    expect(JSON.stringify(data)).toBe('{"spec":{"template":{"$patch":"replace","metadata":{"creationTimestamp":null,"labels":{"app":"agent"}},"spec":{"containers":[{"image":"nginx:1","name":"agent","resources":{}}]}}}}');
    const typed = { metadata: { creationTimestamp: null, labels: { app: "agent" } }, spec: { containers: [{ image: "nginx:1", name: "agent", resources: {} }] } };
    expect(templateOfRevision({ ...rev("a", 1), data })).toEqual(typed);
    expect(templateOfRevision({ ...rev("a", 1), data: "junk" })).toBeUndefined();
    // Applied to a DaemonSet with another template, the patch replaces it wholesale (the null creationTimestamp deletes).
    const current = { ...ds("nginx:2"), spec: { ...ds("nginx:2").spec, template: { ...template("nginx:2"), spec: { containers: [{ name: "agent", image: "nginx:2", args: ["-v"] }] } } } };
    const rolledBack = applyPatch("application/strategic-merge-patch+json", current, data) as DaemonSet;
    expect(rolledBack.spec?.template).toEqual({ metadata: { labels: { app: "agent" } }, spec: { containers: [{ image: "nginx:1", name: "agent", resources: {} }] } });
  });

  it("matches a revision written without Go's unset fields (before kubelab wrote them) to the same template", () => {
    const legacy = { ...rev("a", 1), data: { spec: { template: { ...template("nginx:1"), $patch: "replace" } } } };
    expect(revisionMatches(legacy, templatePatch(template("nginx:1")))).toBe(true);
    expect(revisionMatches(legacy, templatePatch(template("nginx:2")))).toBe(false);
    expect(revisionMatches({ ...rev("b", 1), data: "junk" }, templatePatch(template("nginx:1")))).toBe(false);
  });

  it("names a StatefulSet's revision as Kubernetes' HashControllerRevision: FNV-1 of the data's bytes and the collision count", () => {
    // FNV-1 (32 bit) of the bytes `"a"0` (the data as JSON, then the count) is 3817509920; each digit's code mod 27
    // picks a letter of the safe alphabet.
    expect(hashRevisionData("a", 0)).toBe("7d5c94ff64");
    expect(hashRevisionData("a", 1)).toBe("7d5c94ff65");
    const sts = { ...ds("nginx:1"), kind: "StatefulSet" };
    const r = newRevision(sts, { apiVersion: "apps/v1", kind: "StatefulSet", hashLabel: "controller.kubernetes.io/hash", hashOf: "data" }, template("nginx:1"), 1, 0);
    expect(r.metadata.name).toBe(`agent-${hashRevisionData(templatePatch(template("nginx:1")), 0)}`);
  });

  it("hashes stably (key order does not matter), differently per template and collision count, in the safe alphabet", () => {
    const a = computeHash({ x: 1, y: [1, 2] });
    expect(computeHash({ y: [1, 2], x: 1 })).toBe(a);
    expect(computeHash({ x: 2, y: [1, 2] })).not.toBe(a);
    expect(computeHash({ x: 1, y: [1, 2] }, 1)).not.toBe(a);
    expect(a).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
  });

  it("builds a revision with the template's labels, the hash label, the owner's annotations and a controller reference", () => {
    const r = newRevision(ds("nginx:1"), KIND, template("nginx:1"), 3, 0);
    // kubelab's own DaemonSet hash, of the template as revisions held it before Go's unset fields: names stay put.
    const hash = computeHash({ spec: { template: { ...template("nginx:1"), $patch: "replace" } } }, 0);
    expect(r.metadata).toEqual({
      name: `agent-${hash}`,
      namespace: "default",
      labels: { app: "agent", "controller-revision-hash": hash },
      annotations: { note: "x" },
      ownerReferences: [{ apiVersion: "apps/v1", kind: "DaemonSet", name: "agent", uid: "ds-uid", controller: true, blockOwnerDeletion: true }],
    });
    expect(r.revision).toBe(3);
  });
});

describe("ordering and truncation", () => {
  it("sorts by number, then creation time, then name, and numbers the next one", () => {
    const list = [rev("c", 2), rev("b", 1, "2024-01-02T00:00:00Z"), rev("a", 1, "2024-01-02T00:00:00Z"), rev("d", 1)];
    expect(sortRevisions(list).map((r) => r.metadata.name)).toEqual(["d", "a", "b", "c"]);
    expect(nextRevisionNumber(list)).toBe(3);
    expect(nextRevisionNumber([])).toBe(1);
  });

  it("deletes the oldest revisions beyond the limit that are not live", () => {
    const list = [rev("r1", 1), rev("r2", 2), rev("r3", 3), rev("r4", 4), rev("r5", 5)];
    expect(revisionsToTruncate(list, new Set(["r5", "r1"]), 2).map((r) => r.metadata.name)).toEqual(["r2"]);
    expect(revisionsToTruncate(list, new Set(["r5"]), 0).map((r) => r.metadata.name)).toEqual(["r1", "r2", "r3", "r4"]);
    expect(revisionsToTruncate(list, new Set(), 10)).toEqual([]);
  });
});

describe("ControllerHistory", () => {
  function setup() {
    const client = new FakeClient();
    const informer = new FakeInformer<ControllerRevision>(CONTROLLER_REVISIONS);
    const history = new ControllerHistory({ client, informer, kind: KIND, ownerResource: DAEMONSETS });
    return { client, informer, history };
  }

  it("creates revision 1, reuses an equal one, and renumbers an old equal one to the top (undo)", async () => {
    const { client, history } = setup();
    const owner = ds("nginx:1");
    const first = await history.sync(owner, template("nginx:1"), [], 0);
    expect(first.update.revision).toBe(1);
    expect(client.created("controllerrevisions")).toHaveLength(1);

    const same = await history.sync(owner, template("nginx:1"), first.revisions, 0);
    expect(same.update.metadata.name).toBe(first.update.metadata.name);
    expect(client.created("controllerrevisions")).toHaveLength(1);

    const second = await history.sync(ds("nginx:2"), template("nginx:2"), same.revisions, 0);
    expect(second.update.revision).toBe(2);
    const back = await history.sync(owner, template("nginx:1"), second.revisions, 0);
    expect(back.update.metadata.name).toBe(first.update.metadata.name);
    expect(back.update.revision).toBe(3);
    expect(back.revisions.map((r) => r.revision)).toEqual([2, 3]);
    expect(client.created("controllerrevisions")).toHaveLength(2);
  });

  it("bumps the collision count when the name is taken by different data", async () => {
    const { client, history } = setup();
    const owner = ds("nginx:1");
    const squatter = newRevision(owner, KIND, template("nginx:1"), 1, 0);
    squatter.data = { other: true };
    squatter.metadata.uid = "other";
    client.seed(squatter);
    const state = await history.sync(owner, template("nginx:1"), [], 0);
    expect(state.collisionCount).toBe(1);
    expect(state.update.metadata.name).not.toBe(squatter.metadata.name);
  });

  it("adopts matching orphans and truncates", async () => {
    const { client, informer, history } = setup();
    const owner = ds("nginx:1");
    client.seed(owner);
    const orphan = newRevision(owner, KIND, template("nginx:0"), 1, 0);
    delete orphan.metadata.ownerReferences;
    informer.set(client.seed(orphan));
    const claimed = await history.claim(owner, selectorFromSet({ app: "agent" }));
    expect(claimed.map((r) => r.metadata.name)).toEqual([orphan.metadata.name]);
    expect(client.actionsFor("patch", "controllerrevisions")).toHaveLength(1);
    await history.truncate(claimed, new Set(), 0);
    expect(client.deleted("controllerrevisions")).toEqual([orphan.metadata.name]);
  });
});
