// The WebGPU device the Node rows of `npm run bench` run on: Dawn through the `webgpu` package
// (SwiftShader here, through VK_ICD_FILENAMES), with the adapter's whole buffer and workgroup
// allowance and its subgroups where it has them, as the library asks for its own device.

/** Dawn's instance, held for the process: once collected, the devices it made crash when used. */
let dawn: GPU | undefined;

export async function nodeDevice(): Promise<GPUDevice> {
  const { create } = (await import('webgpu')) as { create(flags: string[]): GPU };
  dawn ??= create([]);
  const adapter = await dawn.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter in Node: see README (SwiftShader through VK_ICD_FILENAMES)');
  return adapter.requestDevice({
    requiredFeatures: adapter.features.has('subgroups') ? ['subgroups' as GPUFeatureName] : [],
    requiredLimits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
      maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
    },
  });
}
