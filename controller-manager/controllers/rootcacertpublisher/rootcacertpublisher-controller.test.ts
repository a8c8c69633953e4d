import { describe, expect, it } from "vitest";
import { newConfigMap, newNamespace } from "../../../api/testing/builders.js";
import type { ConfigMap, Namespace } from "../../../api/types/index.js";
import { FakeClock } from "../../../component-base/testing/fake-clock.js";
import { drainQueue } from "../../../client/testing/drain-queue.js";
import { FakeClient } from "../../../client/testing/fake-client.js";
import { NAMESPACES } from "../serviceaccount/serviceaccount-controller.js";
import { CONFIG_MAPS, DESCRIPTION, ROOT_CA_CONFIG_MAP, RootCACertPublisher } from "./rootcacertpublisher-controller.js";

const PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

function setup(namespaces: Namespace[], extra: ConfigMap[] = []): { fake: FakeClient; controller: RootCACertPublisher; drain: () => Promise<string[]> } {
  const fake = new FakeClient({ clock: new FakeClock(), objects: [...namespaces, ...extra] });
  const controller = new RootCACertPublisher({ client: fake, namespaces: fake.informer<Namespace>(NAMESPACES), configMaps: fake.informer<ConfigMap>(CONFIG_MAPS), rootCA: () => Promise.resolve(PEM) });
  return { fake, controller, drain: () => drainQueue(controller.queue, (key) => controller.sync(key)) };
}

describe("RootCACertPublisher", () => {
  it("publishes kube-root-ca.crt with the CA bundle in every namespace but terminating ones", async () => {
    const { fake, drain } = setup([newNamespace("a"), newNamespace("b", { phase: "Terminating" })]);
    await drain();
    const cm = fake.object<ConfigMap>(CONFIG_MAPS, "a", ROOT_CA_CONFIG_MAP);
    expect(cm?.data).toEqual({ "ca.crt": PEM });
    expect(cm?.metadata.annotations?.["kubernetes.io/description"]).toBe(DESCRIPTION);
    expect(fake.object(CONFIG_MAPS, "b", ROOT_CA_CONFIG_MAP)).toBeUndefined();
  });

  it("brings an edited bundle back, keeping keys a user added, and recreates a deleted one", async () => {
    const edited = newConfigMap(ROOT_CA_CONFIG_MAP, { namespace: "a", data: { "ca.crt": "tampered", "mine.txt": "x" } });
    const { fake, drain } = setup([newNamespace("a")], [edited]);
    await drain();
    expect(fake.object<ConfigMap>(CONFIG_MAPS, "a", ROOT_CA_CONFIG_MAP)?.data).toEqual({ "ca.crt": PEM, "mine.txt": "x" });
    fake.remove(CONFIG_MAPS, "a", ROOT_CA_CONFIG_MAP);
    await drain();
    expect(fake.object<ConfigMap>(CONFIG_MAPS, "a", ROOT_CA_CONFIG_MAP)?.data).toEqual({ "ca.crt": PEM });
  });

  it("writes nothing when the bundle is already current", async () => {
    const { fake, drain } = setup([newNamespace("a")]);
    await drain();
    const writes = fake.actions.filter((a) => a.verb !== "get" && a.verb !== "list" && a.verb !== "watch").length;
    await drain();
    fake.seed(newNamespace("a", { labels: { touched: "yes" } }));
    await drain();
    expect(fake.actions.filter((a) => a.verb !== "get" && a.verb !== "list" && a.verb !== "watch")).toHaveLength(writes);
  });
});
