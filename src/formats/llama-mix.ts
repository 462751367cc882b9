// llama.cpp's whole-file types as llama-quantize names them (Q4_K_M, Q5_K_S, …): which ggml type
// each tensor gets, following llama_tensor_get_type in llama.cpp's src/llama-quant.cpp for
// Llama-family tensor names (one expert, not Falcon, not the 70B attn_v bump), without an
// importance matrix, and its fallback types for rows that are not whole blocks.
import { GGML_TYPE, ggmlTypeInfo } from './ggml-blocks.js';
import type { GgufTensorType } from './gguf.js';

type Quant = Exclude<GgufTensorType, 'keep' | 'F32' | 'F16'>;

/** A llama-quantize file type: its `general.file_type` (enum llama_ftype) and its default tensor type. */
export interface LlamaFileType {
  fileType: number;
  base: Quant;
}

/** The file types this library writes, by llama-quantize's names. */
export const LLAMA_FILE_TYPES = {
  Q4_0: { fileType: 2, base: 'Q4_0' },
  Q8_0: { fileType: 7, base: 'Q8_0' },
  Q2_K: { fileType: 10, base: 'Q2_K' },
  Q3_K_M: { fileType: 12, base: 'Q3_K' },
  Q4_K_S: { fileType: 14, base: 'Q4_K' },
  Q4_K_M: { fileType: 15, base: 'Q4_K' },
  Q5_K_S: { fileType: 16, base: 'Q5_K' },
  Q5_K_M: { fileType: 17, base: 'Q5_K' },
  Q6_K: { fileType: 18, base: 'Q6_K' },
} as const satisfies Record<string, LlamaFileType>;

export type LlamaFileTypeName = keyof typeof LLAMA_FILE_TYPES;

/** Elements per block of `type`, from ggml's type table. */
const blockOf = (type: Quant): number => ggmlTypeInfo(GGML_TYPE[type])?.blockSize ?? 1;

/** tensor_type_fallback: the type llama.cpp uses where rows are not whole blocks of `type`. */
const FALLBACK: Partial<Record<Quant, Quant>> = { Q2_K: 'Q4_0', Q3_K: 'Q4_0', Q4_K: 'Q5_0', Q5_K: 'Q5_1', Q6_K: 'Q8_0' };

type Category = 'output' | 'token_embd' | 'attn_v' | 'attn_k' | 'attn_q' | 'attn_output' | 'attn_qkv' | 'ffn_up' | 'ffn_gate' | 'ffn_down' | 'other';

/** tensor_get_category, for the names llama.cpp gives Llama-family tensors. */
function category(name: string): Category {
  if (name === 'output.weight') return 'output';
  if (name === 'token_embd.weight') return 'token_embd';
  for (const c of ['attn_qkv', 'attn_v', 'attn_k', 'attn_q', 'attn_output'] as const) if (name.includes(`${c}.weight`)) return c;
  for (const c of ['ffn_up', 'ffn_gate', 'ffn_down'] as const) if (name.includes(c)) return c;
  return 'other';
}

/** C's integer division and modulo (truncating), as llama.cpp's use_more_bits computes them. */
const idiv = (a: number, b: number): number => Math.trunc(a / b);
const useMoreBits = (i: number, n: number): boolean =>
  i < idiv(n, 8) || i >= idiv(7 * n, 8) || (i - idiv(n, 8)) % 3 === 2;

/** One tensor's choice: its type and, where llama.cpp's rules or a fallback changed it, why. */
export interface TensorTypeChoice {
  type: GgufTensorType;
  reason?: string;
}

/**
 * The type of each tensor in a `kind` file, as llama-quantize chooses it: `quantizable[i]` says
 * whether llama.cpp quantizes tensor i at all (rank ≥ 2, named *weight, not a norm); others stay
 * as they are ('keep'). `nGqa` is the model's head_count / head_count_kv.
 *
 * @example
 * chooseTypes('Q4_K_M', tensors.map((t) => ({ name: t.name, rowLength: t.shape.at(-1), quantizable: true })), 1);
 */
export function chooseTypes(
  kind: LlamaFileTypeName, tensors: readonly { name: string; rowLength: number; quantizable: boolean }[], nGqa: number,
): TensorTypeChoice[] {
  const base: Quant = LLAMA_FILE_TYPES[kind].base;
  const count = (c: Category) => tensors.filter((t) => t.quantizable && category(t.name) === c).length;
  const n = { attn_v: count('attn_v') + count('attn_qkv'), ffn_down: count('ffn_down') };
  const seen = { attn_v: 0, ffn_down: 0 };
  const tied = !tensors.some((t) => t.name === 'output.weight');
  return tensors.map((t): TensorTypeChoice => {
    if (!t.quantizable) return { type: 'keep' };
    const c = category(t.name);
    let type: Quant = base;
    let why = '';
    if (c === 'output' || (tied && c === 'token_embd')) {
      if (t.rowLength % blockOf(type) !== 0) type = 'Q8_0';
      else if (type !== 'Q8_0') type = 'Q6_K';
      why = c === 'output' ? 'output.weight' : 'token_embd.weight (tied to the output)';
    } else if (c === 'attn_v' || c === 'attn_qkv') {
      const i = seen.attn_v++;
      if (c === 'attn_qkv') {
        if (kind === 'Q3_K_M') type = 'Q4_K';
        else if (kind === 'Q4_K_M') type = 'Q5_K';
        else if (kind === 'Q5_K_M') type = 'Q6_K';
      } else if (kind === 'Q2_K') type = nGqa >= 4 ? 'Q4_K' : 'Q3_K';
      else if (kind === 'Q3_K_M') type = i < 2 ? 'Q5_K' : 'Q4_K';
      else if ((kind === 'Q4_K_M' || kind === 'Q5_K_M') && useMoreBits(i, n.attn_v)) type = 'Q6_K';
      else if (kind === 'Q4_K_S' && i < 4) type = 'Q5_K';
      why = `${c} ${i} of ${n.attn_v}`;
    } else if (c === 'ffn_down') {
      const i = seen.ffn_down++;
      const layers = n.ffn_down;
      if (kind === 'Q2_K') type = 'Q3_K';
      else if (kind === 'Q3_K_M') type = i < idiv(layers, 16) ? 'Q5_K' : 'Q4_K';
      else if (kind === 'Q4_K_M' && useMoreBits(i, layers)) type = 'Q6_K';
      else if (kind === 'Q5_K_M' && useMoreBits(i, layers)) type = 'Q6_K';
      else if (kind === 'Q4_K_S' && i < idiv(layers, 8)) type = 'Q5_K';
      why = `ffn_down ${i} of ${layers}`;
    } else if (c === 'attn_output') {
      if (kind === 'Q2_K') type = 'Q3_K';
      else if (kind === 'Q3_K_M') type = 'Q4_K';
      why = 'attn_output';
    }
    const reasons = type !== base ? [`${why}: ${type} by llama.cpp's ${kind} rules`] : [];
    if (t.rowLength % blockOf(type) === 0) return reasons.length > 0 ? { type, reason: reasons.join('; ') } : { type };
    // As llama.cpp's tensor_type_fallback; where even the fallback's blocks do not fit, F16.
    const fallback = FALLBACK[type];
    const written: GgufTensorType = fallback !== undefined && t.rowLength % blockOf(fallback) === 0 ? fallback : 'F16';
    reasons.push(`rows of ${t.rowLength} are not a multiple of ${type}'s block of ${blockOf(type)}: ${written}, llama.cpp's fallback`);
    return { type: written, reason: reasons.join('; ') };
  });
}
