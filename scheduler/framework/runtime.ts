// The framework runtime for one profile: instantiates the profile's plugins from the registry and runs them at
// each extension point (k8s framework/runtime/framework.go, trimmed to what kubelab's plugins use).
import { errorMessage } from "../../api/errors.js";
import type { Pod } from "../../api/types/index.js";
import {
  isFilterPlugin,
  isPostFilterPlugin,
  isPreFilterPlugin,
  isPreBindPlugin,
  isPreScorePlugin,
  isReservePlugin,
  isScorePlugin,
  MAX_NODE_SCORE,
  MIN_NODE_SCORE,
  StateKey,
  Status,
  type CycleState,
  type FilterPlugin,
  type FilterRunner,
  type Handle,
  type PostFilterPlugin,
  type PostFilterResult,
  type Plugin,
  type PreBindPlugin,
  type PreFilterPlugin,
  type PreScorePlugin,
  type ReservePlugin,
  type ScorePlugin,
} from "./interface.js";
import type { Diagnosis } from "./fit-error.js";
import type { NodeInfo } from "./node-info.js";
import type { Profile } from "./profile.js";
import type { Registry } from "./registry.js";

/** The Filter plugins left after PreFilter's Skips, resolved once per pod rather than once per node. */
const ACTIVE_FILTERS = new StateKey<readonly FilterPlugin[]>("framework/active-filters");

interface WeightedScorePlugin {
  plugin: ScorePlugin;
  weight: number;
}

export class Framework implements FilterRunner {
  readonly profileName: string;
  private readonly logger: Handle["logger"];
  private readonly postFilterPlugins: PostFilterPlugin[] = [];
  private readonly preFilterPlugins: PreFilterPlugin[] = [];
  private readonly filterPlugins: FilterPlugin[] = [];
  private readonly preScorePlugins: PreScorePlugin[] = [];
  private readonly scorePlugins: WeightedScorePlugin[] = [];
  private readonly reservePlugins: ReservePlugin[] = [];
  private readonly preBindPlugins: PreBindPlugin[] = [];

  /** Throws when the profile names a plugin the registry lacks, or one that does not implement its point. */
  constructor(profile: Profile, registry: Registry, handle: Handle) {
    this.profileName = profile.schedulerName;
    this.logger = handle.logger;
    const pluginHandle: Handle = { ...handle, framework: this, profileName: profile.schedulerName };
    const instances = new Map<string, Plugin>();
    const instance = (name: string): Plugin => {
      let p = instances.get(name);
      if (!p) {
        const factory = registry.get(name);
        if (!factory) throw new Error(`profile ${profile.schedulerName}: no plugin named ${name}`);
        p = factory(profile.pluginArgs.get(name), pluginHandle);
        instances.set(name, p);
      }
      return p;
    };
    for (const name of profile.filter) {
      const p = instance(name);
      if (!isFilterPlugin(p)) throw new Error(`profile ${profile.schedulerName}: plugin ${name} is not a filter plugin`);
      this.filterPlugins.push(p);
      if (isPreFilterPlugin(p)) this.preFilterPlugins.push(p);
    }
    for (const name of profile.postFilter) {
      const p = instance(name);
      if (!isPostFilterPlugin(p)) throw new Error(`profile ${profile.schedulerName}: plugin ${name} is not a postFilter plugin`);
      this.postFilterPlugins.push(p);
    }
    for (const name of profile.reserve) {
      const p = instance(name);
      if (!isReservePlugin(p)) throw new Error(`profile ${profile.schedulerName}: plugin ${name} is not a reserve plugin`);
      this.reservePlugins.push(p);
    }
    for (const name of profile.preBind) {
      const p = instance(name);
      if (!isPreBindPlugin(p)) throw new Error(`profile ${profile.schedulerName}: plugin ${name} is not a preBind plugin`);
      this.preBindPlugins.push(p);
    }
    for (const { name, weight } of profile.score) {
      const p = instance(name);
      if (!isScorePlugin(p)) throw new Error(`profile ${profile.schedulerName}: plugin ${name} is not a score plugin`);
      if (weight <= 0) continue;
      this.scorePlugins.push({ plugin: p, weight });
      if (isPreScorePlugin(p)) this.preScorePlugins.push(p);
    }
  }

  hasPostFilterPlugins(): boolean {
    return this.postFilterPlugins.length > 0;
  }

  /** The first PostFilter that succeeds (nominates a node) wins; else the last rejection, with its message. */
  runPostFilter(state: CycleState, pod: Readonly<Pod>, nodes: readonly NodeInfo[], diagnosis: Diagnosis): PostFilterResult {
    let last: PostFilterResult = { status: Status.unschedulable() };
    for (const p of this.postFilterPlugins) {
      let r: PostFilterResult;
      try {
        r = p.postFilter(state, pod, nodes, diagnosis);
      } catch (err) {
        r = { status: errorStatus(p, err) };
      }
      r.status.plugin = p.name;
      if (r.status.isSuccess() || r.status.code === "Error") return r;
      last = r;
    }
    return last;
  }

  /** Success, or the first failure (naming its plugin); the caller then runs runUnreserve. */
  runReserve(state: CycleState, pod: Readonly<Pod>, nodeName: string): Status {
    for (const p of this.reservePlugins) {
      const s = guard(p, () => p.reserve(state, pod, nodeName));
      if (!s.isSuccess()) {
        s.plugin = p.name;
        return s;
      }
    }
    return Status.SUCCESS;
  }

