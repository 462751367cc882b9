// llama.cpp on a GGUF file, through node-llama-cpp 3.21.1's prebuilt linux-x64 binary on the CPU:
// `build: 'never'` and `skipDownload` so that a missing or unusable binary fails instead of
// compiling or fetching anything.
import { getLlama, type Llama, LlamaLogLevel, type Token } from 'node-llama-cpp';

let llama: Promise<Llama> | undefined;

/** The one llama.cpp instance of a test file. */
export function prebuiltLlama(): Promise<Llama> {
  return (llama ??= getLlama({
    build: 'never', gpu: false, usePrebuiltBinaries: true, skipDownload: true, progressLogs: false, logLevel: LlamaLogLevel.error,
  }));
}

export async function disposeLlama(): Promise<void> {
  const l = await llama;
  llama = undefined;
  await l?.dispose();
}

/** What llama.cpp made of a model file: its own description of the file type, and its outputs. */
export interface LlamaRun {
  /** llama_model_desc, e.g. "llama ?B Q4_K - Medium". */
  description: string;
  /** Greedy continuation of the prompt. */
  tokens: Token[];
  text: string;
  /** Per prompt position, log-softmax of the next-token logits over the whole vocabulary. */
  logProbs: Float64Array[];
}

/**
 * Loads `path`, generates `count` tokens greedily after `prompt`, and (when `logits`) reads the
 * next-token distribution at every position of `prompt`, all on one thread, so that the float
 * sums do not depend on how work is split. `vocabulary`: the model's token count (stories260K's
 * tokenizer, which the seeded model shares, has 512); a distribution that misses any is an error.
 */
export async function runLlama(path: string, prompt: string, count: number, logits = false, vocabulary = 512): Promise<LlamaRun> {
  const l = await prebuiltLlama();
  const model = await l.loadModel({ modelPath: path, gpuLayers: 0 });
  try {
    const context = await model.createContext({ contextSize: 256, threads: 1, batchSize: 256, sequences: 2 });
    const tokens: Token[] = [];
    const input = model.tokenize(prompt);
    let logProbs: Float64Array[] = [];
    try {
      const sequence = context.getSequence();
      for await (const t of sequence.evaluate(input, { temperature: 0 })) {
        tokens.push(t);
        if (tokens.length >= count) break;
      }
      if (logits) {
        const scoring = context.getSequence();
        const out = await scoring.controlledEvaluate(input.map((t) => [t, {
          generateNext: { probabilities: true, options: { temperature: 1, topK: 0, topP: 1, minP: 0 } },
        }]));
        logProbs = out.map((o) => {
          const p = o?.next.probabilities;
          if (p?.size !== vocabulary) throw new Error(`llama.cpp gave ${p?.size ?? 'no'} probabilities for a vocabulary of ${vocabulary}`);
          const v = new Float64Array(vocabulary);
          for (const [token, prob] of p) v[token] = Math.log(prob);
          return v;
        });
      }
    } finally {
      await context.dispose();
    }
    return { description: model.typeDescription, tokens, text: model.detokenize(tokens), logProbs };
  } finally {
    await model.dispose();
  }
}
