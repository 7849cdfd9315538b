/** How times, durations and sizes read on the page. */

export function age(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '';
  return `${span(now - Date.parse(iso))} ago`;
}

export function duration(from: string | null | undefined, to: string | null | undefined, now = Date.now()): string {
  if (!from) return '';
  return span((to ? Date.parse(to) : now) - Date.parse(from));
}

export function span(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86_400)}d${Math.floor((s % 86_400) / 3600)}h`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

export function shortId(id: string | null | undefined): string {
  return id ? id.slice(0, 12) : '';
}

export function clock(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString() : '';
}
