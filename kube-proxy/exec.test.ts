import { describe, expect, it } from "vitest";
import { execRunner, runChecked } from "./exec.js";

describe("execRunner", () => {
  it("feeds stdin, returns stdout, stderr and the exit code without throwing on failure", async () => {
    const r = execRunner();
    expect(await r.run(["sh", "-c", "cat; echo err >&2; exit 3"], "in\n")).toEqual({ code: 3, stdout: "in\n", stderr: "err\n" });
    await expect(runChecked(r, ["sh", "-c", "echo nope >&2; exit 1"])).rejects.toThrow(/exited 1: nope/);
    await expect(r.run(["/nonexistent/kproxy-tool"])).rejects.toThrow();
  });

  it("runs through a prefix (how `ip netns exec <ns>` is put in front)", async () => {
    expect((await execRunner(["env", "KPROXY_TEST=1"]).run(["sh", "-c", "echo $KPROXY_TEST"])).stdout).toBe("1\n");
  });
});
