import picomatch from 'picomatch';

/** Which tensors of a model are quantized. */
export interface TensorPolicy {
  /** Glob patterns (picomatch); when given, only matching tensors are quantized. */
  include?: string[];
  /** Glob patterns; matching tensors always pass through. */
  exclude?: string[];
  /**
   * compressed-tensors output: also quantize embedding tables and the output head (`lm_head`),
   * which by default stay in their dtype and are listed in `ignore`, as llm-compressor leaves them.
   */
  quantizeEmbeddings?: boolean;
}

/** A tensor as the policy sees it. */
export interface PolicyTensor {
  name: string;
  shape: readonly number[];
  quantizable: boolean;
}

/**
 * Why a tensor is left as it is, or undefined when it is quantized. By default weights of rank
 * ≥ 2 in a float type are quantized; biases, norms and scalars pass through byte for byte.
 *
 * @example
 * passThroughReason({ name: 'lm_head.weight', shape: [32000, 4096], quantizable: true }, { exclude: ['lm_head.*'] });
 */
export function passThroughReason(tensor: PolicyTensor, policy: TensorPolicy): string | undefined {
  const options = { dot: true };
  if (!tensor.quantizable) return 'not a float tensor';
  if (policy.exclude?.length && picomatch.isMatch(tensor.name, policy.exclude, options)) return 'excluded by --exclude';
  if (policy.include?.length) {
    return picomatch.isMatch(tensor.name, policy.include, options) ? undefined : 'not matched by --include';
  }
  if (tensor.shape.length < 2) return `rank ${tensor.shape.length}: biases, norms and scalars stay unquantized`;
  return undefined;
}

/** Output heads by module name: Hugging Face's `lm_head`, GPT-NeoX's `embed_out`. */
const HEADS = new Set(['lm_head', 'embed_out']);
/** Embedding tables whose module names do not say `embed`: GPT-2's token and position tables. */
const EMBEDDINGS = new Set(['wte', 'wpe']);

/**
 * Whether tensor `name` is an embedding table or the output head, from its module's name:
 * `*.lm_head.weight`, `embed_out`, and the top-level `output.weight` of llama.cpp-style names are
 * heads; a module whose last name part contains `embed` (`embed_tokens`, `word_embeddings`,
 * `tok_embeddings`, `position_embeddings`, …) or is `wte` / `wpe` is an embedding.
 * llm-compressor quantizes `Linear` modules only and ignores `lm_head`, so both stay in float.
 *
 * @example
 * embeddingOrHead('model.embed_tokens.weight'); // 'embedding'
 * embeddingOrHead('lm_head.weight');            // 'head'
 * embeddingOrHead('model.layers.0.mlp.up_proj.weight'); // undefined
 */
export function embeddingOrHead(name: string): 'embedding' | 'head' | undefined {
  const module = name.replace(/\.weight$/, '');
  const last = module.slice(module.lastIndexOf('.') + 1);
  if (HEADS.has(last) || module === 'output') return 'head';
  if (last.includes('embed') || EMBEDDINGS.has(last)) return 'embedding';
  return undefined;
}
