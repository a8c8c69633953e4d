// Human-readable durations as kubectl prints them in AGE, LAST SEEN and similar columns
// (k8s.io/apimachinery/pkg/util/duration). Two or three significant figures, never more.
import { parseTime } from "./time.js";

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/**
 * HumanDuration: `45s`, `3m5s`, `95m`, `5h3m`, `30h`, `3d4h`, `45d`, `3y20d`, `9y`. Up to a second in the future
 * (clock skew between machines) shows as `0s`; anything further ahead is `<invalid>`.
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / SECOND);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 120) return `${seconds}s`;

  const minutes = Math.trunc(ms / MINUTE);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 3 * 60) return `${minutes}m`;

  const hours = Math.trunc(ms / HOUR);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 8 * 24) {
    const h = hours % 24;
    return h === 0 ? `${days}d` : `${days}d${h}h`;
  }
  if (hours < 2 * 365 * 24) return `${days}d`;
  const years = Math.trunc(days / 365);
  if (hours < 8 * 365 * 24) {
    const d = days % 365;
    return d === 0 ? `${years}y` : `${years}y${d}d`;
  }
  return `${years}y`;
}

/** ShortHumanDuration: one unit only (`45s`, `5m`, `3h`, `12d`, `2y`), for narrow columns. */
export function shortHumanDuration(ms: number): string {
  const seconds = Math.trunc(ms / SECOND);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.trunc(ms / MINUTE);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.trunc(ms / HOUR);
  if (hours < 24) return `${hours}h`;
  if (hours < 365 * 24) return `${Math.trunc(hours / 24)}d`;
  return `${Math.trunc(hours / 24 / 365)}y`;
}

/**
 * The AGE of something created at `timestamp` (RFC 3339), seen at `now` (ms since the epoch): kubectl's
 * translateTimestampSince. An absent or unparsable timestamp is `<unknown>`.
 */
export function ageSince(timestamp: string | undefined, now: number): string {
  const then = parseTime(timestamp);
  if (then === undefined) return "<unknown>";
  return humanDuration(now - then);
}
