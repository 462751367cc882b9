#!/usr/bin/env python3
"""Independent oracle for the 'mse' and 'percentile' calibrators: writes calibration-vectors.json.

Written apart from src/schemes/ and in another language, with numpy. 'mse' is llm-compressor's
MSE observer as its source states it (observers/mse.py, calculate_mse_min_max): for
i in range(int(maxshrink * grid)), p = 1 - i/grid, the candidate range is p·min, p·max (a float32
tensor times a Python float: float32 arithmetic), the candidate's scale and zero point, fake
quantization, err = sum(|q(x) - x| ** norm) per channel or group, and a candidate replaces the
best only when `err < best`. Two deliberate differences, both stated in src/schemes/mse.ts:
the scale and zero point come from the scheme's profile (ONNX DynamicQuantizeLinear or
torch.ao's _calculate_qparams with FBGEMM's quantize, transcribed below from their definitions),
and every candidate is evaluated (no early stop). The error is the library's exact definition
(README, Calibration): |x - dq| in float32 with subnormals flushed, its power by a fixed float32
routine (log2 from the exponent and a polynomial, exp2 likewise; numpy float32 scalars round each
operation as IEEE does), each term truncated to an integer in units of 2^-F of R^norm (R's binade:
the group's largest magnitude) and the terms added as Python integers, exactly.

'percentile' is numpy's np.quantile(..., method='inverted_cdf') of |x| (symmetric) or of x at
P/100 and 1 - P/100 (asymmetric), the lower tail then taken as the nearest rank from the top.

Run: python3 test/data/calibration_oracle.py  (numpy; the JSON is committed).
"""
import json
import math
import struct

import numpy as np

f32 = np.float32
EPS = f32(2.0 ** -23)
RANGES = {'int8': (-128, 127), 'uint8': (0, 255), 'int4': (-8, 7), 'uint4': (0, 15)}


def code_range(profile, dtype, symmetric):
    qmin, qmax = RANGES[dtype]
    if profile == 'onnx' and symmetric:
        return (qmin + 1, qmax) if qmin < 0 else (0, qmax - 1)
    return qmin, qmax


def sym_zp(profile, dtype):
    qmin, qmax = RANGES[dtype]
    if qmin < 0:
        return 0
    return (qmax - 1) // 2 if profile == 'onnx' else (qmax + 1) // 2


def qparams(profile, dtype, symmetric, lo, hi):
    """Scale and zero point of the range [lo, hi] by the profile's formulas, in float32."""
    qmin, qmax = code_range(profile, dtype, symmetric)
    lo, hi = f32(min(lo, 0)), f32(max(hi, 0))
    if profile == 'onnx':
        if symmetric:
            hi = max(-lo, hi)
            lo = -hi
        scale = f32(f32(hi - lo) / f32(qmax - qmin))
        if scale == 0:
            scale = f32(1)
        if symmetric:
            return scale, sym_zp(profile, dtype)
        zp = f32(f32(qmin) - f32(lo / scale))
        return scale, int(np.rint(min(max(zp, qmin), qmax)))
    if symmetric:
        amax = max(-lo, hi)
        return max(f32(amax / f32((qmax - qmin) / 2)), EPS), sym_zp(profile, dtype)
    scale = max(f32(f32(hi - lo) / f32(qmax - qmin)), EPS)
    zp = qmin - int(np.rint(f32(lo / scale)))
    return scale, min(max(zp, qmin), qmax)


def codes(profile, dtype, symmetric, x, scale, zp):
    qmin, qmax = code_range(profile, dtype, symmetric)
    if profile == 'onnx':
        q = np.rint((x / scale).astype(f32)) + zp
    else:
        q = zp + np.rint((x * f32(f32(1) / scale)).astype(f32))
    return np.clip(q, qmin, qmax)


LOG2_COEFFS = [1.4426950216293335, -0.7213473320007324, 0.48091059923171997, -0.36070483922958374, 0.2879183292388916,
               -0.23892034590244293, 0.21566985547542572, -0.20742103457450867, 0.12614846229553223]
EXP2_COEFFS = [1.0, 0.6931469440460205, 0.2402305006980896, 0.05548042804002762, 0.009684580378234386,
               0.0012387821916490793, 0.00021877505059819669]
TERM_MAX = (2 ** 24 - 1) << 40
TINY = f32(2.0 ** -126)


def ftz(v):
    return np.where(np.abs(v) < TINY, f32(0), v).astype(f32)


def horner(coeffs, t):
    q = np.full_like(t, f32(coeffs[-1]))
    for c in reversed(coeffs[:-1]):
        q = ((q * t).astype(f32) + f32(c)).astype(f32)
    return q


def power_terms(e, e_r, norm, shift):
    """T = trunc((e / 2^(eR-127))^norm * 2^F) per element, as Python integers."""
    e = e.astype(f32)
    b = e.view(np.uint32).astype(np.int64)
    frac = b & 0x7fffff
    halve = (frac >= 0x3504f3).astype(np.int64)
    m = (frac | np.where(halve == 1, 0x3f000000, 0x3f800000)).astype(np.uint32).view(f32)
    t = (m - f32(1)).astype(f32)
    lg = (horner(LOG2_COEFFS, t) * t).astype(f32)
    L = (((b >> 23) - e_r + halve).astype(f32) + lg).astype(f32)
    z = (f32(norm) * L).astype(f32)
    n = np.floor(z)
    p = horner(EXP2_COEFFS, (z - n).astype(f32))
    pb = p.view(np.uint32).astype(np.int64)
    s = (pb >> 23) - 150 + n.astype(np.int64) + shift
    mant = (pb & 0x7fffff) | 0x800000
    out = []
    for ei, si, mi in zip(e, s, mant):
        if ei == 0:
            out.append(0)
        elif not np.isfinite(ei) or si > 40:
            out.append(TERM_MAX)
        elif si < -24:
            out.append(0)
        else:
            out.append(int(mi) << int(si) if si >= 0 else int(mi) >> int(-si))
    return out


