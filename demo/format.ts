// Numbers as the page shows them.

export { formatBytes as bytes } from '../src/model/report.js';

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
