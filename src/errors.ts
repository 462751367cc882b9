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

/**
 * A malformed or unsupported model file. The message starts with the file, then the tensor or
 * field at fault; `file`, `tensor` and `field` carry the same for programs.
 *
 * @example
 * try { await readSafetensors(source); } catch (e) { if (e instanceof FormatError) console.error(e.message); }
 */
export class FormatError extends Error {
  readonly file: string;
  readonly tensor: string | undefined;
  readonly field: string | undefined;

  constructor(message: string, where: { file: string; tensor?: string; field?: string }) {
    // An empty tensor name is still named (as ''): a hostile file may use one.
    const place = [where.file, where.tensor !== undefined && `tensor '${where.tensor}'`, where.field && `field '${where.field}'`]
      .filter(Boolean)
      .join(': ');
    super(`${place}: ${message}`);
    this.name = 'FormatError';
    this.file = where.file;
    this.tensor = where.tensor;
    this.field = where.field;
  }
}
