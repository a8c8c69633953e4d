// Reading `iptables-save` output: per table, the chains (built-in ones with their policy) and the rules in order,
// each rule as iptables-save printed it ("-A CHAIN ..."), which iptables-restore accepts back verbatim (so "-D" with
// the same text deletes exactly that rule).

export interface SavedTable {
  /** Chain name → policy ("-" for user-defined chains). */
  chains: Map<string, string>;
  rules: string[];
}

export type SavedTables = Map<string, SavedTable>;

export function parseIptablesSave(text: string): SavedTables {
  const tables: SavedTables = new Map();
  let current: SavedTable | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trimEnd();
    if (line === "" || line.startsWith("#")) continue;
    if (line.startsWith("*")) {
      current = { chains: new Map(), rules: [] };
      tables.set(line.slice(1), current);
    } else if (line === "COMMIT") {
      current = undefined;
    } else if (current && line.startsWith(":")) {
      const [name = "", policy = "-"] = line.slice(1).split(" ");
      current.chains.set(name, policy);
    } else if (current && line.startsWith("-A ")) {
      current.rules.push(line);
    }
  }
  return tables;
}

/** The chain a rule ("-A CHAIN ...") is in. */
export function ruleChain(rule: string): string {
  return rule.split(" ")[1] ?? "";
}

/** The target a rule jumps to ("-j TARGET"), if any. */
export function ruleTarget(rule: string): string | undefined {
  const words = rule.split(" ");
  const i = words.indexOf("-j");
  return i >= 0 ? words[i + 1] : undefined;
}
