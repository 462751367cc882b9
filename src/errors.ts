/**
 * The one error type the library throws for bad input or an impossible request. `field` names the
 * argument or scheme field at fault; `index` and `coords` locate an offending element.
 *
 * @example
 * try { await quantize(x, [3], scheme); } catch (e) { if (e instanceof QuantizationError) console.log(e.field); }
 */
export class QuantizationError extends Error {
  readonly field: string | undefined;
  readonly index: number | undefined;
  readonly coords: number[] | undefined;

  constructor(message: string, details: { field?: string; index?: number; coords?: number[] } = {}) {
    super(message);
    this.name = 'QuantizationError';
    this.field = details.field;
    this.index = details.index;
    this.coords = details.coords;
  }
}
