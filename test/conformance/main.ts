// `node dist/test/conformance/main.js`: Kubernetes' own e2e conformance tests (a subset that needs no container
// process, test/conformance/subset.txt) against a fresh cluster on hollow nodes, with kubelab's control plane or the
// real v1.26.1 one; prints PASS/FAIL per test. A tool run by hand (test/conformance/README.md), not part of `npm test`.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync, createWriteStream } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { errorMessage } from "../../api/errors.js";
import { REPO_ROOT } from "../../lab/components/entries.js";
import { ProcessOwner, teardownOnSignals } from "../../lab/process/owner.js";
import { missingPeerBinaries, startConformanceCluster, type ControlPlane } from "./cluster.js";
import { focusRegex, formatResults, parseSubset, readResults, reportedNames } from "./report.js";

const USAGE = `usage: node dist/test/conformance/main.js [--control-plane kubelab|real] [--subset FILE] [--focus REGEX]
  [--nodes N] [--procs N] [--e2e PATH] [--ginkgo PATH] [--report-dir DIR] [--timeout DURATION]
The real control plane and the default e2e binary come from KUBELAB_PEERS (bin/kube-apiserver, kube-scheduler,
kube-controller-manager, e2e.test, ginkgo); --procs > 1 runs the suite in parallel through the ginkgo CLI.`;

interface RunOptions {
  controlPlane: ControlPlane;
  peersDir: string;
  subset: string[];
  /** A regex of tests to run instead of the subset. */
  focus?: string;
  nodes: number;
  procs: number;
  e2e: string;
  ginkgo: string;
  reportDir: string;
  timeout: string;
}

function options(argv: string[]): RunOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      "control-plane": { type: "string", default: "kubelab" },
      subset: { type: "string", default: join(REPO_ROOT, "test", "conformance", "subset.txt") },
      focus: { type: "string" },
      nodes: { type: "string", default: "3" },
      procs: { type: "string", default: "1" },
      e2e: { type: "string" },
      ginkgo: { type: "string" },
      "report-dir": { type: "string" },
      timeout: { type: "string", default: "90m" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const controlPlane = values["control-plane"];
  if (controlPlane !== "kubelab" && controlPlane !== "real") throw new Error(`--control-plane must be kubelab or real, not ${controlPlane}`);
  const peersDir = resolve(process.env.KUBELAB_PEERS ?? "");
  const subset = values.focus !== undefined ? [] : parseSubset(readFileSync(values.subset, "utf8"));
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  return {
    controlPlane,
    peersDir,
    subset,
    ...(values.focus !== undefined ? { focus: values.focus } : {}),
    nodes: Number(values.nodes),
    procs: Number(values.procs),
    e2e: values.e2e ?? join(peersDir, "bin", "e2e.test"),
    ginkgo: values.ginkgo ?? join(peersDir, "bin", "ginkgo"),
    reportDir: resolve(values["report-dir"] ?? join("/tmp", `kubelab-conformance-${controlPlane}-${stamp}`)),
    timeout: values.timeout,
  };
}

/**
 * One pass of the suite: the tests `focus` selects minus those `skip` does, on `procs` ginkgo processes.
 * Kubernetes v1.26 marks tests that must run alone only by "[Serial]" in their names (Kubernetes' CI runs them in a
 * job of their own), which ginkgo's parallel scheduler does not know: a parallel run is a pass without them, then a
 * pass of only them on one process.
 */
interface SuitePass {
  focus: string;
  skip?: string;
  procs: number;
  jsonReport: string;
}

const SERIAL = "\\[Serial\\]";

function suitePasses(run: RunOptions): SuitePass[] {
  const report = (name: string) => join(run.reportDir, name);
  if (run.procs <= 1) return [{ focus: run.focus ?? focusRegex(run.subset), procs: 1, jsonReport: report("report.json") }];
  if (run.focus === undefined) {
    const serial = run.subset.filter((name) => name.includes("[Serial]"));
    const parallel = run.subset.filter((name) => !name.includes("[Serial]"));
    return [
      ...(parallel.length > 0 ? [{ focus: focusRegex(parallel), procs: run.procs, jsonReport: report("report-parallel.json") }] : []),
      ...(serial.length > 0 ? [{ focus: focusRegex(serial), procs: 1, jsonReport: report("report-serial.json") }] : []),
    ];
  }
  return [
    { focus: run.focus, skip: SERIAL, procs: run.procs, jsonReport: report("report-parallel.json") },
    // The focus and [Serial] both in the name, in either order (RE2 has no lookahead).
    { focus: `(?:${run.focus}).*${SERIAL}|${SERIAL}.*(?:${run.focus})`, procs: 1, jsonReport: report("report-serial.json") },
  ];
}

