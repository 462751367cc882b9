// The scheme form: the command line's options, presets for the common cases, and what each means.
import { type Granularity, ggufFormatOf, listFormats, type Profile, type QuantDType, type QuantScheme } from '../src/index.js';
import type { OutputFormat } from '../src/model/index.js';

interface Preset {
  label: string;
  format: OutputFormat;
  scheme: QuantScheme;
  help: string;
}

/** A GGUF preset for every registered format that has a GGUF encoding (ggml's Q8_0, Q4_0, …). */
const GGUF_PRESETS: [string, Preset][] = listFormats().flatMap((f) => {
  if (!f.gguf) return [];
  const bits = (f.gguf.blockBytes * 8) / (f.gguf.scheme.blockSize ?? 1);
  return [[`gguf-${f.name}`, {
    label: `GGUF ${f.gguf.typeName}`, format: 'gguf', scheme: f.gguf.scheme,
    help: `${f.summary} (${bits} bits per weight), byte-identical to llama.cpp's own quantizer.`,
  }]];
});

const PRESETS = new Map<string, Preset>([
  ...GGUF_PRESETS,
  ['ct-int8-channel', {
    label: 'compressed-tensors int8, per channel',
    format: 'safetensors',
    scheme: { dtype: 'int8', symmetric: true, granularity: 'channel', profile: 'pytorch' },
    help: 'W8A16 as llm-compressor writes it: int8, symmetric, one scale per output row, PyTorch\'s ' +
      'formulas, in the compressed-tensors pack-quantized layout that vLLM loads.',
  }],
  ['ct-int4-group128', {
    label: 'compressed-tensors int4, groups of 128',
    format: 'safetensors',
    scheme: { dtype: 'int4', symmetric: true, granularity: 'group', blockSize: 128, profile: 'pytorch' },
    help: 'W4A16: int4, symmetric, one scale per 128 weights along each row, in the compressed-tensors ' +
      'layout. The usual 4-bit choice for vLLM; rows must be a multiple of 128.',
  }],
]);

/** What the command line picks when given only the file, as the page does on opening one. */
const DEFAULT_PRESET: Record<OutputFormat, string> = { gguf: 'gguf-q8_0', safetensors: 'ct-int8-channel' };

const CUSTOM_HELP = 'Your own scheme. A scheme the output format or the profile cannot express is reported ' +
  'when you run it, never silently replaced.';

function field<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

function globs(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}

export interface SchemeChoice {
  scheme: QuantScheme;
  format: OutputFormat;
  include: string[];
  exclude: string[];
}

export class SchemeForm {
  private readonly preset = field<HTMLSelectElement>('preset');
  private readonly presetHelp = field<HTMLElement>('preset-help');
  private readonly format = field<HTMLSelectElement>('format');
  private readonly dtype = field<HTMLSelectElement>('dtype');
  private readonly symmetric = field<HTMLSelectElement>('symmetric');
  private readonly granularity = field<HTMLSelectElement>('granularity');
  private readonly axis = field<HTMLInputElement>('axis');
  private readonly blockSize = field<HTMLInputElement>('block-size');
  private readonly profile = field<HTMLSelectElement>('profile');
  private readonly calibration = field<HTMLSelectElement>('calibration');
  private readonly percentile = field<HTMLInputElement>('percentile');
  private readonly mseGrid = field<HTMLInputElement>('mse-grid');
  private readonly mseNorm = field<HTMLInputElement>('mse-norm');
  private readonly include = field<HTMLInputElement>('include');
  private readonly exclude = field<HTMLInputElement>('exclude');

  constructor() {
    const custom = this.preset.querySelector('option[value="custom"]');
    for (const [id, p] of PRESETS) this.preset.insertBefore(new Option(p.label, id), custom);
    this.preset.addEventListener('change', () => this.applyPreset());
    this.calibration.addEventListener('change', () => this.showState());
    for (const el of [this.dtype, this.symmetric, this.granularity, this.axis, this.blockSize, this.profile]) {
      el.addEventListener('change', () => {
        this.preset.value = 'custom';
        this.showState();
      });
    }
    this.applyPreset();
  }

  /** Offers what the input's format can be written as, and selects the command line's default. */
  setInputFormat(format: OutputFormat): void {
    for (const option of this.preset.options) {
      const p = PRESETS.get(option.value);
      option.disabled = p !== undefined && p.format !== format;
    }
    // quantizeModel writes the input's own format only; the other is shown so that the choice is visible.
    for (const option of this.format.options) option.disabled = option.value !== format;
    this.format.value = format;
    this.preset.value = DEFAULT_PRESET[format];
    this.applyPreset();
  }

  choice(): SchemeChoice {
    const scheme: QuantScheme = {
      dtype: this.dtype.value as QuantDType,
      symmetric: this.symmetric.value === 'true',
      granularity: this.granularity.value as Granularity,
      profile: this.profile.value as Profile,
    };
    if (this.axis.value !== '') scheme.axis = this.integer(this.axis, 'The axis');
    if (scheme.granularity === 'group') scheme.blockSize = this.integer(this.blockSize, 'The group size');
    if (this.calibration.value !== 'minmax') scheme.calibration = this.calibration.value;
    // The library's checks name the field of a value out of range.
    if (this.calibration.value === 'percentile') scheme.percentile = Number(this.percentile.value);
    if (this.calibration.value === 'mse') scheme.mse = { grid: Number(this.mseGrid.value), norm: Number(this.mseNorm.value) };
    return {
      scheme, format: this.format.value as OutputFormat, include: globs(this.include.value), exclude: globs(this.exclude.value),
    };
  }

  private integer(input: HTMLInputElement, what: string): number {
    const n = Number(input.value);
    if (!Number.isInteger(n) || (input.min !== '' && n < Number(input.min))) {
      throw new Error(`${what} must be an integer${input.min !== '' ? ` of at least ${input.min}` : ''}; got "${input.value}"`);
    }
    return n;
  }

  private applyPreset(): void {
    const p = PRESETS.get(this.preset.value);
    if (p) {
      this.dtype.value = p.scheme.dtype;
      this.symmetric.value = String(p.scheme.symmetric);
      this.granularity.value = p.scheme.granularity;
      this.profile.value = p.scheme.profile;
      this.axis.value = '';
      if (p.scheme.blockSize !== undefined) this.blockSize.value = String(p.scheme.blockSize);
    }
    this.showState();
  }

  private showState(): void {
    const p = PRESETS.get(this.preset.value);
    this.presetHelp.textContent = p?.help ?? CUSTOM_HELP;
    this.blockSize.disabled = this.granularity.value !== 'group';
    this.percentile.disabled = this.calibration.value !== 'percentile';
    this.mseGrid.disabled = this.calibration.value !== 'mse';
    this.mseNorm.disabled = this.calibration.value !== 'mse';
  }
}

/** `model.gguf` → `model.Q8_0.gguf`; `model.safetensors` → `model.int4-group128.safetensors`. */
export function outputName(inputName: string, format: OutputFormat, scheme: QuantScheme): string {
  const stem = inputName.replace(/\.(gguf|safetensors)$/i, '');
  const label = format === 'gguf'
    ? (ggufFormatOf(scheme)?.gguf?.typeName ?? scheme.dtype)
    : `${scheme.dtype}-${scheme.granularity}${scheme.granularity === 'group' ? scheme.blockSize : ''}`;
  return `${stem}.${label}.${format}`;
}
