import { describe, expect, it } from "vitest";
import { TEST_CONFIG } from "./testing.js";
import { defaultStorageClass } from "./storage-class.js";

describe("the lab's default StorageClass", () => {
  it("is kind's standard class with the local-path provisioner, its volumes under the lab's home", () => {
    expect(defaultStorageClass({ ...TEST_CONFIG, home: "/tmp/lab" })).toEqual({
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      metadata: { name: "standard", annotations: { "storageclass.kubernetes.io/is-default-class": "true" } },
      provisioner: "kubelab.dev/local-path",
      parameters: { path: "/tmp/lab/local-path" },
      reclaimPolicy: "Delete",
      volumeBindingMode: "WaitForFirstConsumer",
    });
  });
});
