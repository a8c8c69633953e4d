import { describe, expect, it } from "vitest";
import { helpText, runCli, type CliIO, type Subcommand } from "./cli.js";

class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

function recordingIO(): CliIO & { out: string; err: string } {
  const io = {
    out: "",
    err: "",
    stdout: (text: string) => {
      io.out += text;
    },
    stderr: (text: string) => {
      io.err += text;
    },
    exit: (code: number): never => {
      throw new Exit(code);
    },
  };
  return io;
}

describe("kubelab CLI", () => {
  it("lists its subcommands on --help and exits 0", async () => {
    const io = recordingIO();
    await expect(runCli(["--help"], io)).rejects.toEqual(new Exit(0));
    expect(io.out).toContain("Usage:\n  kubelab <command> [flags]");
    expect(io.out).toMatch(/^ {2}hollow-nodes +Simulate N nodes/m);
  });

  it.each([[["frobnicate"]], [["--count", "3"]]])("refuses %j with the list of commands and exit code 2", async (argv) => {
    const io = recordingIO();
    await expect(runCli(argv, io)).rejects.toEqual(new Exit(2));
    expect(io.err).toContain(`Error: unknown command "${argv[0] ?? ""}" for "kubelab"`);
    expect(io.err).toContain(helpText());
  });

  it("requires a command", async () => {
    const io = recordingIO();
    await expect(runCli([], io)).rejects.toEqual(new Exit(2));
    expect(io.err).toContain("a command is required");
  });

  it("hands the remaining arguments to the subcommand", async () => {
    const seen: (readonly string[])[] = [];
    const fake: Subcommand = { name: "hollow-nodes", summary: "test", run: (argv) => { seen.push(argv); return Promise.resolve("ran"); } };
    await expect(runCli(["hollow-nodes", "--count", "3"], recordingIO(), [fake])).resolves.toBe("ran");
    expect(seen).toEqual([["--count", "3"]]);
  });
});
