// The two wire forms of a point in time (apimachinery's metav1.Time and metav1.MicroTime) and their parsing.
// Every writer of a timestamp uses these, so an object's times always compare and round-trip the same way.

/** metav1.Time: RFC 3339 in whole seconds, e.g. 2024-01-01T00:00:00Z (the milliseconds are dropped). */
export function formatTime(ms: number): string {
  // Writes ask for the current second again and again (every create's creationTimestamp and managedFields time).
  const second = Math.floor(ms / 1000);
  if (second === lastSecond) return lastFormatted;
  const iso = new Date(ms).toISOString(); // always ends in ".sssZ"
  const formatted = `${iso.slice(0, -5)}Z`;
  lastSecond = second;
  lastFormatted = formatted;
  return formatted;
}

/** formatTime's last answer, for the second it formats. */
let lastSecond = Number.NaN;
let lastFormatted = "";

/** metav1.MicroTime: RFC 3339 with six fraction digits, e.g. 2024-01-01T00:00:00.123000Z. */
export function formatMicroTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** Milliseconds since the epoch of a Time or MicroTime, or undefined for an absent or unparseable one. */
export function parseTime(text: string | undefined | null): number | undefined {
  if (!text) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}
