// The plots of one tensor, drawn by uPlot (about 50 KB minified): axes, ticks, a cursor that reads
// values out, high-DPI canvases and resizing come with it, at a fraction of a general charting
// library's weight. Each plot also gets a text summary for screen readers, since a canvas has none.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Histogram, TensorDetail } from './protocol.js';

const HEIGHT = 220;
const COLORS = { original: '#1d5fbf', dequantized: '#17663a', error: '#a40000', channels: '#6a3d9a' };

export interface ChartElements {
  original: HTMLElement;
  dequantized: HTMLElement;
  error: HTMLElement;
  channels: HTMLElement;
  channelCaption: HTMLElement;
}

function tick(v: number): string {
  if (v === 0) return '0';
  const abs = Math.abs(v);
  return abs < 1e-3 || abs >= 1e5 ? v.toExponential(1) : String(Number(v.toPrecision(3)));
}

const valueAxis: uPlot.Axis = { values: (_u, splits) => splits.map(tick), size: 60 };

function builder<K extends keyof uPlot.Series.PathBuilderFactories>(kind: K): NonNullable<uPlot.Series.PathBuilderFactories[K]> {
  const factory = uPlot.paths[kind];
  if (!factory) throw new Error(`this uPlot build has no ${kind} paths`);
  return factory;
}

function histogramPlot(el: HTMLElement, h: Histogram, label: string, color: string): uPlot {
  const width = (h.hi - h.lo) / h.counts.length;
  const centers = Array.from(h.counts, (_, i) => h.lo + (i + 0.5) * width);
  const total = h.counts.reduce((n, c) => n + c, 0);
  el.setAttribute('role', 'img');
  el.setAttribute('aria-label', `Histogram of ${total} ${label} from ${tick(h.lo)} to ${tick(h.hi)} in ${h.counts.length} bins`);
  return new uPlot({
    width: el.clientWidth,
    height: HEIGHT,
    scales: { x: { time: false, range: [h.lo, h.hi] } },
    series: [
      { label: 'value', value: (_u, v) => (v === null ? '--' : tick(v)) },
      { label: 'count', stroke: color, fill: `${color}88`, paths: builder('bars')({ size: [1, Infinity], gap: 0 }), points: { show: false } },
    ],
    axes: [{ ...valueAxis }, { size: 60 }],
    cursor: { drag: { x: false, y: false } },
  }, [centers, Array.from(h.counts)], el);
}

function channelPlot(el: HTMLElement, sqnr: Float64Array, axis: number): uPlot {
  const index = Array.from(sqnr, (_, i) => i);
  // An exactly reconstructed channel has infinite SQNR: it is left out of the line, not drawn at the top.
  const finite = Array.from(sqnr, (v) => (Number.isFinite(v) ? v : null));
  const values = finite.filter((v): v is number => v !== null);
  // reduce, not Math.min(...values): an embedding's tens of thousands of channels would overflow the call.
  const worst = values.length > 0 ? values.reduce((a, b) => Math.min(a, b)) : undefined;
  const best = values.reduce((a, b) => Math.max(a, b), -Infinity);
  el.setAttribute('role', 'img');
  el.setAttribute('aria-label', `SQNR of ${sqnr.length} channels along axis ${axis}` +
    (worst === undefined ? ', all exact' : `, lowest ${worst.toFixed(1)} dB at channel ${finite.indexOf(worst)}, highest ${best.toFixed(1)} dB`));
  return new uPlot({
    width: el.clientWidth,
    height: HEIGHT,
    scales: { x: { time: false } },
    series: [
      { label: 'channel' },
      {
        label: 'SQNR (dB)', stroke: COLORS.channels, width: 1.5,
        // No index: the cursor is off the plot. No value at an index: that channel is exact.
        value: (_u, v, _series, index) => (index === null ? '--' : v === null ? 'exact' : v.toFixed(2)),
        points: { show: sqnr.length <= 128, size: 4 },
      },
    ],
    axes: [{}, { ...valueAxis, label: 'dB' }],
    cursor: { drag: { x: true, y: false } },
  }, [index, finite], el);
}

/** The four plots of the selected tensor, resized with the page. */
export class TensorCharts {
  private plots: [HTMLElement, uPlot][] = [];
  private readonly observer = new ResizeObserver(() => {
    for (const [el, plot] of this.plots) plot.setSize({ width: el.clientWidth, height: HEIGHT });
  });

  constructor(private readonly elements: ChartElements) {}

  show(detail: TensorDetail): void {
    this.clear();
    const e = this.elements;
    e.channelCaption.textContent = `SQNR per channel along axis ${detail.channelAxis} (dB)`;
    this.plots = [
      [e.original, histogramPlot(e.original, detail.original, 'original weights', COLORS.original)],
      [e.dequantized, histogramPlot(e.dequantized, detail.dequantized, 'dequantized weights', COLORS.dequantized)],
      [e.error, histogramPlot(e.error, detail.error, 'errors', COLORS.error)],
      [e.channels, channelPlot(e.channels, detail.channelSqnrDb, detail.channelAxis)],
    ];
    for (const [el] of this.plots) this.observer.observe(el);
  }

  clear(): void {
    this.observer.disconnect();
    for (const [, plot] of this.plots) plot.destroy();
    this.plots = [];
  }
}
