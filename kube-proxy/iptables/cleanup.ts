// `kube-proxy --cleanup`: removes what kube-proxy put on the node (the jumps from the built-in chains, then its
// chains, flushed and deleted) in one iptables-restore, and nothing else: others' chains and rules stay.
import type { CommandRunner } from "../exec.js";
import { runChecked } from "../exec.js";
import { isOwnChain, KUBE_FIREWALL, type Table } from "./chains.js";
import { parseIptablesSave, ruleChain, ruleTarget, type SavedTables } from "./save.js";

const BUILTIN_CHAINS = new Set(["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"]);

/** The userspace mode's chains (0.18's portals), removed by --cleanup too. */
export const USERSPACE_CHAINS: Record<Table, readonly string[]> = {
  nat: ["KUBE-PORTALS-CONTAINER", "KUBE-PORTALS-HOST", "KUBE-NODEPORT-CONTAINER", "KUBE-NODEPORT-HOST"],
  filter: [],
};

export function isUserspaceChain(table: Table, chain: string): boolean {
  return USERSPACE_CHAINS[table].includes(chain);
}

/** A chain of either proxy mode's. */
export function isProxyChain(table: Table, chain: string): boolean {
  return isOwnChain(table, chain) || isUserspaceChain(table, chain);
}

/** KUBE-FIREWALL's guard rule, as the iptables mode writes it (rules.ts) and iptables-save shows it. */
const LOCALNET_GUARD_COMMENT = "block incoming localnet connections";

/**
 * What --cleanup removes: both modes' chains, and KUBE-FIREWALL when it holds nothing but the localnet guard (the
 * chain Kubernetes shares with the kubelet; a KUBE-FIREWALL with other rules is somebody else's and stays).
 */
export function cleanupOwned(saved: SavedTables): (table: Table, chain: string) => boolean {
  const guard = (saved.get("filter")?.rules ?? []).filter((r) => ruleChain(r) === KUBE_FIREWALL);
  const firewallIsOurs = guard.length > 0 && guard.every((r) => r.includes(LOCALNET_GUARD_COMMENT));
  return (table, chain) => isProxyChain(table, chain) || (firewallIsOurs && table === "filter" && chain === KUBE_FIREWALL);
}

/**
 * The restore text that removes the chains `owned` selects (default: cleanupOwned) and the jumps to them from the
 * built-in chains, from what `saved` shows; "" when there is none.
 */
export function renderCleanup(saved: SavedTables, owned: (table: Table, chain: string) => boolean = cleanupOwned(saved)): string {
  let text = "";
  for (const table of ["filter", "nat"] as const) {
    const t = saved.get(table);
    if (!t) continue;
    const chains = [...t.chains.keys()].filter((c) => owned(table, c));
    const jumps = t.rules.filter((r) => BUILTIN_CHAINS.has(ruleChain(r)) && owned(table, ruleTarget(r) ?? ""));
    if (chains.length === 0 && jumps.length === 0) continue;
    text += [`*${table}`, ...chains.map((c) => `:${c} - [0:0]`), ...jumps.map((r) => `-D ${r.slice(3)}`), ...chains.map((c) => `-X ${c}`), "COMMIT", ""].join("\n");
  }
  return text;
}

/** Removes kube-proxy's iptables rules and chains. Returns the chains removed. */
export async function cleanupLeftovers(runner: CommandRunner): Promise<string[]> {
  const saved = parseIptablesSave(await runChecked(runner, ["iptables-save"]));
  const owned = cleanupOwned(saved);
  const text = renderCleanup(saved, owned);
  if (text === "") return [];
  await runChecked(runner, ["iptables-restore", "--noflush"], text);
  return [...saved.entries()].flatMap(([table, t]) => (table === "filter" || table === "nat" ? [...t.chains.keys()].filter((c) => owned(table, c)).map((c) => `${table}/${c}`) : []));
}
