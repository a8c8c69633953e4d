// The three live charts: pods ready of all pods, the apiserver's request rate, and the pod start latency the server
// measured. uPlot is the global its minified build defines (/vendor/uplot.iife.min.js, served by the page's own
// server and loaded before the modules; its types come from the package's UMD declaration).
import type { Sample } from "./protocol.js";

interface Chart {
  plot: uPlot;
  values: (s: Sample) => (number | null)[];
}

const WIDTH = 320;
const HEIGHT = 120;

export class Charts {
  private readonly samples: Sample[] = [];
  private readonly charts: Chart[] = [];

  constructor(container: HTMLElement, private readonly keep = 300) {
    const chart = (title: string, series: { label: string; stroke: string; fill?: string }[], values: Chart["values"], unit: string): void => {
      const element = document.createElement("div");
      element.className = "chart";
      container.append(element);
      const plot = new uPlot(
        {
          title,
          width: WIDTH,
          height: HEIGHT,
          legend: { show: true },
          cursor: { drag: { x: false, y: false } },
          scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
          axes: [{ stroke: "#9aa4b2", grid: { stroke: "#2a3240" } }, { stroke: "#9aa4b2", size: 56, grid: { stroke: "#2a3240" }, values: (_u, ticks) => ticks.map((t) => `${t}${unit}`) }],
          series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.stroke, width: 2, ...(s.fill !== undefined ? { fill: s.fill } : {}), spanGaps: true }))],
        },
        [[], ...series.map(() => [])],
        element,
      );
      this.charts.push({ plot, values });
    };
    chart("pods ready", [{ label: "ready", stroke: "#3fb950", fill: "rgba(63,185,80,0.15)" }, { label: "all", stroke: "#8b949e" }], (s) => [s.podsReady, s.pods], "");
    chart("API requests", [{ label: "req/s", stroke: "#58a6ff", fill: "rgba(88,166,255,0.15)" }], (s) => [s.apiRequestRate === null ? null : Math.round(s.apiRequestRate * 10) / 10], "");
    chart("pod start (first seen → Ready)", [{ label: "median", stroke: "#d29922" }], (s) => [s.podStartMs === null ? null : Math.round(s.podStartMs)], "ms");
  }

  reset(samples: readonly Sample[]): void {
    this.samples.length = 0;
    this.samples.push(...samples.slice(-this.keep));
    this.draw();
  }

  add(sample: Sample): void {
    this.samples.push(sample);
    if (this.samples.length > this.keep) this.samples.shift();
    this.draw();
  }

  private draw(): void {
    const times = this.samples.map((s) => s.time);
    for (const chart of this.charts) {
      const columns = this.samples.map(chart.values);
      const series = (chart.plot.series.length - 1);
      const data: uPlot.AlignedData = [times, ...Array.from({ length: series }, (_, i) => columns.map((c) => c[i] ?? null))];
      chart.plot.setData(data);
    }
  }
}
