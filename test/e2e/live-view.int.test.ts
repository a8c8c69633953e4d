// The live view in a real browser: ONE `kubelab up --nodes 2` (with its kubelab-ui on a free port) and headless
// Chromium (Debian's, driven by playwright-core) on the page the lab prints. The page must show the lab's nodes and
// pods, follow a pod deleted with kubectl and its replacement without a reload, show a component killed with
// `kubelab kill` restarting, act (scale, cordon) through its own buttons, show a pod's log and run a shell in it. It measures the delay from the
// server's watch event to the drawn frame and the page's weight, and saves a screenshot to test-artifacts/.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { distEntry, REPO_ROOT } from "../../lab/components/entries.js";
import { freePort } from "../../lab/process/ports.js";
import { labPrerequisites, TestLab } from "../../lab/up/throwaway.js";
import { waitFor } from "../support/apiserver.js";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = join(REPO_ROOT, "test-artifacts");

function skipReason(): string | undefined {
  const lab = labPrerequisites();
  if (!lab.ok) return lab.reason;
  if (!existsSync(CHROMIUM)) return `needs ${CHROMIUM} (apt-get install chromium; scripts/setup.sh installs it)`;
  if (!existsSync(distEntry("live-view")) || !existsSync(join(REPO_ROOT, "dist", "live-view", "web", "app.js"))) return "needs the live view built (npm run build)";
  return undefined;
}
const skip = skipReason();
if (skip !== undefined) console.warn(`live-view.int.test: skipped: ${skip}`);

const lab = new TestLab("ui");
const DEPLOYMENT = "kubernetes-bootcamp";
let url = "";
let context: BrowserContext | undefined;
let page: Page;
let userDataDir = "";

interface PodList {
  items: { metadata: { name: string }; status: { phase?: string } }[];
}

async function podNames(): Promise<string[]> {
  const list = JSON.parse(await lab.kubectlOk("get", "pods", "-l", `app=${DEPLOYMENT}`, "-o", "json")) as PodList;
  return list.items.map((p) => p.metadata.name).sort();
}

/** The names of the pods the page shows for the Deployment, ready or not. */
function pagePods(): Promise<string[]> {
  return page.evaluate<string[]>(`[...document.querySelectorAll('[data-pod^="default/${DEPLOYMENT}-"]')].map((e) => e.getAttribute("data-pod").slice("default/".length)).sort()`);
}

/** A page expression: how many of the Deployment's pods the page shows ready. */
const readyPods = `document.querySelectorAll('[data-pod^="default/${DEPLOYMENT}-"][data-ready="true"]').length`;