def mse_range(profile, dtype, symmetric, x, grid, maxshrink, norm):
    """The chosen (scale, zero point) and candidate index for one channel or group."""
    amin, amax = f32(x.min()), f32(x.max())
    e_r = int(f32(np.abs(x).max()).view(np.uint32)) >> 23
    norm32 = f32(min(norm, 4096))
    shift = 64 - math.ceil(3 * float(norm32))
    best, chosen = None, None
    with np.errstate(invalid='ignore', over='ignore'):
        for i in range(int(maxshrink * grid)):
            p = f32(1 - i / grid)
            scale, zp = qparams(profile, dtype, symmetric, f32(p * amin), f32(p * amax))
            k = (codes(profile, dtype, symmetric, x, scale, zp) - zp).astype(f32)
            dq = ftz((ftz(np.array([scale], dtype=f32))[0] * k).astype(f32))
            e = ftz(np.abs((ftz(x) - dq).astype(f32)))
            err = sum(power_terms(e, e_r, norm32, shift))
            if best is None or err < best:
                best, chosen = err, (scale, zp, i)
    return chosen


def percentile_range(profile, dtype, symmetric, x, P):
    if symmetric:
        c = f32(np.quantile(np.abs(x), P / 100, method='inverted_cdf'))
        return qparams(profile, dtype, symmetric, -c, c) + (None,)
    hi = f32(np.quantile(x, P / 100, method='inverted_cdf'))
    lo = -f32(np.quantile(-x, P / 100, method='inverted_cdf'))
    return qparams(profile, dtype, symmetric, lo, hi) + (None,)


def groups(x, granularity, axis, block):
    """The elements of each parameter, in the library's parameter order (ONNX layout)."""
    rows, cols = x.shape
    if granularity == 'tensor':
        return [x.reshape(-1)]
    if granularity == 'channel':
        return [x[r, :] for r in range(rows)] if axis == 0 else [x[:, c] for c in range(cols)]
    if axis == 1:
        return [x[r, b:b + block] for r in range(rows) for b in range(0, cols, block)]
    return [x[b:b + block, c] for b in range(0, rows, block) for c in range(cols)]


def bits(v):
    return struct.unpack('<I', struct.pack('<f', float(v)))[0]


def main():
    rng = np.random.default_rng(20240614)
    cases = []
    layouts = [('tensor', None, None, (7, 9)), ('channel', 0, None, (5, 37)), ('channel', 1, None, (23, 4)),
               ('group', 1, 16, (3, 40)), ('group', 1, 32, (4, 64)), ('group', 0, 8, (20, 3))]
    schemes = [(p, d, s) for p in ('onnx', 'pytorch') for d in ('int4', 'uint4', 'int8', 'uint8') for s in (True, False)]
    for k, (profile, dtype, symmetric) in enumerate(schemes):
        for j in range(2):
            granularity, axis, block, shape = layouts[(2 * k + j) % len(layouts)]
            x = (rng.standard_normal(shape) * rng.choice([0.02, 1.0, 300.0])).astype(f32)
            # Outliers: the reason to clip. One in every few rows, of either sign.
            flat = x.reshape(-1)
            for idx in rng.choice(flat.size, size=max(1, flat.size // 25), replace=False):
                flat[idx] = f32(flat[idx] * rng.choice([-9.0, 6.0, 12.0]))
            if j == 1 and k % 3 == 0:
                x = np.abs(x)  # one-signed data: the asymmetric range then excludes 0 until clamped
            options = {'grid': 100, 'maxShrink': 0.2, 'norm': 2.4}
            if k % 4 == 3:
                options = {'grid': [10, 50, 37][j % 3], 'maxShrink': [0.5, 0.3, 0.9][j % 3], 'norm': [2.0, 1.0, 3.5][j % 3]}
            scheme = {'dtype': dtype, 'symmetric': symmetric, 'granularity': granularity, 'profile': profile}
            if axis is not None:
                scheme['axis'] = axis
            if block is not None:
                scheme['blockSize'] = block
            parts = groups(x, granularity, axis, block)
            chosen = [mse_range(profile, dtype, symmetric, g, options['grid'], options['maxShrink'], options['norm'])
                      for g in parts]
            cases.append({
                'name': f"mse {profile} {dtype} {'sym' if symmetric else 'asym'} {granularity} {list(shape)}",
                'shape': list(shape), 'scheme': {**scheme, 'calibration': 'mse', 'mse': options},
                'input': [bits(v) for v in x.reshape(-1)],
                'scales': [bits(c[0]) for c in chosen], 'zeroPoints': [int(c[1]) for c in chosen],
                'candidates': [c[2] for c in chosen],
            })
            P = [99.0, 90.0, 75.5, 100.0][(k + j) % 4]
            chosen = [percentile_range(profile, dtype, symmetric, g, P) for g in parts]
            cases.append({
                'name': f"percentile {P} {profile} {dtype} {'sym' if symmetric else 'asym'} {granularity} {list(shape)}",
                'shape': list(shape), 'scheme': {**scheme, 'calibration': 'percentile', 'percentile': P},
                'input': [bits(v) for v in x.reshape(-1)],
                'scales': [bits(c[0]) for c in chosen], 'zeroPoints': [int(c[1]) for c in chosen],
            })
    with open(__file__.replace('calibration_oracle.py', 'calibration-vectors.json'), 'w') as f:
        json.dump({'cases': cases}, f, separators=(',', ':'))
        f.write('\n')


if __name__ == '__main__':
    main()
