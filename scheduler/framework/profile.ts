// A scheduling profile as the framework consumes it: which plugins run at each extension point, in what order,
// with what score weight and args. Parsing and defaulting a configuration into profiles is the scheduler's
// config, not the framework's.

export interface WeightedPlugin {
  name: string;
  weight: number;
}

export interface Profile {
  schedulerName: string;
  /** Filter plugins in the order they run (their PreFilter runs first, in the same order). */
  filter: string[];
  /** PostFilter plugins (preemption), run in order when no node passes Filter. */
  postFilter: string[];
  /** Reserve plugins, run in order on the chosen node (Unreserve in reverse order on failure). */
  reserve: string[];
  /** PreBind plugins, run in order before the pod is bound. */
  preBind: string[];
  /** Score plugins and weights (their PreScore runs first). */
  score: WeightedPlugin[];
  /** pluginConfig[].args by plugin name. */
  pluginArgs: Map<string, unknown>;
}
