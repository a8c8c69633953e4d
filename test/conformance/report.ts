// The subset file and ginkgo's JSON report (--ginkgo.json-report), read into one line per test.

/** The test names of a subset file: one full ginkgo name a line; blank lines and `#` comments are skipped. */
export function parseSubset(text: string): string[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
}

/**
 * A regular expression (RE2, as ginkgo's --focus takes it) matching these test names, each up to its end. (Not
 * anchored at the start: the text e2e.test matches a focus against does not begin with the name's first bracket.)
 */
export function focusRegex(names: readonly string[]): string {
  return `(${names.map((name) => name.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&")).join("|")})$`;
}

export type Outcome = "passed" | "failed" | "skipped" | "not run";

export interface TestResult {
  name: string;
  outcome: Outcome;
  /** The failure's message, first lines only (failed tests). */
  message?: string;
  /** Where it failed, file:line. */
  location?: string;
  seconds?: number;
}

interface SpecReportJson {
  ContainerHierarchyTexts?: string[] | null;
  LeafNodeText?: string;
  LeafNodeType?: string;
  State?: string;
  RunTime?: number;
  Failure?: { Message?: string; Location?: { FileName?: string; LineNumber?: number } };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function specReports(json: unknown): SpecReportJson[] {
  const reports = Array.isArray(json) ? json : [json];
  const specs: SpecReportJson[] = [];
  for (const report of reports) {
    if (!isRecord(report) || !Array.isArray(report.SpecReports)) continue;
    for (const spec of report.SpecReports) if (isRecord(spec)) specs.push(spec);
  }
  return specs;
}

/** The tests a report ran (not skipped), by full name: what a --focus run is held to. */
export function reportedNames(json: unknown): string[] {
  const names = specReports(json)
    .filter((spec) => (spec.LeafNodeType === undefined || spec.LeafNodeType === "It") && spec.State !== "skipped")
    .map((spec) => [...(spec.ContainerHierarchyTexts ?? []), spec.LeafNodeText ?? ""].join(" "));
  return [...new Set(names)];
}

/** Failures are a long message ending in a stack: its first lines say what went wrong. */
function shortMessage(message: string): string {
  const lines = message.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  return lines.slice(0, 3).join(" / ").slice(0, 400);
}

/**
 * Each test of `subset` with its outcome in `json` (a ginkgo JSON report); tests the report does not list are
 * "not run" (the suite stopped early, or the name matched no test of the binary).
 */
export function readResults(subset: readonly string[], json: unknown): TestResult[] {
  const byName = new Map<string, TestResult>();
  for (const spec of specReports(json)) {
    if (spec.LeafNodeType !== undefined && spec.LeafNodeType !== "It") continue;
    const name = [...(spec.ContainerHierarchyTexts ?? []), spec.LeafNodeText ?? ""].join(" ");
    const state = spec.State ?? "";
    const outcome: Outcome = state === "passed" ? "passed" : state === "skipped" || state === "pending" ? "skipped" : "failed";
    const result: TestResult = { name, outcome, ...(spec.RunTime !== undefined ? { seconds: spec.RunTime / 1e9 } : {}) };
    if (outcome === "failed") {
      const failure = spec.Failure ?? {};
      result.message = `${state}: ${shortMessage(failure.Message ?? "")}`;
      const file = failure.Location?.FileName;
      if (file !== undefined && file !== "") result.location = `${file.replace(/^.*\/test\/e2e\//, "test/e2e/")}:${failure.Location?.LineNumber ?? 0}`;
    }
    // Reports of several passes (parallel, then [Serial]) skip each other's tests: a run outcome wins over a skip.
    if (outcome === "skipped" && byName.has(name)) continue;
    byName.set(name, result);
  }
  return subset.map((name) => byName.get(name) ?? { name, outcome: "not run" });
}

/** One line a test ("PASS name", "FAIL name\n    why"), then the counts. */
export function formatResults(label: string, results: readonly TestResult[]): string {
  const tag: Record<Outcome, string> = { passed: "PASS", failed: "FAIL", skipped: "SKIP", "not run": "NOT RUN" };
  const lines = results.map((r) => {
    const head = `${tag[r.outcome]} ${r.name}${r.seconds !== undefined ? ` (${r.seconds.toFixed(1)} s)` : ""}`;
    return r.message !== undefined ? `${head}\n    ${r.message}${r.location !== undefined ? ` [${r.location}]` : ""}` : head;
  });
  const count = (o: Outcome) => results.filter((r) => r.outcome === o).length;
  lines.push(`${label}: ${count("passed")} passed, ${count("failed")} failed, ${count("skipped")} skipped, ${count("not run")} not run, of ${results.length}`);
  return lines.join("\n");
}
