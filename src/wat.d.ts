/** A WebAssembly module written as text, assembled at build time (scripts/wat.ts): its bytes, base64. */
declare module '*.wat' {
  const base64: string;
  export default base64;
}
