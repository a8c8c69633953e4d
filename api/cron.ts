// Cron schedules as Kubernetes accepts them (robfig/cron's ParseStandard): five fields (minute, hour, day of month,
// month, day of week; `*`, `?`, lists, ranges, steps, JAN-DEC and SUN-SAT names), the descriptors @yearly,
// @annually, @monthly, @weekly, @daily, @midnight, @hourly, and `@every <duration>`. One parser serves the
// apiserver's validation (the error messages are robfig's) and the CronJob controller (the next activation in a
// time zone, computed with Intl). Day of month and day of week combine as in cron: when either is `*` (or `?`)
// both must match, otherwise either may.

interface CronField {
  min: number;
  max: number;
  names?: readonly string[];
}

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const CRON_FIELDS: readonly CronField[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: MONTHS },
  { min: 0, max: 6, names: DAYS },
];
const DESCRIPTORS: Readonly<Record<string, string>> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

/** A parsed schedule: the first activation strictly after a moment. */
export interface CronSchedule {
  /** The first activation after `afterMs` (epoch ms) in `timeZone` (IANA name; undefined: this process's zone). */
  next(afterMs: number, timeZone?: string): number | undefined;
}

/** The schedule, or robfig/cron's message for why it is not one. */
export function parseSchedule(schedule: string): CronSchedule | string {
  if (/^\s*(CRON_)?TZ=/.test(schedule) || /\s(CRON_)?TZ=/.test(schedule)) return "cannot use TZ or CRON_TZ in schedule, use timeZone field instead";
  const trimmed = schedule.trim();
  if (trimmed === "") return "empty spec string";
  if (trimmed.startsWith("@")) {
    const expanded = DESCRIPTORS[trimmed];
    if (expanded !== undefined) return parseFields(expanded);
    if (trimmed.startsWith("@every ")) {
      const ms = parseGoDuration(trimmed.slice("@every ".length).trim());
      return ms === undefined ? `failed to parse duration ${trimmed}` : everySchedule(ms);
    }
    return `unrecognized descriptor: ${trimmed}`;
  }
  return parseFields(trimmed);
}

/** Why `schedule` is not a standard cron schedule (robfig/cron's messages); undefined when it is one. */
export function scheduleError(schedule: string): string | undefined {
  const parsed = parseSchedule(schedule);
  return typeof parsed === "string" ? parsed : undefined;
}

function parseFields(text: string): CronSchedule | string {
  const fields = text.split(/\s+/);
  if (fields.length !== CRON_FIELDS.length) return `expected exactly 5 fields, found ${fields.length}: [${fields.join(" ")}]`;
  const sets: Set<number>[] = [];
  for (const [i, field] of fields.entries()) {
    const set = parseField(field, CRON_FIELDS[i]!);
    if (typeof set === "string") return set;
    sets.push(set);
  }
  const [minutes, hours, doms, months, dows] = sets as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  const starDay = fields[2]!.startsWith("*") || fields[2]!.startsWith("?") || fields[4]!.startsWith("*") || fields[4]!.startsWith("?");
  return new FieldSchedule(minutes, hours, doms, months, dows, starDay);
}

function parseField(field: string, bounds: CronField): Set<number> | string {
  const out = new Set<number>();
  for (const expr of field.split(",")) {
    const [range = "", step, extra] = expr.split("/");
    if (extra !== undefined) return `too many slashes: ${expr}`;
    let low = bounds.min;
    let high = bounds.max;
    if (range !== "*" && range !== "?") {
      const [a = "", b, more] = range.split("-");
      if (more !== undefined) return `too many hyphens: ${expr}`;
      const first = cronValue(a, bounds);
      if (typeof first === "string") return first;
      low = first;
      high = first;
      if (b !== undefined) {
        const second = cronValue(b, bounds);
        if (typeof second === "string") return second;
        high = second;
      } else if (step !== undefined) {
        high = bounds.max; // "N/step" means from N to the end
      }
    }
    let every = 1;
    if (step !== undefined) {
      if (!/^\d+$/.test(step)) return `failed to parse int from ${step}: strconv.Atoi: parsing ${JSON.stringify(step)}: invalid syntax`;
      every = Number(step);
      if (every === 0) return `step of range should be a positive number: ${expr}`;
    }
    if (low < bounds.min) return `beginning of range (${low}) below minimum (${bounds.min}): ${expr}`;
    if (high > bounds.max) return `end of range (${high}) above maximum (${bounds.max}): ${expr}`;
    if (low > high) return `beginning of range (${low}) beyond end of range (${high}): ${expr}`;
    for (let v = low; v <= high; v += every) out.add(v);
  }
  return out;
}

