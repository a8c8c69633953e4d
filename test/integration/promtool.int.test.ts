// Debian's promtool checks the Prometheus configurations kubelab ships: dashboards/prometheus/prometheus.yml (compose)
// and the one `kubelab up --prometheus` writes, with its file_sd list, into a lab's home.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../lab/components/entries.js";
import { controlPlane, nodeComponents, nodePlan } from "../../lab/up/config.js";
import { scrapeTargets, writePrometheusConfig, writeTargets } from "../../lab/up/prometheus.js";
import { TEST_CONFIG } from "../../lab/up/testing.js";

const execFileAsync = promisify(execFile);
const hasPromtool = existsSync("/usr/bin/promtool");
if (!hasPromtool) console.warn("promtool.int.test: skipped: needs /usr/bin/promtool (apt-get install prometheus)");

describe.skipIf(!hasPromtool)("promtool check config", () => {
  const home = mkdtempSync(join(tmpdir(), "kubelab-promtool-"));
  afterAll(() => {
    rmSync(home, { recursive: true, force: true });
  });

  it("passes for the compose configuration", async () => {
    const { stdout } = await execFileAsync("promtool", ["check", "config", join(REPO_ROOT, "dashboards", "prometheus", "prometheus.yml")]);
    expect(stdout).toContain("SUCCESS");
  });

  it("passes for the lab's configuration and its file_sd target list", async () => {
    const config = { ...TEST_CONFIG, home, prometheusPort: 9090 };
    const planned = [...controlPlane(config), ...nodeComponents(config, nodePlan(config, 1))];
    writeTargets(home, scrapeTargets(config, planned, [{ name: "kube-dns-1", node: "node-1", podIP: "10.244.1.2" }]));
    const { stdout } = await execFileAsync("promtool", ["check", "config", writePrometheusConfig(config)]);
    expect(stdout).toContain("SUCCESS");
    expect(stdout).not.toContain("WARNING");
  });
});