/** Waits until a JavaScript expression is true in the page. */
async function waitInPage(expression: string, timeoutMs: number): Promise<void> {
  await page.waitForFunction(expression, undefined, { timeout: timeoutMs, polling: 50 });
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

describe.skipIf(skip !== undefined)("the live view of a 2-node kubelab in headless Chromium", () => {
  beforeAll(async () => {
    try {
      const out = await lab.up(2, ["--ui-port", String(await freePort())]);
      const match = /Live view: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      if (!match?.[1]) throw new Error(`kubelab up printed no live view URL:\n${out}`);
      url = match[1];
      await lab.kubectlOk("create", "deployment", DEPLOYMENT, "--image=jocatalin/kubernetes-bootcamp:v1", "--replicas=3");
      userDataDir = mkdtempSync(join(tmpdir(), "kubelab-ui-chromium-"));
      context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: CHROMIUM,
        headless: true,
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        viewport: { width: 1600, height: 1000 },
      });
      page = context.pages()[0] ?? (await context.newPage());
    } catch (err) {
      await context?.close();
      await lab.tearDown();
      throw err;
    }
  }, 240_000);

  afterAll(async () => {
    await context?.close();
    if (userDataDir !== "") rmSync(userDataDir, { recursive: true, force: true });
    const down = await lab.tearDown();
    expect(down.code, `${down.stdout}\n${down.stderr}`).toBe(0);
    expect(await lab.leftovers()).toEqual([]);
  }, 180_000);

  it("renders the lab's nodes and the Deployment's pods, grouped under their Deployment", async () => {
    const response = await page.goto(url);
    expect(response?.status()).toBe(200);
    await waitInPage("window.kubelabView.connected", 10_000);
    await page.locator('[data-node-card="node-1"]').waitFor({ timeout: 10_000 });
    await page.locator('[data-node-card="node-2"]').waitFor({ timeout: 10_000 });
    const running = await waitFor("3 pods Running", async () => {
      const names = await podNames();
      return names.length === 3 ? names : undefined;
    }, 60_000, 250);
    await waitInPage(`${readyPods} === 3`, 90_000);
    expect(await pagePods()).toEqual(running);
    const owners = await page.evaluate<string[]>(`[...document.querySelectorAll(".owner-name")].map((e) => e.textContent)`);
    expect(owners).toContain(`Deployment/${DEPLOYMENT}`);
    await page.evaluate("window.loadedOnce = true");
  });

  it("drops a pod deleted with kubectl and shows its replacement, without a reload", async () => {
    const before = await pagePods();
    const victim = before[0]!;
    await lab.kubectlOk("delete", "pod", victim, "--wait=false");
    await waitInPage(`!document.querySelector('[data-pod="default/${victim}"]') && document.querySelectorAll('[data-pod^="default/${DEPLOYMENT}-"]').length === 3`, 60_000);
    const after = await pagePods();
    expect(after).not.toContain(victim);
    expect(after.filter((n) => !before.includes(n))).toHaveLength(1);
    expect(await page.evaluate("window.loadedOnce === true")).toBe(true);
  });

  it("shows a component killed with kubelab kill restarting, then running again", async () => {
    const row = page.locator('[data-component="kube-scheduler"]');
    await row.waitFor({ timeout: 10_000 });
    const restarts = Number(await row.getAttribute("data-restarts"));
    await lab.ok(["kill", "scheduler"]);
    await waitInPage(`Number(document.querySelector('[data-component="kube-scheduler"]')?.getAttribute("data-restarts")) > ${restarts}`, 20_000);
    await waitInPage(`document.querySelector('[data-component="kube-scheduler"]')?.getAttribute("data-state") === "running"`, 20_000);
  });

  it("scales the Deployment and cordons a node with its buttons, as kubectl would", async () => {
    await page.locator(`[data-deployment="default/${DEPLOYMENT}"] button[title="kubectl scale --replicas=4"]`).click();
    await waitFor("4 replicas wanted", async () => ((await lab.kubectlOk("get", "deployment", DEPLOYMENT, "-o", "jsonpath={.spec.replicas}")).trim() === "4" ? true : undefined), 10_000, 100);
    await waitInPage(`${readyPods} === 4`, 90_000);
    await page.locator('[data-node-card="node-2"] button[data-action="cordon"]').click();
    await waitFor("node-2 cordoned", async () => ((await lab.kubectlOk("get", "node", "node-2", "-o", "jsonpath={.spec.unschedulable}")).trim() === "true" ? true : undefined), 10_000, 100);
    await page.locator('[data-node-card="node-2"] .badge', { hasText: "SchedulingDisabled" }).waitFor({ timeout: 10_000 });
    await page.locator('[data-node-card="node-2"] button[data-action="cordon"]').click();
    await waitFor("node-2 uncordoned", async () => ((await lab.kubectlOk("get", "node", "node-2", "-o", "jsonpath={.spec.unschedulable}")).trim() === "" ? true : undefined), 10_000, 100);
  });

  it("shows a pod's log, and runs a shell in it through the apiserver's exec", async () => {
    const pod = (await pagePods())[0]!;
    await page.locator(`[data-pod="default/${pod}"] button[data-action="logs"]`).click();
    await waitInPage(`document.getElementById("logs-text").textContent.includes("Kubernetes Bootcamp App")`, 10_000);
    await page.locator('#logs button[data-action="close-logs"]').click();
    await page.locator(`[data-pod="default/${pod}"] button[data-action="exec"]`).click();
    await page.locator("#terminal-screen .xterm-rows").waitFor({ timeout: 10_000 });
    await page.locator("#terminal-screen").click();
    await page.keyboard.type("echo live-$((6*7))\n");
    await waitInPage(`document.querySelector("#terminal-screen .xterm-rows").textContent.includes("live-42")`, 15_000);
    await page.keyboard.type("exit\n");
    await waitInPage(`document.querySelector("#terminal-screen .xterm-rows").textContent.includes("[exited]")`, 10_000);
    await page.locator('#terminal button[data-action="close-terminal"]').click();
  });

  it("draws watch events within a few hundred milliseconds, and says how long and how heavy", async () => {
    // A burst to measure over: 5 more pods start (each a dozen changes: pod, events, deployment, endpoints), then go.
    await lab.kubectlOk("scale", "deployment", DEPLOYMENT, "--replicas=9");
    await waitInPage(`${readyPods} === 9`, 120_000);
    await lab.kubectlOk("scale", "deployment", DEPLOYMENT, "--replicas=4");
    await waitInPage(`document.querySelectorAll('[data-pod^="default/${DEPLOYMENT}-"]').length === 4`, 90_000);
    const delays = await page.evaluate<number[]>("window.kubelabView.delays");
    expect(delays.length).toBeGreaterThan(100);
    const serverDelays = await page.evaluate<number[]>("window.kubelabView.serverDelays");
    const p50 = percentile(delays, 50);
    const p99 = percentile(delays, 99);
    const resources = await page.evaluate<{ name: string; bytes: number }[]>(
      `[...performance.getEntriesByType("navigation"), ...performance.getEntriesByType("resource")].map((e) => ({ name: e.name, bytes: e.encodedBodySize }))`,
    );
    // The page as loaded: not the actions' answers, nor xterm.js, which loads when a terminal opens.
    const page0 = resources.filter((r) => !r.name.includes("/api/") && !r.name.endsWith("/xterm.mjs"));
    const kib = (list: readonly { bytes: number }[]): string => (list.reduce((sum, r) => sum + r.bytes, 0) / 1024).toFixed(1);
    console.log(
      `live view: watch event → drawn frame over ${delays.length} changes: p50 ${p50} ms, p99 ${p99} ms, max ${Math.max(...delays)} ms (in the server: p50 ${percentile(serverDelays, 50)} ms, p99 ${percentile(serverDelays, 99)} ms); ` +
        `page weight ${kib(page0)} KiB in ${page0.length} requests (${page0.map((r) => `${r.name.replace(url, "/")} ${(r.bytes / 1024).toFixed(1)}`).join(", ")}), ` +
        `${kib(resources.filter((r) => r.name.endsWith("/xterm.mjs")))} KiB more with a terminal`,
    );
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "live-view.png"), fullPage: true });
    expect(p99).toBeLessThan(1_000);
    expect(resources.every((r) => r.name.startsWith(url.slice(0, -1)))).toBe(true);
  });
});
