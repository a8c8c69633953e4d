// Debian's promtool checks the Prometheus configurations kubelab ships: dashboards/prometheus/prometheus*.yml (compose)
// and the one `kubelab up --prometheus` writes, with its file_sd list, into a lab's home.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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

  // Syntax only: the secure one's certificate files exist only in the compose cluster's pki volume.
  it.each(["prometheus.yml", "prometheus.insecure.yml"])("passes for the compose configuration %s", async (file) => {
    const { stdout } = await execFileAsync("promtool", ["check", "config", "--syntax-only", join(REPO_ROOT, "dashboards", "prometheus", file)]);
    expect(stdout).toContain("SUCCESS");
  });

  it("parses every dashboard panel's PromQL (as recording rules, which promtool checks offline)", async () => {
    const dir = join(REPO_ROOT, "dashboards", "grafana", "dashboards");
    const rules = readdirSync(dir)
      .filter((f) => f.endsWith(".json"))
      .flatMap((file) => (JSON.parse(readFileSync(join(dir, file), "utf8")) as { panels: { targets?: { expr: string }[] }[] }).panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)))
      .map((expr, i) => ({ record: `kubelab:panel_${i}`, expr }));
    const file = join(home, "panels.rules.json");
    // JSON is YAML: one group holding every query.
    writeFileSync(file, JSON.stringify({ groups: [{ name: "panels", rules }] }));
    const { stdout } = await execFileAsync("promtool", ["check", "rules", file]);
    expect(stdout).toContain(`SUCCESS: ${rules.length} rules found`);
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
