// Loads test/data/oracle-vectors.json, written by test/data/oracle.py.
import { readFileSync } from 'node:fs';
import type { QuantScheme } from '../../src/index.js';

export interface OracleCase {
  name: string;
  shape: number[];
  scheme: QuantScheme;
  /** Input values as float32 bit patterns. */
  input: number[];
  /** Expected scales as float32 bit patterns. */
  scales: number[];
  zeroPoints: number[];
  codes: number[];
}

export interface OracleVectors {
  cases: OracleCase[];
  /** [float32 bits, float16 bits] pairs. */
  f16: [number, number][];
}

export function loadOracle(): OracleVectors {
  return JSON.parse(readFileSync(new URL('./oracle-vectors.json', import.meta.url), 'utf8')) as OracleVectors;
}
