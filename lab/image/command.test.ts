import path from "node:path";
import { describe, expect, it } from "vitest";
import { ExitCalled, recordingIO } from "../../component-base/testing/recording-io.js";
import { DEFAULT_RUNTIME_ROOT, runtimeArgs } from "./command.js";

describe("kubelab image", () => {
  it("runs kubelab-runtime image load with the absolute FILE and the node's root", () => {
    expect(runtimeArgs(["load", "foo.tar", "--root", "/tmp/node-1"], recordingIO())).toEqual(["image", "load", path.resolve("foo.tar"), "--root", "/tmp/node-1"]);
    expect(runtimeArgs(["load", "/x/foo.tar"], recordingIO())).toEqual(["image", "load", "/x/foo.tar", "--root", DEFAULT_RUNTIME_ROOT]);
    expect(runtimeArgs(["ls", "--root=/r"], recordingIO())).toEqual(["image", "ls", "--root", "/r"]);
  });

  it.each([
    [[], "a subcommand is required"],
    [["rm", "x"], 'unknown subcommand "image rm"'],
    [["load"], "image load takes exactly one FILE"],
    [["load", "a", "b"], "image load takes exactly one FILE"],
    [["load", "a", "--node", "node-1"], "unknown flag: --node"],
  ])("refuses %j with exit code 2", (argv, message) => {
    const io = recordingIO();
    expect(() => runtimeArgs(argv, io)).toThrow(new ExitCalled(2));
    expect(io.err).toContain(message);
  });

  it("says on --help where the node's root is", () => {
    const io = recordingIO();
    expect(() => runtimeArgs(["load", "--help"], io)).toThrow(new ExitCalled(0));
    expect(io.out).toContain("--root string");
    expect(io.out).toContain("Until `kubelab up` names nodes");
  });
});