  /** Every Reserve plugin's Unreserve, in reverse order; a plugin that throws is logged, the others still run. */
  runUnreserve(state: CycleState, pod: Readonly<Pod>, nodeName: string): void {
    for (let i = this.reservePlugins.length - 1; i >= 0; i--) {
      const p = this.reservePlugins[i]!;
      try {
        p.unreserve(state, pod, nodeName);
      } catch (err) {
        this.logger.error({ err, plugin: p.name }, "Unreserve failed");
      }
    }
  }

  /** Success, or the first failure (an Error worded as Kubernetes': running PreBind plugin "X": ...). */
  async runPreBind(state: CycleState, pod: Readonly<Pod>, nodeName: string, signal?: AbortSignal): Promise<Status> {
    for (const p of this.preBindPlugins) {
      let s: Status;
      try {
        s = await p.preBind(state, pod, nodeName, signal);
      } catch (err) {
        s = Status.error(err);
      }
      if (s.isSuccess()) continue;
      const wrapped = s.code === "Error" ? Status.error(new Error(`running PreBind plugin "${p.name}": ${s.message()}`, { cause: s.error })) : s;
      wrapped.plugin = p.name;
      return wrapped;
    }
    return Status.SUCCESS;
  }

  hasScorePlugins(): boolean {
    return this.scorePlugins.length > 0;
  }

  /** Success, or the first rejection/error (naming its plugin). Skip marks that plugin's Filter as not needed. */
  runPreFilter(state: CycleState, pod: Readonly<Pod>, nodes: readonly NodeInfo[]): Status {
    for (const p of this.preFilterPlugins) {
      const s = guard(p, () => p.preFilter(state, pod, nodes));
      if (s.code === "Skip") {
        state.skipFilter.add(p.name);
        continue;
      }
      if (!s.isSuccess()) {
        // The rejecting plugin decides which cluster events may help the pod (queueing hints).
        s.plugin = p.name;
        return s;
      }
    }
    const skip = state.skipFilter;
    state.write(ACTIVE_FILTERS, skip.size === 0 ? this.filterPlugins : this.filterPlugins.filter((p) => !skip.has(p.name)));
    return Status.SUCCESS;
  }

  /** Success when every Filter passes; else the first non-Success status, naming its plugin. */
  runFilter(state: CycleState, pod: Readonly<Pod>, node: NodeInfo): Status {
    const plugins = state.read(ACTIVE_FILTERS) ?? this.filterPlugins.filter((p) => !state.skipFilter.has(p.name));
    let current: FilterPlugin | undefined;
    // One try around the loop rather than a closure per call: this runs for every plugin on every node.
    try {
      for (const p of plugins) {
        current = p;
        const s = p.filter(state, pod, node);
        // Skip is not a Filter outcome; it counts as a pass.
        if (s.code === "Success" || s.code === "Skip") continue;
        s.plugin = p.name;
        return s;
      }
    } catch (err) {
      return errorStatus(current, err);
    }
    return Status.SUCCESS;
  }

  runPreScore(state: CycleState, pod: Readonly<Pod>, nodes: readonly NodeInfo[]): Status {
    for (const p of this.preScorePlugins) {
      const s = guard(p, () => p.preScore(state, pod, nodes));
      if (s.code === "Skip") {
        state.skipScore.add(p.name);
        continue;
      }
      if (!s.isSuccess()) return s;
    }
    return Status.SUCCESS;
  }

  /**
   * The weighted sum of every Score plugin's normalized score, per node (`totals[i]` for `nodes[i]`). Throws when a
   * plugin throws or leaves a score outside 0..100.
   */
  runScore(state: CycleState, pod: Readonly<Pod>, nodes: readonly NodeInfo[]): number[] {
    const totals = new Array<number>(nodes.length).fill(0);
    for (const { plugin, weight } of this.scorePlugins) {
      if (state.skipScore.has(plugin.name)) continue;
      const scores = new Array<number>(nodes.length);
      for (let i = 0; i < nodes.length; i++) scores[i] = plugin.score(state, pod, nodes[i]!);
      plugin.normalizeScores?.(state, pod, nodes, scores);
      for (let i = 0; i < nodes.length; i++) {
        const s = scores[i]!;
        if (!(s >= MIN_NODE_SCORE && s <= MAX_NODE_SCORE)) throw new Error(`plugin ${plugin.name} returns an invalid score ${s} for node ${nodes[i]!.name}, it should be in the range [${MIN_NODE_SCORE}, ${MAX_NODE_SCORE}] after normalizing`);
        totals[i]! += s * weight;
      }
    }
    return totals;
  }
}

/** A plugin that throws reports Error, as a Go plugin returning an error would. */
function guard(p: Plugin, run: () => Status): Status {
  try {
    return run();
  } catch (err) {
    return errorStatus(p, err);
  }
}

function errorStatus(p: Plugin | undefined, err: unknown): Status {
  const name = p?.name ?? "framework";
  const s = Status.error(new Error(`running ${name}: ${errorMessage(err)}`, { cause: err }));
  s.plugin = name;
  return s;
}
