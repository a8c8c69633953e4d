// Prints benchmark results: a readable table on stdout, then one final JSON line for machines.

export type Verdict = "ok" | "MISS" | "n/a";

export interface ReportRow {
  /** Which measurement the row belongs to (printed once per group). */
  section: string;
  figure: string;
  value: string;
  /** What real Kubernetes does on these machines (bench/README.md lists the figures), or what the value is compared against. */
  reference?: string;
  target?: string;
  verdict?: Verdict;
}

/** Checks a measured value against a target; NaN (not measured / failed) is a miss. */
export function verdict(ok: boolean, measured: number): Verdict {
  if (!Number.isFinite(measured)) return "MISS";
  return ok ? "ok" : "MISS";
}

export function fmt(value: number, decimals = 1, unit = ""): string {
  if (!Number.isFinite(value)) return "—";
  const text = value.toLocaleString("en-US", { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
  return unit ? `${text} ${unit}` : text;
}

export function fmtBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return "—";
  if (bytes >= 1024 * 1024) return `${fmt(bytes / (1024 * 1024), 1)} MiB`;
  if (bytes >= 1024) return `${fmt(bytes / 1024, 1)} KiB`;
  return `${bytes} B`;
}

export function renderTable(title: string, rows: readonly ReportRow[]): string {
  const header = ["", "figure", "value", "reference (k8s)", "target", ""];
  const body: string[][] = [];
  let lastSection = "";
  for (const row of rows) {
    body.push([
      row.section === lastSection ? "" : row.section,
      row.figure,
      row.value,
      row.reference ?? "",
      row.target ?? "",
      row.verdict && row.verdict !== "n/a" ? row.verdict : "",
    ]);
    lastSection = row.section;
  }
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  const out: string[] = [title, "=".repeat(title.length), line(header), rule];
  lastSection = "";
  for (const [i, cells] of body.entries()) {
    const section = rows[i]?.section ?? "";
    if (i > 0 && section !== lastSection) out.push("");
    out.push(line(cells));
    lastSection = section;
  }
  return out.join("\n");
}

/** One line of JSON; non-finite numbers become null (JSON.stringify's own behaviour). */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value);
}

/** Progress messages go to stderr so that stdout holds only the table and the JSON line. */
export function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}
