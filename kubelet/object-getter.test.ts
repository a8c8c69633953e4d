import { describe, expect, it } from "vitest";
import { RESOURCES } from "../api/resources.js";
import type { ConfigMap } from "../api/types/index.js";
import type { RestClient } from "../client/rest.js";
import { FakeClock } from "../component-base/testing/fake-clock.js";
import { cachedGetter } from "./object-getter.js";

const CONFIGMAPS = RESOURCES.find((r) => r.group === "" && r.resource === "configmaps")!;

/** A client whose GETs stay pending until release() and are counted per name. */
function slowClient() {
  const calls: string[] = [];
  const waiting: (() => void)[] = [];
  const client: Pick<RestClient, "get"> = {
    get: <T>(_info: unknown, namespace: string | undefined, name: string): Promise<T> => {
      calls.push(`${namespace ?? ""}/${name}`);
      const cm: ConfigMap = { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace: namespace ?? "", resourceVersion: String(calls.length) }, data: { n: String(calls.length) } };
      return new Promise<T>((resolve) => waiting.push(() => { resolve(cm as T); }));
    },
  };
  return { client, calls, release: () => { for (const w of waiting.splice(0)) w(); } };
}

describe("cachedGetter", () => {
  it("shares one GET among lookups of the same object while it is under way", async () => {
    const { client, calls, release } = slowClient();
    const clock = new FakeClock();
    const get = cachedGetter<ConfigMap>(client, CONFIGMAPS, clock);
    const lookups = Array.from({ length: 50 }, () => get("default", "kube-root-ca.crt"));
    const other = get("default", "other");
    expect(calls).toEqual(["default/kube-root-ca.crt", "default/other"]);
    release();
    const values = await Promise.all(lookups);
    expect(new Set(values.map((v) => v?.data?.n))).toEqual(new Set(["1"]));
    expect((await other)?.data?.n).toBe("2");
  });

  it("reuses a read for 2 s, then reads again", async () => {
    const { client, calls, release } = slowClient();
    const clock = new FakeClock();
    const get = cachedGetter<ConfigMap>(client, CONFIGMAPS, clock);
    const first = get("default", "cm");
    release();
    await first;
    clock.step(1_999);
    await get("default", "cm");
    expect(calls).toHaveLength(1);
    clock.step(1);
    const again = get("default", "cm");
    release();
    expect((await again)?.data?.n).toBe("2");
    expect(calls).toHaveLength(2);
  });

  it("lets a failed GET fail every lookup that shared it, and the next lookup try again", async () => {
    let n = 0;
    const client: Pick<RestClient, "get"> = { get: () => Promise.reject(new Error(`down ${++n}`)) };
    const get = cachedGetter<ConfigMap>(client, CONFIGMAPS, new FakeClock());
    const a = get("default", "cm");
    const b = get("default", "cm");
    await expect(a).rejects.toThrow("down 1");
    await expect(b).rejects.toThrow("down 1");
    await expect(get("default", "cm")).rejects.toThrow("down 2");
  });
});
