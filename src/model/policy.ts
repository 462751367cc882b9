import picomatch from 'picomatch';

/** Which tensors of a model are quantized. */
export interface TensorPolicy {
  /** Glob patterns (picomatch); when given, only matching tensors are quantized. */
  include?: string[];
  /** Glob patterns; matching tensors always pass through. */
  exclude?: string[];
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
