// Numbers as the page shows them.

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(u === 0 ? 0 : 1)} ${units[u]}`;
}

export function decibels(v: number | undefined): string {
  if (v === undefined) return '';
  return Number.isFinite(v) ? v.toFixed(2) : 'exact';
}

export function scientific(v: number | undefined): string {
  return v === undefined ? '' : v.toExponential(2);
}

export function shape(dims: readonly number[]): string {
  return `[${dims.join(', ')}]`;
}
