// The tensor list of an opened file and the sortable quality table of a run.
import type { TensorReport } from '../src/model/index.js';
import { bytes, decibels, scientific, shape } from './format.js';
import type { TensorInfo } from './protocol.js';

export function renderTensorList(body: HTMLTableSectionElement, tensors: TensorInfo[]): void {
  body.replaceChildren(
    ...tensors.map((t) => {
      const tr = document.createElement('tr');
      for (const [text, numeric] of [[t.name, false], [t.dtype, false], [shape(t.shape), false], [bytes(t.byteLength), true]] as const) {
        const td = tr.insertCell();
        td.textContent = text;
        if (numeric) td.className = 'num';
      }
      return tr;
    }),
  );
}

interface Column {
  label: string;
  numeric: boolean;
  /** What the column sorts by; undefined sorts last either way. */
  key(t: TensorReport): number | string | undefined;
  cell(td: HTMLTableCellElement, t: TensorReport): void;
  /** Shown only when the run checked against the CPU. */
  verifyOnly?: boolean;
}

function text(value: (t: TensorReport) => string): Column['cell'] {
  return (td, t) => {
    td.textContent = value(t);
  };
}

function verifyCell(td: HTMLTableCellElement, t: TensorReport): void {
  const v = t.verify;
  if (!v) return;
  if (v.equal) {
    td.textContent = 'bit-identical';
    td.className = 'ok';
    return;
  }
  // The summary lists the first mismatches: element index, coordinates, channel or block, input, both codes.
  const details = document.createElement('details');
  const summary = document.createElement('summary');
  summary.textContent = `${v.mismatches} mismatches`;
  summary.className = 'error';
  const pre = document.createElement('pre');
  pre.textContent = v.summary;
  details.append(summary, pre);
  td.append(details);
}

function nameCell(onSelect: (name: string) => void): Column['cell'] {
  return (td, t) => {
    if (t.action !== 'quantized') {
      td.textContent = t.name;
      return;
    }
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'tensor';
    button.textContent = t.name;
    button.setAttribute('aria-label', `Plot ${t.name}`);
    button.addEventListener('click', () => onSelect(t.name));
    td.append(button);
  };
}

const columns = (onSelect: (name: string) => void): Column[] => [
  { label: 'Tensor', numeric: false, key: (t) => t.name, cell: nameCell(onSelect) },
  { label: 'Shape', numeric: false, key: (t) => t.shape.reduce((n, d) => n * d, 1), cell: text((t) => shape(t.shape)) },
  {
    label: 'Action', numeric: false, key: (t) => t.action,
    cell: (td, t) => {
      td.textContent = t.action;
      if (t.reason) {
        td.append(document.createElement('br'), t.reason);
        td.className = 'reason';
      }
    },
  },
  { label: 'Output', numeric: false, key: (t) => t.output, cell: text((t) => t.output) },
  { label: 'MSE', numeric: true, key: (t) => t.mse, cell: text((t) => scientific(t.mse)) },
  { label: 'Max |error|', numeric: true, key: (t) => t.maxAbsError, cell: text((t) => scientific(t.maxAbsError)) },
  { label: 'SQNR (dB)', numeric: true, key: (t) => t.sqnrDb, cell: text((t) => decibels(t.sqnrDb)) },
  { label: 'Clipped', numeric: true, key: (t) => t.clipped, cell: text((t) => (t.clipped === undefined ? '' : String(t.clipped))) },
  {
    label: 'Worst channels (dB)', numeric: false, key: (t) => t.worstChannels?.[0]?.sqnrDb,
    cell: text((t) => (t.worstChannels ?? []).map((w) => `${w.index}: ${decibels(w.sqnrDb)}`).join(', ')),
  },
  { label: 'ms', numeric: true, key: (t) => t.ms, cell: text((t) => t.ms.toFixed(0)) },
  {
    label: 'CPU check', numeric: false, key: (t) => (t.verify ? (t.verify.equal ? 0 : t.verify.mismatches) : undefined),
    cell: verifyCell, verifyOnly: true,
  },
];

function compare(a: number | string | undefined, b: number | string | undefined): number {
  if (typeof a === 'number' && typeof b === 'number') return a === b ? 0 : a < b ? -1 : 1;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

/** The quality table: sortable by any column; a quantized tensor's name selects it for plotting. */
export class QualityTable {
  private rows: TensorReport[] = [];
  private sortColumn = -1;
  private descending = false;
  private selected: string | undefined;
  private readonly columns: Column[];

  constructor(private readonly table: HTMLTableElement, onSelect: (name: string) => void) {
    this.columns = columns(onSelect);
  }

  show(rows: TensorReport[]): void {
    this.rows = rows;
    this.sortColumn = -1;
    this.selected = undefined;
    const withVerify = rows.some((r) => r.verify);
    const head = this.table.tHead?.rows[0];
    head?.replaceChildren(
      ...this.columns.map((c, i) => {
        const th = document.createElement('th');
        th.scope = 'col';
        if (c.numeric) th.className = 'num';
        th.hidden = c.verifyOnly === true && !withVerify;
        const button = document.createElement('button');
        button.type = 'button';
        button.textContent = c.label;
        button.addEventListener('click', () => this.sortBy(i));
        th.append(button);
        return th;
      }),
    );
    this.render();
  }

  select(name: string): void {
    this.selected = name;
    for (const tr of this.table.tBodies[0]?.rows ?? []) tr.classList.toggle('selected', tr.dataset.name === name);
  }

  private sortBy(column: number): void {
    this.descending = this.sortColumn === column ? !this.descending : false;
    this.sortColumn = column;
    this.table.tHead?.rows[0]?.querySelectorAll('th').forEach((th, i) => {
      if (i === column) th.setAttribute('aria-sort', this.descending ? 'descending' : 'ascending');
      else th.removeAttribute('aria-sort');
    });
    this.render();
  }

  private render(): void {
    const column = this.columns[this.sortColumn];
    const rows = column
      ? [...this.rows].sort((a, b) => {
        const ka = column.key(a);
        const kb = column.key(b);
        if (ka === undefined || kb === undefined) return ka === kb ? 0 : ka === undefined ? 1 : -1;
        return this.descending ? compare(kb, ka) : compare(ka, kb);
      })
      : this.rows;
    const hidden = [...(this.table.tHead?.rows[0]?.cells ?? [])].map((th) => th.hidden === true);
    this.table.tBodies[0]?.replaceChildren(...rows.map((t) => this.row(t, hidden)));
  }

  private row(t: TensorReport, hidden: boolean[]): HTMLTableRowElement {
    const tr = document.createElement('tr');
    tr.dataset.name = t.name;
    tr.classList.toggle('selected', t.name === this.selected);
    this.columns.forEach((c, i) => {
      const td = tr.insertCell();
      td.hidden = hidden[i] ?? false;
      if (c.numeric) td.className = 'num';
      c.cell(td, t);
    });
    return tr;
  }
}
