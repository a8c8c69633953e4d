import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ExitCalled, recordingIO } from "../../component-base/testing/recording-io.js";
import { TEST_CONFIG } from "../up/testing.js";
import { writeState } from "../up/state.js";
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
    [["load", "a", "--bogus", "x"], "unknown flag: --bogus"],
  ])("refuses %j with exit code 2", (argv, message) => {
    const io = recordingIO();
    expect(() => runtimeArgs(argv, io)).toThrow(new ExitCalled(2));
    expect(io.err).toContain(message);
  });

  it("finds a lab node's runtime root with --node, and refuses a node or lab that is not there", () => {
    const home = mkdtempSync(path.join(tmpdir(), "kubelab-image-cmd-"));
    try {
      const config = { ...TEST_CONFIG, home };
      writeState({ config, nodes: ["node-1", "node-2"], createdHome: true });
      expect(runtimeArgs(["ls", "--node", "node-2", "--home", home], recordingIO())).toEqual(["image", "ls", "--root", path.join(home, "nodes", "node-2", "runtime")]);
      expect(runtimeArgs(["load", "/f.tar", "--node", "1", "--home", home], recordingIO())).toEqual(["image", "load", "/f.tar", "--root", path.join(home, "nodes", "node-1", "runtime")]);
      const io = recordingIO();
      expect(() => runtimeArgs(["ls", "--node", "node-3", "--home", home], io)).toThrow(new ExitCalled(1));
      expect(io.err).toContain("no node node-3");
      const none = recordingIO();
      expect(() => runtimeArgs(["ls", "--node", "node-1", "--home", path.join(home, "nowhere")], none)).toThrow(new ExitCalled(1));
      expect(none.err).toContain("no lab at");
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it("says on --help where the node's root is", () => {
    const io = recordingIO();
    expect(() => runtimeArgs(["load", "--help"], io)).toThrow(new ExitCalled(0));
    expect(io.out).toContain("--root string");
    expect(io.out).toContain("--node string");
  });
});
