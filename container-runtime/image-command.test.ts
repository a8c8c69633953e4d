import { describe, expect, it } from "vitest";
import { ExitCalled, recordingIO } from "../component-base/testing/recording-io.js";
import type { ImageRecord } from "./images/store.js";
import { formatImageTable, humanSize, loadedLines, runImageCommand } from "./image-command.js";

const ID = `sha256:${"ab12".repeat(16)}`;
function record(repoTags: string[], size: number): ImageRecord {
  return { id: ID, manifestDigest: `sha256:${"cd".repeat(32)}`, repoTags, repoDigests: [], size, config: { architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } } };
}

describe("kubelab-runtime image", () => {
  it("prints docker load's lines: one per tag, the id for an untagged image", () => {
    expect(loadedLines([record(["docker.io/library/foo:1", "example.com/foo:2"], 1), record([], 1)])).toBe(
      `Loaded image: docker.io/library/foo:1\nLoaded image: example.com/foo:2\nLoaded image ID: ${ID}\n`,
    );
  });

  it("lists images as crictl does: a row per tag, 13 hex digits of the id, decimal sizes", () => {
    expect(formatImageTable([record(["docker.io/library/busybox:latest", "example.com/team/app:v1.2"], 1_234_567), record([], 999)])).toBe(
      [
        "REPOSITORY                  TAG      IMAGE ID        SIZE",
        "docker.io/library/busybox   latest   ab12ab12ab12a   1.235MB",
        "example.com/team/app        v1.2     ab12ab12ab12a   1.235MB",
        "<none>                      <none>   ab12ab12ab12a   999B",
        "",
      ].join("\n"),
    );
    expect(formatImageTable([])).toBe("REPOSITORY   TAG   IMAGE ID   SIZE\n");
  });

  it.each([
    [0, "0B"],
    [999, "999B"],
    [1000, "1kB"],
    [1500, "1.5kB"],
    [4_271_000, "4.271MB"],
    [2_000_000_000, "2GB"],
  ])("sizes %d bytes as %s", (bytes, text) => {
    expect(humanSize(bytes)).toBe(text);
  });

  it.each([
    [[], "a subcommand is required"],
    [["push"], 'unknown subcommand "image push"'],
    [["load"], "image load takes exactly one FILE"],
    [["load", "a.tar", "b.tar"], "image load takes exactly one FILE"],
    [["ls", "extra"], 'unexpected argument "extra"'],
    [["load", "a.tar", "--node", "n1"], "unknown flag: --node"],
    [["build"], "image build takes one of: dns"],
    [["build", "nginx"], "image build takes one of: dns"],
    [["build", "dns", "extra"], "image build takes one of: dns"],
  ])("refuses %j with exit code 2", async (argv, message) => {
    const io = recordingIO();
    await expect(runImageCommand(argv, io)).rejects.toEqual(new ExitCalled(2));
    expect(io.err).toContain(message);
  });

  it("prints its usage on --help", async () => {
    const io = recordingIO();
    await expect(runImageCommand(["--help"], io)).rejects.toEqual(new ExitCalled(0));
    expect(io.out).toContain("kubelab-runtime image load FILE [--root DIR]");
  });

  it("fails a missing file with exit code 1 and says which", async () => {
    const io = recordingIO();
    await expect(runImageCommand(["load", "/nonexistent/kubelab-image.tar", "--root", "/nonexistent/root"], io)).rejects.toEqual(new ExitCalled(1));
    expect(io.err).toMatch(/^Error: loading \/nonexistent\/kubelab-image.tar: .*no such file/);
  });
});
