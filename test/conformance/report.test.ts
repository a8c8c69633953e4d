import { describe, expect, it } from "vitest";
import { focusRegex, formatResults, parseSubset, readResults, reportedNames } from "./report.js";

const A = "[sig-apps] Deployment deployment should support rollover [Conformance]";
const B = "[sig-api-machinery] Watchers should observe add, update, and delete watch notifications on configmaps [Conformance]";
const C = "[sig-cli] Kubectl client Kubectl version should check is all data is printed  [Conformance]";

/** A ginkgo v2 JSON report as e2e.test --ginkgo.json-report writes it (the fields read here). */
const REPORT = [
  {
    SuiteDescription: "Kubernetes e2e suite",
    SpecReports: [
      { LeafNodeType: "SynchronizedBeforeSuite", State: "passed", RunTime: 1e9 },
      { ContainerHierarchyTexts: ["[sig-apps] Deployment"], LeafNodeText: "deployment should support rollover [Conformance]", LeafNodeType: "It", State: "passed", RunTime: 12.5e9 },
      {
        ContainerHierarchyTexts: ["[sig-api-machinery] Watchers"],
        LeafNodeText: "should observe add, update, and delete watch notifications on configmaps [Conformance]",
        LeafNodeType: "It",
        State: "failed",
        RunTime: 3e9,
        Failure: { Message: "Expected\n    <int>: 1\nto equal\n    <int>: 2\n\nmore", Location: { FileName: "/go/src/k8s.io/kubernetes/test/e2e/apimachinery/watch.go", LineNumber: 97 } },
      },
      { ContainerHierarchyTexts: ["[sig-storage] Other"], LeafNodeText: "is not asked for", LeafNodeType: "It", State: "skipped" },
    ],
  },
];

describe("the conformance subset and report", () => {
  it("reads a subset file: one name a line, comments and blank lines skipped", () => {
    expect(parseSubset(`# a comment\n${A}\n\n  ${B}  \n`)).toEqual([A, B]);
  });

  it("focuses on exactly the named tests, their regex metacharacters taken literally", () => {
    const focus = new RegExp(focusRegex([A, C]));
    expect(focus.test(A)).toBe(true);
    expect(focus.test(C)).toBe(true);
    expect(focus.test(B)).toBe(false);
    expect(focus.test(`${A} and more`)).toBe(false);
    expect(focus.test(A.replace("[Conformance]", "XConformance]"))).toBe(false);
  });

  it("gives each subset test its outcome, the failure's first lines and place, and 'not run' for a missing one", () => {
    const results = readResults([A, B, C], REPORT);
    expect(results[0]).toEqual({ name: A, outcome: "passed", seconds: 12.5 });
    expect(results[1]).toMatchObject({ name: B, outcome: "failed", location: "test/e2e/apimachinery/watch.go:97" });
    expect(results[1]?.message).toBe("failed: Expected / <int>: 1 / to equal");
    expect(results[2]).toEqual({ name: C, outcome: "not run" });
    const text = formatResults("kubelab control plane", results);
    expect(text.split("\n")[0]).toBe(`PASS ${A} (12.5 s)`);
    expect(text).toContain(`FAIL ${B} (3.0 s)\n    failed: Expected`);
    expect(text).toContain(`NOT RUN ${C}`);
    expect(text.endsWith("kubelab control plane: 1 passed, 1 failed, 0 skipped, 1 not run, of 3")).toBe(true);
  });

  it("merges the reports of a parallel and a [Serial] pass: a test skipped in one pass keeps its outcome from the other", () => {
    const skippedAll = { SpecReports: REPORT[0]!.SpecReports.map((spec) => ("LeafNodeText" in spec ? { ...spec, State: "skipped", Failure: undefined } : spec)) };
    const serialPass = { SpecReports: [{ ContainerHierarchyTexts: ["[sig-cli] Kubectl client Kubectl version"], LeafNodeText: "should check is all data is printed  [Conformance]", LeafNodeType: "It", State: "passed" }] };
    const results = readResults([A, B, C], [...REPORT, skippedAll, serialPass]);
    expect(results.map((r) => r.outcome)).toEqual(["passed", "failed", "passed"]);
    expect(reportedNames([...REPORT, skippedAll, serialPass])).toEqual([A, B, C]);
  });

  it("lists the tests a report ran, for a --focus run", () => {
    expect(reportedNames(REPORT)).toEqual([A, B]);
    expect(reportedNames({ nothing: true })).toEqual([]);
  });
});
