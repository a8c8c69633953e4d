import { describe, expect, it } from "vitest";
import { ExitCalled, recordingIO } from "../component-base/testing/recording-io.js";
import { helpText, runCli, type Subcommand } from "./cli.js";

describe("kubelab CLI", () => {
  it("lists its subcommands on --help and exits 0", async () => {
    const io = recordingIO();
    await expect(runCli(["--help"], io)).rejects.toEqual(new ExitCalled(0));
    expect(io.out).toContain("Usage:\n  kubelab <command> [flags]");
    expect(io.out).toMatch(/^ {2}hollow-nodes +Run N kubelets/m);
  });

  it.each([[["frobnicate"]], [["--count", "3"]]])("refuses %j with the list of commands and exit code 2", async (argv) => {
    const io = recordingIO();
    await expect(runCli(argv, io)).rejects.toEqual(new ExitCalled(2));
    expect(io.err).toContain(`Error: unknown command "${argv[0] ?? ""}" for "kubelab"`);
    expect(io.err).toContain(helpText());
  });

  it("requires a command", async () => {
    const io = recordingIO();
    await expect(runCli([], io)).rejects.toEqual(new ExitCalled(2));
    expect(io.err).toContain("a command is required");
  });

  it("hands the remaining arguments to the subcommand", async () => {
    const seen: (readonly string[])[] = [];
    const fake: Subcommand = { name: "hollow-nodes", summary: "test", run: (argv) => { seen.push(argv); return Promise.resolve("ran"); } };
    await expect(runCli(["hollow-nodes", "--count", "3"], recordingIO(), [fake])).resolves.toBe("ran");
    expect(seen).toEqual([["--count", "3"]]);
  });
});
