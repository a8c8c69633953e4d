import { describe, expect, it } from "vitest";
import type { KubeObject } from "../meta.js";
import { newNamespace, newNode, newPod, newService } from "../testing/builders.js";
import { problems, edit, SUBDOMAIN_MSG, LABEL_MSG, DNS1035_MSG } from "./testing.js";

describe("metadata", () => {
  it.each<[string, KubeObject, string]>([
    ["an invalid pod name", newPod("Foo_bar"), `metadata.name: Invalid value: "Foo_bar": ${SUBDOMAIN_MSG}`],
    ["a missing name", edit(newPod("x"), (p) => delete p.metadata.name), "metadata.name: Required value: name or generateName is required"],
    ["a dotted namespace name", newNamespace("a.b"), `metadata.name: Invalid value: "a.b": must not contain dots`],
    ["a service name starting with a digit", newService("1web"), `metadata.name: Invalid value: "1web": ${DNS1035_MSG}`],
    ["a missing namespace", edit(newPod("x"), (p) => delete p.metadata.namespace), "metadata.namespace: Required value"],
    ["an invalid namespace", newPod("x", { namespace: "Bad" }), `metadata.namespace: Invalid value: "Bad": ${LABEL_MSG}`],
    ["a namespace on a cluster-scoped kind", edit(newNode("n1"), (n) => (n.metadata.namespace = "default")), "metadata.namespace: Forbidden: not allowed on this type"],
    ["an invalid generateName", edit(newPod("x"), (p) => (p.metadata.generateName = "Web-")), `metadata.generateName: Invalid value: "Web-": ${SUBDOMAIN_MSG}`],
    ["an owner reference without uid", edit(newPod("x"), (p) => (p.metadata.ownerReferences = [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "rs", uid: "" }])), 'metadata.ownerReferences.uid: Invalid value: "": must not be empty'],
  ])("rejects %s", (_what, obj, expected) => {
    expect(problems(obj)).toContain(expected);
  });

  it("accepts a generateName with a trailing dash", () => {
    expect(problems(edit(newPod("web-abcde"), (p) => (p.metadata.generateName = "web-")))).toEqual([]);
  });

  it("reports an invalid label key at metadata.labels with the bad key", () => {
    const errs = problems(newPod("x", { labels: { "bad key": "v" } }));
    expect(errs.some((e) => e.startsWith('metadata.labels: Invalid value: "bad key": '))).toBe(true);
  });

  it("reports an invalid label value at metadata.labels with the bad value", () => {
    const errs = problems(newPod("x", { labels: { app: "-x-" } }));
    expect(errs.some((e) => e.startsWith('metadata.labels: Invalid value: "-x-": '))).toBe(true);
  });

  it("limits the total size of annotations to 256KiB", () => {
    const pod = newPod("x", { annotations: { big: "x".repeat(256 * 1024) } });
    expect(problems(pod)).toEqual(["metadata.annotations: Too long: must have at most 262144 bytes"]);
  });
});
