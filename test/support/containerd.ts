// Debian's containerd as a test's CRI runtime: its config.toml with every path (root, state, sockets, plugin dirs)
// inside the test's directory, so a test's containerd never meets the host's.

export interface ContainerdConfigOptions {
  /** The CRI plugin's sandbox image (it must be imported: no registry is reachable). */
  sandboxImage?: string;
  /**
   * containerd gives sandboxes oom_score_adj -998, which needs CAP_SYS_RESOURCE; where root lacks it, runc init fails
   * ("failed to update /proc/self/oom_score_adj: Permission denied"), so scores are kept no lower than containerd's.
   */
  restrictOomScoreAdj?: boolean;
  /** runc's binary and state root; setting them replaces the default runtime entry, so its type is named again. */
  runc?: { binary: string; root: string };
}

export function containerdConfig(dir: string, options: ContainerdConfigOptions = {}): string {
  const lines = [
    "version = 2",
    `root = "${dir}/root"`,
    `state = "${dir}/state"`,
    "[grpc]",
    `  address = "${dir}/containerd.sock"`,
    "[ttrpc]",
    `  address = "${dir}/containerd.sock.ttrpc"`,
    "[debug]",
    '  address = ""',
    "[metrics]",
    '  address = ""',
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = "${dir}/opt"`,
    '[plugins."io.containerd.grpc.v1.cri"]',
    `  sandbox_image = "${options.sandboxImage ?? "registry.k8s.io/pause:3.10"}"`,
    ...(options.restrictOomScoreAdj === true ? ["  restrict_oom_score_adj = true"] : []),
    '  [plugins."io.containerd.grpc.v1.cri".cni]',
    '    bin_dir = "/usr/lib/cni"',
    `    conf_dir = "${dir}/net.d"`,
  ];
  if (options.runc) {
    lines.push(
      '  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
      '    runtime_type = "io.containerd.runc.v2"',
      '  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
      `    BinaryName = "${options.runc.binary}"`,
      `    Root = "${options.runc.root}"`,
    );
  }
  return [...lines, ""].join("\n");
}
