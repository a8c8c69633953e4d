// A ControllerContext for unit tests: a recording FakeClient, a real InformerFactory over the fake's list/watch, a
// FakeRecorder per component, a FakeClock, a fresh metrics registry and default flags. Tests that call sync()
// directly usually build the controller from its options with FakeInformers instead; this context is for tests of
// a factory or of run().
import type { KubeObject } from "../../../api/meta.js";
import { InformerFactory } from "../../../client/informer.js";
import { FakeClient } from "../../../client/testing/fake-client.js";
import { FakeRecorder } from "../../../client/testing/fake-recorder.js";
import { silentLogger } from "../../../component-base/logging.js";
import { createRegistry, type Registry } from "../../../component-base/metrics.js";
import { FakeClock } from "../../../component-base/testing/fake-clock.js";
import { defaultControllerManagerConfig } from "../../options.js";
import type { ControllerContext, ControllerManagerConfig } from "../types.js";

export interface TestContextOptions {
  objects?: readonly KubeObject[];
  config?: Partial<ControllerManagerConfig>;
  clock?: FakeClock;
}

export interface TestContext {
  context: ControllerContext;
  client: FakeClient;
  clock: FakeClock;
  registry: Registry;
  /** The recorder handed out for `component` (created on first use). */
  recorder: (component: string) => FakeRecorder;
}

export function newTestContext(opts: TestContextOptions = {}): TestContext {
  const clock = opts.clock ?? new FakeClock();
  const client = new FakeClient({ clock, ...(opts.objects ? { objects: opts.objects } : {}) });
  const registry = createRegistry({ defaultMetrics: false });
  const recorders = new Map<string, FakeRecorder>();
  const recorder = (component: string): FakeRecorder => {
    let r = recorders.get(component);
    if (!r) {
      r = new FakeRecorder();
      recorders.set(component, r);
    }
    return r;
  };
  const context: ControllerContext = {
    client,
    informers: new InformerFactory({ client, clock, freezeObjects: true }),
    recorder,
    logger: silentLogger(),
    metrics: registry,
    clock,
    config: { ...defaultControllerManagerConfig(), ...opts.config },
  };
  return { context, client, clock, registry, recorder };
}
