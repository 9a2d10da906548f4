/**
 * Durations as a person reads them (`sos cluster status`): the two largest units, whole ones, the
 * smaller cut rather than rounded up — `12 s`, `2 min 40 s`, `22 h 55 min`, `3 d 4 h` — and a unit
 * left out when it is zero (`5 min`, not `5 min 0 s`). Under a second is `0 s`; a negative duration
 * (a clock a little ahead of ours) is read as 0.
 */
const UNITS: readonly (readonly [label: string, seconds: number])[] = [
  ["d", 86_400],
  ["h", 3_600],
  ["min", 60],
  ["s", 1],
];

export function formatDuration(ms: number): string {
  let seconds = Number.isFinite(ms) ? Math.max(0, Math.round(ms / 1_000)) : 0;
  const parts: string[] = [];
  for (const [label, size] of UNITS) {
    const count = Math.floor(seconds / size);
    seconds -= count * size;
    // The first unit with a count starts the reading; the one after it ends it, shown or zero.
    if (parts.length > 0 || count > 0) parts.push(count > 0 ? `${count} ${label}` : "");
    if (parts.length === 2) break;
  }
  const shown = parts.filter((p) => p !== "");
  return shown.length === 0 ? "0 s" : shown.join(" ");
}

/** `2 min 40 s ago`: how long before `now` epoch ms `at` was. */
export const ago = (at: number, now: number): string => `${formatDuration(now - at)} ago`;
