import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEtcd, type EtcdHandle } from "./etcd.js";

describe("the etcd test helper", () => {
  let etcd: EtcdHandle;
  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await etcd.destroy();
  });

  it("starts a real etcd that answers its health endpoint", async () => {
    const res = await fetch(`${etcd.endpoint}/health`);
    const body = (await res.json()) as { health: string };
    expect(body.health).toBe("true");
  });
});
