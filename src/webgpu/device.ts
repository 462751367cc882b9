// Where a GPUDevice comes from: the caller's, or one this library acquires and owns.
import { QuantizationError } from '../errors.js';
import type { AdapterFacts } from '../types.js';

export type { AdapterFacts } from '../types.js';

export interface GpuContext {
  device: GPUDevice;
  adapter: AdapterFacts;
  /** True when the library created the device (and may replace it after a loss). */
  owned: boolean;
  /** Settles when the device is lost. */
  lost: Promise<GPUDeviceLostInfo>;
  /** Set once the device is lost, so that failures it causes can be told apart. */
  lostInfo?: GPUDeviceLostInfo;
}

const contexts = new WeakMap<GPUDevice, GpuContext>();
let owned: Promise<GpuContext> | undefined;
// Dawn's GPU object must outlive every device made from it: a collected instance takes its
// devices down with it.
let dawnGpu: GPU | undefined;

function facts(info: GPUAdapterInfo | undefined, limits: GPUSupportedLimits, fallbackFlag: boolean): AdapterFacts {
  const vendor = info?.vendor ?? '';
  const architecture = info?.architecture ?? '';
  const description = info?.description ?? '';
  const software = /swiftshader|llvmpipe|lavapipe|warp|software|fallback/i;
  return {
    vendor,
    architecture,
    device: info?.device ?? '',
    description,
    isFallback:
      fallbackFlag || (info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter === true ||
      software.test(`${architecture} ${description}`),
    limits: {
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
    },
  };
}

/** navigator.gpu in browsers; the `webgpu` package (Dawn) in Node. */
async function gpuEntry(): Promise<GPU | undefined> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
  if (!isNode) return undefined;
  // A computed specifier keeps browser bundlers from following this Node-only import.
  const specifier = 'webgpu';
  try {
    const dawn = (await import(/* @vite-ignore */ specifier)) as { create(flags: string[]): GPU };
    dawnGpu ??= dawn.create([]);
    return dawnGpu;
  } catch (err) {
    throw new QuantizationError(
      `WebGPU is unavailable in this Node.js: the 'webgpu' package (Dawn) could not be loaded ` +
        `(${err instanceof Error ? err.message : String(err)}). Install it, or use backend: 'cpu'.`,
      { field: 'options.backend' },
    );
  }
}

async function acquire(): Promise<GpuContext> {
  const gpu = await gpuEntry();
  const adapter = await gpu?.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    const nodeHint = typeof process !== 'undefined' && typeof process.versions?.node === 'string'
      ? ' Without a GPU, Node can use the SwiftShader that ships in Debian\'s chromium package: set ' +
        'VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json and LD_LIBRARY_PATH=/usr/lib/chromium.'
      : '';
    throw new QuantizationError(
      'WebGPU is unavailable: no GPU adapter was found' +
        (gpu ? '' : ' (this environment has no navigator.gpu)') +
        ". Use backend: 'cpu', which gives the same results." + nodeHint,
      { field: 'options.backend' },
    );
  }
  // Ask for the largest buffers the adapter allows: chunks then need splitting only when the
  // hardware really requires it. Never less than the defaults, which every adapter supports.
  // Subgroup operations, where the adapter has them, shorten the per-row reductions, and all the
  // workgroup memory it has lets the row kernel hold wider rows (16 KiB, the default, is 4096
  // float32 less the kernel's own variables: not even one row of a 4096-wide layer).
  const device = await adapter.requestDevice({
    label: 'webgpu-quantizer',
    requiredFeatures: adapter.features.has('subgroups') ? ['subgroups' as GPUFeatureName] : [],
    requiredLimits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
      maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
    },
  });
  return register(device, facts(adapter.info, device.limits, (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter === true), true);
}

function register(device: GPUDevice, adapter: AdapterFacts, isOwned: boolean): GpuContext {
  const context: GpuContext = { device, adapter, owned: isOwned, lost: device.lost };
  void device.lost.then((info) => {
    context.lostInfo = info;
  });
  contexts.set(device, context);
  return context;
}

/**
 * The context for `device`, or for the library's own device, acquired on first use and again
 * after a loss.
 */
export async function gpuContext(device?: GPUDevice): Promise<GpuContext> {
  if (device) {
    const known = contexts.get(device);
    if (known) return known;
    const info = (device as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
    return register(device, facts(info, device.limits, false), false);
  }
  if (!owned) {
    const attempt = acquire();
    owned = attempt;
    // Forget this device when it fails or is lost, but never a newer one acquired since.
    const forget = () => {
      if (owned === attempt) owned = undefined;
    };
    attempt.then((context) => context.lost.then(forget), forget);
  }
  return owned;
}

/**
 * Facts about the adapter WebGPU work would run on: vendor, architecture, whether it is a
 * software fallback such as SwiftShader, and the limits in force.
 *
 * @example
 * const { isFallback, description } = await adapterFacts();
 */
export async function adapterFacts(device?: GPUDevice): Promise<AdapterFacts> {
  return (await gpuContext(device)).adapter;
}

/** The adapter's name for people: vendor, architecture and description, as many as it gives. */
export function adapterName(facts: Pick<AdapterFacts, 'vendor' | 'architecture' | 'description'>): string {
  return [facts.vendor, facts.architecture, facts.description].filter(Boolean).join(' ') || 'an unnamed adapter';
}

/** Destroys the library's own device, if it has one (a caller's device is never touched). */
export async function releaseDevice(): Promise<void> {
  const current = owned;
  owned = undefined;
  if (current) (await current.catch(() => undefined))?.device.destroy();
}
