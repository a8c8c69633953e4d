// The Grafana dashboards and their provisioning agree: every panel and query uses the provisioned Prometheus
// datasource, ids and uids are unique, panels fit Grafana's 24-column grid. (Whether the queries have data is
// test/e2e/metrics.int.test.ts's job; whether they parse, test/integration/promtool.int.test.ts's.)
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { REPO_ROOT } from "../../lab/components/entries.js";

interface Target {
  refId: string;
  expr: string;
  datasource: { type: string; uid: string };
}

interface Panel {
  id: number;
  title: string;
  type: string;
  datasource: { type: string; uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets: Target[];
}

interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
}

const dir = join(REPO_ROOT, "dashboards", "grafana");
const files = readdirSync(join(dir, "dashboards")).filter((f) => f.endsWith(".json"));
const dashboards = files.map((f) => JSON.parse(readFileSync(join(dir, "dashboards", f), "utf8")) as Dashboard);
const datasources = (parse(readFileSync(join(dir, "provisioning", "datasources", "prometheus.yml"), "utf8")) as { datasources: { uid: string; type: string }[] }).datasources;

describe("the Grafana dashboards", () => {
  it("are the eight of the issue, with unique uids", () => {
    expect(dashboards.map((d) => d.title).sort()).toEqual(["API server", "Cluster overview", "Controllers", "DNS", "Kubelet", "Scheduler", "Self-healing timeline", "kube-proxy"]);
    expect(new Set(dashboards.map((d) => d.uid)).size).toBe(dashboards.length);
  });

  it.each(dashboards.map((d) => [d.title, d] as const))("%s queries the provisioned Prometheus from panels that fit the grid", (_title, dashboard) => {
    const provisioned = datasources.map((d) => `${d.type}/${d.uid}`);
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    for (const panel of dashboard.panels) {
      expect(provisioned).toContain(`${panel.datasource.type}/${panel.datasource.uid}`);
      expect(panel.gridPos.x + panel.gridPos.w).toBeLessThanOrEqual(24);
      expect(panel.targets.length).toBeGreaterThan(0);
      for (const target of panel.targets) {
        expect(provisioned).toContain(`${target.datasource.type}/${target.datasource.uid}`);
        expect(target.expr.trim()).not.toBe("");
      }
    }
  });
});