/** Runs the e2e binary (through ginkgo when parallel) to its end; its output is added to e2e.log. Resolves its exit code. */
function runSuite(run: RunOptions, kubeconfig: string, pass: SuitePass): Promise<number> {
  const { focus, jsonReport } = pass;
  const suiteArgs = [
    `--kubeconfig=${kubeconfig}`,
    "--provider=skeleton",
    `--report-dir=${run.reportDir}`,
    // The suite's kubectl tests read the output of the kubectl of their version (build-e2e.sh builds it).
    `--kubectl-path=${existsSync(join(run.peersDir, "bin", "kubectl")) ? join(run.peersDir, "bin", "kubectl") : "kubectl"}`,
    // Hollow nodes run no images: nothing is pulled, and no node-level image prefetch is wanted.
    "--prepull-images=false",
  ];
  const ginkgoArgs = [`--focus=${focus}`, ...(pass.skip !== undefined ? [`--skip=${pass.skip}`] : []), "--no-color", `--timeout=${run.timeout}`, "--v"];
  // The ginkgo CLI takes a report's path relative to the binary's folder unless --output-dir says where.
  const [command, args] =
    pass.procs > 1
      ? [run.ginkgo, [`--procs=${pass.procs}`, ...ginkgoArgs, `--output-dir=${dirname(jsonReport)}`, `--json-report=${basename(jsonReport)}`, run.e2e, "--", ...suiteArgs]]
      : [run.e2e, [...ginkgoArgs.map((a) => a.replace(/^--/, "--ginkgo.")), `--ginkgo.json-report=${jsonReport}`, ...suiteArgs]];
  const log = createWriteStream(join(run.reportDir, "e2e.log"), { flags: "a" });
  return new Promise((resolvePromise) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, KUBECONFIG: kubeconfig } });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    // A progress line per finished test, so that a long run shows it is alive.
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      for (const line of chunk.split("\n")) if (line.startsWith("•")) process.stdout.write(`${line.slice(0, 160)}\n`);
    });
    child.on("error", (err) => {
      log.write(`\n${err.message}\n`);
      resolvePromise(127);
    });
    child.on("close", (code) => {
      log.end();
      resolvePromise(code ?? 1);
    });
  });
}

async function main(argv: string[]): Promise<number> {
  const run = options(argv);
  const missing = [run.e2e, ...(run.procs > 1 ? [run.ginkgo] : []), ...(run.controlPlane === "real" ? missingPeerBinaries(run.peersDir) : [])].filter((p) => !existsSync(p));
  if (missing.length > 0) {
    process.stderr.write(`missing: ${missing.join(", ")} (set KUBELAB_PEERS; test/conformance/README.md says how to build e2e.test)\n`);
    return 2;
  }
  mkdirSync(run.reportDir, { recursive: true });
  const owner = new ProcessOwner({ logDir: run.reportDir });
  teardownOnSignals();
  try {
    process.stdout.write(`starting a ${run.controlPlane} control plane with ${run.nodes} hollow nodes (logs in ${run.reportDir})\n`);
    const cluster = await startConformanceCluster(owner, { controlPlane: run.controlPlane, peersDir: run.peersDir, nodes: run.nodes, workDir: run.reportDir });
    const focus = run.focus ?? focusRegex(run.subset);
    process.stdout.write(`running ${run.focus !== undefined ? `--focus ${focus}` : `${run.subset.length} tests`} against ${cluster.url}\n`);
    let code = 0;
    const reports: unknown[] = [];
    for (const pass of suitePasses(run)) {
      code = Math.max(code, await runSuite(run, cluster.kubeconfig, pass));
      const json: unknown = existsSync(pass.jsonReport) ? JSON.parse(readFileSync(pass.jsonReport, "utf8")) : [];
      reports.push(...(Array.isArray(json) ? (json as unknown[]) : [json]));
    }
    const json: unknown = reports;
    const results = readResults(run.focus !== undefined ? reportedNames(json) : run.subset, json);
    const text = formatResults(`${run.controlPlane} control plane`, results);
    writeFileSync(join(run.reportDir, "results.txt"), `${text}\n`);
    process.stdout.write(`${text}\n(e2e.test exited ${code}; its output is ${join(run.reportDir, "e2e.log")})\n`);
    return results.every((r) => r.outcome === "passed") ? 0 : 1;
  } finally {
    await owner.teardown();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`conformance: ${errorMessage(err)}\n`);
    process.exit(1);
  },
);