function cronValue(text: string, bounds: CronField): number | string {
  const named = bounds.names?.indexOf(text.toLowerCase()) ?? -1;
  if (named >= 0) return named + bounds.min;
  if (!/^\d+$/.test(text)) return `failed to parse int from ${text}: strconv.Atoi: parsing ${JSON.stringify(text)}: invalid syntax`;
  return Number(text);
}

const GO_UNITS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function parseGoDuration(text: string): number | undefined {
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(text)) return undefined;
  let ms = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(m[1]) * GO_UNITS[m[2]!]!;
  return ms;
}

/** robfig's ConstantDelaySchedule: every `ms`, at least a second, rounded down to whole seconds. */
function everySchedule(ms: number): CronSchedule {
  const delay = Math.max(1000, Math.floor(ms / 1000) * 1000);
  return { next: (afterMs) => Math.floor(afterMs / 1000) * 1000 + delay };
}

/** Five years without a match: the schedule never fires (e.g. February 30th), as robfig gives up. */
const SEARCH_LIMIT_MS = 5 * 366 * 86_400_000;

class FieldSchedule implements CronSchedule {
  constructor(
    private readonly minutes: ReadonlySet<number>,
    private readonly hours: ReadonlySet<number>,
    private readonly doms: ReadonlySet<number>,
    private readonly months: ReadonlySet<number>,
    private readonly dows: ReadonlySet<number>,
    private readonly starDay: boolean,
  ) {}

  private dayMatches(d: Date): boolean {
    const dom = this.doms.has(d.getUTCDate());
    const dow = this.dows.has(d.getUTCDay());
    return this.starDay ? dom && dow : dom || dow;
  }

  next(afterMs: number, timeZone?: string): number | undefined {
    const zone = new ZoneClock(timeZone);
    // Walk the wall clock (as if it were UTC), skipping whole months, days and hours that cannot match.
    const startWall = zone.wall(Math.floor(afterMs / 60_000) * 60_000 + 60_000);
    let w = startWall;
    while (w - startWall < SEARCH_LIMIT_MS) {
      const d = new Date(w);
      const [y, mo, day, h] = [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours()];
      if (!this.months.has(mo + 1)) {
        w = Date.UTC(y, mo + 1, 1);
        continue;
      }
      if (!this.dayMatches(d)) {
        w = Date.UTC(y, mo, day + 1);
        continue;
      }
      if (!this.hours.has(h)) {
        w = Date.UTC(y, mo, day, h + 1);
        continue;
      }
      if (!this.minutes.has(d.getUTCMinutes())) {
        w += 60_000;
        continue;
      }
      const instant = zone.instant(w);
      if (instant !== undefined && instant > afterMs) return instant;
      w += 60_000;
    }
    return undefined;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string | undefined): Intl.DateTimeFormat {
  const key = timeZone ?? "";
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" });
    formatters.set(key, f);
  }
  return f;
}

/** Conversions between instants and a zone's wall-clock time (wall times are ms as if the wall clock were UTC). */
class ZoneClock {
  private readonly format: Intl.DateTimeFormat | undefined;

  constructor(timeZone: string | undefined) {
    this.format = timeZone === "UTC" || timeZone === "Etc/UTC" ? undefined : formatterFor(timeZone);
  }

  wall(instant: number): number {
    if (!this.format) return instant;
    const parts: Record<string, number> = {};
    for (const p of this.format.formatToParts(new Date(instant))) if (p.type !== "literal") parts[p.type] = Number(p.value);
    const wall = Date.UTC(parts.year ?? 1970, (parts.month ?? 1) - 1, parts.day, parts.hour, parts.minute, parts.second);
    return wall + (instant % 1000);
  }

  /** The instant showing wall time `w`; the earlier one when the clock goes back; undefined in a spring-forward gap. */
  instant(w: number): number | undefined {
    if (!this.format) return w;
    const candidates = new Set<number>();
    for (const probe of [w - 86_400_000 / 2, w, w + 86_400_000 / 2]) candidates.add(w - (this.wall(probe) - probe));
    const matching = [...candidates].filter((i) => this.wall(i) === w).sort((a, b) => a - b);
    return matching[0];
  }
}
