import { describe, expect, it } from "vitest";
import type { ClusterRole, PolicyRule } from "../../../api/types/index.js";
import { FakeClock } from "../../../component-base/testing/fake-clock.js";
import { drainQueue } from "../../../client/testing/drain-queue.js";
import { FakeClient } from "../../../client/testing/fake-client.js";
import { CLUSTER_ROLES, ClusterRoleAggregationController } from "./clusterroleaggregation-controller.js";

const TO_VIEW = { "rbac.authorization.k8s.io/aggregate-to-view": "true" };

function clusterRole(name: string, rules: PolicyRule[], labels: Record<string, string> = {}): ClusterRole {
  return { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name, labels }, rules };
}

function aggregated(name: string): ClusterRole {
  return { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name }, aggregationRule: { clusterRoleSelectors: [{ matchLabels: TO_VIEW }] } };
}

const readPods: PolicyRule = { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] };
const readWidgets: PolicyRule = { apiGroups: ["example.com"], resources: ["widgets"], verbs: ["get"] };

function setup(roles: ClusterRole[]): { fake: FakeClient; drain: () => Promise<string[]> } {
  const fake = new FakeClient({ clock: new FakeClock(), objects: roles });
  const controller = new ClusterRoleAggregationController({ client: fake, clusterRoles: fake.informer<ClusterRole>(CLUSTER_ROLES) });
  return { fake, drain: () => drainQueue(controller.queue, (key) => controller.sync(key)) };
}

describe("ClusterRoleAggregationController", () => {
  it("fills an aggregated role with the rules of the labelled roles, in name order and without repeats", async () => {
    const { fake, drain } = setup([aggregated("view"), clusterRole("z-pods", [readPods], TO_VIEW), clusterRole("a-widgets", [readWidgets, readPods], TO_VIEW), clusterRole("unlabelled", [{ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }])]);
    await drain();
    expect(fake.object<ClusterRole>(CLUSTER_ROLES, undefined, "view")?.rules).toEqual([readWidgets, readPods]);
  });

  it("follows a source role losing its label, and writes nothing when the union is unchanged", async () => {
    const { fake, drain } = setup([aggregated("view"), clusterRole("widgets", [readWidgets], TO_VIEW)]);
    await drain();
    expect(fake.actionsFor("update")).toHaveLength(1);
    await drain();
    fake.seed(clusterRole("widgets", [readWidgets]));
    await drain();
    expect(fake.object<ClusterRole>(CLUSTER_ROLES, undefined, "view")?.rules).toEqual([]);
    expect(fake.actionsFor("update")).toHaveLength(2);
  });
});
