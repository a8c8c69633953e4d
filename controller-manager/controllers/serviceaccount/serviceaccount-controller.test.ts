import { describe, expect, it } from "vitest";
import { newNamespace } from "../../../api/testing/builders.js";
import type { Namespace, ServiceAccount } from "../../../api/types/index.js";
import { FakeClock } from "../../../component-base/testing/fake-clock.js";
import { drainQueue } from "../../../client/testing/drain-queue.js";
import { FakeClient } from "../../../client/testing/fake-client.js";
import { NAMESPACES, SERVICE_ACCOUNTS, ServiceAccountsController } from "./serviceaccount-controller.js";

function setup(namespaces: Namespace[]): { fake: FakeClient; controller: ServiceAccountsController; drain: () => Promise<string[]> } {
  const fake = new FakeClient({ clock: new FakeClock(), objects: namespaces });
  const controller = new ServiceAccountsController({ client: fake, namespaces: fake.informer<Namespace>(NAMESPACES), serviceAccounts: fake.informer<ServiceAccount>(SERVICE_ACCOUNTS) });
  return { fake, controller, drain: () => drainQueue(controller.queue, (key) => controller.sync(key)) };
}

describe("ServiceAccountsController", () => {
  it("creates the default service account in every namespace but terminating ones", async () => {
    const { fake, drain } = setup([newNamespace("a"), newNamespace("b"), newNamespace("gone", { phase: "Terminating" })]);
    await drain();
    expect(fake.created<ServiceAccount>("serviceaccounts").map((sa) => `${sa.metadata.namespace ?? ""}/${sa.metadata.name ?? ""}`).sort()).toEqual(["a/default", "b/default"]);
  });

  it("leaves an existing account alone and recreates it when deleted", async () => {
    const { fake, controller, drain } = setup([newNamespace("a")]);
    fake.seed<ServiceAccount>({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default", namespace: "a" }, automountServiceAccountToken: false });
    await drain();
    expect(fake.actionsFor("create")).toHaveLength(0);
    fake.remove(SERVICE_ACCOUNTS, "a", "default");
    expect(controller.queue.len()).toBe(1);
    await drain();
    expect(fake.created("serviceaccounts")).toHaveLength(1);
    expect(fake.object<ServiceAccount>(SERVICE_ACCOUNTS, "a", "default")?.automountServiceAccountToken).toBeUndefined();
  });

  it("treats a create that finds the account already there as done", async () => {
    const { fake, controller } = setup([newNamespace("a")]);
    fake.informer<ServiceAccount>(SERVICE_ACCOUNTS).hold();
    await controller.sync("a");
    await controller.sync("a");
    expect(fake.actionsFor("create")).toHaveLength(2);
    expect(fake.objects(SERVICE_ACCOUNTS, "a")).toHaveLength(1);
  });
});
