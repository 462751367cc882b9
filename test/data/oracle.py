#!/usr/bin/env python3
"""Independent oracle for the CPU reference: writes test/data/oracle-vectors.json.

Written separately from src/cpu/ and in another language, on exact rational arithmetic: every
float32 operation is computed exactly with fractions.Fraction and rounded once to the nearest
float32 (ties to even), float16 rounding comes from Python's struct 'e' format, and round half to
even is Python's round(). The formulas are transcribed from the profiles' own sources:
ONNX QuantizeLinear / DynamicQuantizeLinear, torch.ao.quantization.observer._calculate_qparams
with FBGEMM's quantize (x * (1/scale)), and llama.cpp's quantize_row_q8_0_ref / quantize_row_q4_0_ref.

Run: python3 test/data/oracle.py  (standard library only; the JSON is committed).
"""
import json
import math
import random
import struct
from fractions import Fraction

F32_MAX = Fraction(struct.unpack('<f', struct.pack('<I', 0x7F7FFFFF))[0])


def f32(q):
    """Nearest float32 to the rational q, ties to even."""
    q = Fraction(q)
    if q == 0:
        return 0.0
    sign = -1 if q < 0 else 1
    q = abs(q)
    e = q.numerator.bit_length() - q.denominator.bit_length()
    while Fraction(2) ** e > q:
        e -= 1
    while Fraction(2) ** (e + 1) <= q:
        e += 1
    e = max(e, -126)
    ulp = Fraction(2) ** (e - 23)
    scaled = q / ulp
    n = scaled.numerator // scaled.denominator
    rem = scaled - n
    if rem > Fraction(1, 2) or (rem == Fraction(1, 2) and n % 2 == 1):
        n += 1
    r = n * ulp
    if r > F32_MAX:
        return sign * math.inf
    return sign * float(r)


def bits(x):
    return struct.unpack('<I', struct.pack('<f', x))[0]


def f16(x):
    try:
        return struct.unpack('<e', struct.pack('<e', x))[0]
    except OverflowError:
        return math.copysign(math.inf, x)


def div(a, b): return f32(Fraction(a) / Fraction(b))
def mul(a, b): return f32(Fraction(a) * Fraction(b))
def add(a, b): return f32(Fraction(a) + Fraction(b))
def sub(a, b): return f32(Fraction(a) - Fraction(b))
def clamp(v, lo, hi): return max(lo, min(hi, v))


RANGES = {'int8': (-128, 127), 'uint8': (0, 255), 'int4': (-8, 7), 'uint4': (0, 15)}


def param_index(shape, gran, axis, block):
    """For each flat index, the index into the scale tensor (row-major, ONNX layout)."""
    numel = math.prod(shape)
    out = []
    for i in range(numel):
        coords, rest = [], i
        for d in reversed(shape):
            coords.append(rest % d)
            rest //= d
        coords.reverse()
        if gran == 'tensor':
            out.append(0)
        elif gran == 'channel':
            out.append(coords[axis])
        else:
            pshape = list(shape)
            pshape[axis] = -(-shape[axis] // block)
            pc = list(coords)
            pc[axis] //= block
            p = 0
            for c, d in zip(pc, pshape):
                p = p * d + c
            out.append(p)
    return out


def onnx(vals, dtype, sym):
    qmin, qmax = RANGES[dtype]
    signed = qmin < 0
    if sym:
        qmin, qmax = (qmin + 1, qmax) if signed else (0, qmax - 1)
    rmin, rmax = min(min(vals, default=0), 0), max(max(vals, default=0), 0)
    if sym:
        rmax = max(-rmin, rmax)
        rmin = -rmax
    scale = div(sub(rmax, rmin), qmax - qmin)
    if scale == 0:
        scale = 1.0
    if sym:
        zp = 0 if signed else (qmax) // 2
    else:
        zp = round(clamp(sub(qmin, div(rmin, scale)), qmin, qmax))
    codes = [clamp(round(div(v, scale)) + zp, qmin, qmax) for v in vals]
    return scale, zp, codes


def pytorch(vals, dtype, sym):
    qmin, qmax = RANGES[dtype]
    eps = 2.0 ** -23
    min_neg, max_pos = min(min(vals, default=0), 0), max(max(vals, default=0), 0)
    if sym:
        amax = max(-min_neg, max_pos)
        scale = max(div(amax, Fraction(qmax - qmin, 2)), eps)
        zp = 0 if qmin < 0 else (qmax + 1) // 2
    else:
        scale = max(div(sub(max_pos, min_neg), qmax - qmin), eps)
        zp = clamp(qmin - round(div(min_neg, scale)), qmin, qmax)
    inv = div(1, scale)
    codes = [clamp(zp + round(mul(v, inv)), qmin, qmax) for v in vals]
    return scale, zp, codes


def q8_0(vals):
    amax = 0.0
    for v in vals:
        amax = max(amax, abs(v))
    d = div(amax, 127)
    i_d = div(1, d) if d else 0.0
    codes = []
    for v in vals:
        x0 = mul(v, i_d)
        codes.append(int(math.copysign(math.floor(abs(x0) + 0.5), x0)))  # roundf
    return f16(d), 0, codes


def q4_0(vals):
    amax, mx = 0.0, 0.0
    for v in vals:
        if amax < abs(v):
            amax, mx = abs(v), v
    d = div(mx, -8)
    i_d = div(1, d) if d else 0.0
    codes = [min(15, math.trunc(add(mul(v, i_d), 8.5))) - 8 for v in vals]
    return f16(d), 0, codes


def run_case(name, shape, data, scheme):
    gran, axis, block = scheme['granularity'], scheme.get('axis', 0), scheme.get('blockSize', 1)
    pidx = param_index(shape, gran, axis, block)
    nparams = max(pidx, default=-1) + 1
    if gran == 'channel':
        nparams = shape[axis]
    groups = [[] for _ in range(nparams)]
    for i, p in enumerate(pidx):
        groups[p].append(i)
    scales, zps, codes = [0] * nparams, [0] * nparams, [0] * len(data)
    for p, members in enumerate(groups):
        vals = [data[i] for i in members]
        prof, dt, sym = scheme['profile'], scheme['dtype'], scheme['symmetric']
        if prof == 'onnx':
            s, z, c = onnx(vals, dt, sym)
        elif prof == 'pytorch':
            s, z, c = pytorch(vals, dt, sym)
        else:
            s, z, c = (q8_0 if dt == 'int8' else q4_0)(vals)
        scales[p], zps[p] = bits(s), z
        for i, ci in zip(members, c):
            codes[i] = ci
    return {'name': name, 'shape': shape, 'scheme': scheme, 'input': [bits(v) for v in data],
            'scales': scales, 'zeroPoints': zps, 'codes': codes}


def normal(rng, n, std=1.0, outlier_every=0):
    out = [f32(Fraction(rng.gauss(0, std))) for _ in range(n)]
    if outlier_every:
        out = [v * 25 if (i // 8) % outlier_every == 0 else v for i, v in enumerate(out)]
        out = [f32(Fraction(v)) for v in out]
    return out


def ties(n):
    """Integers and halves: x/scale lands on k.5 whenever the scale comes out as 1 or 0.5."""
    base = [127.0, -128.0, 2.5, -2.5, 3.5, -3.5, 0.5, -0.5, 1.5, -1.5, 126.5, -127.5, 0.0, 64.5]
    return [base[i % len(base)] for i in range(n)]


def main():
    rng = random.Random(20261128)
    cases = []
    datasets = {
        'normal': lambda n: normal(rng, n),
        'outliers': lambda n: normal(rng, n, 0.05, outlier_every=3),
        'ties': ties,
    }
    for profile in ['onnx', 'pytorch']:
        for dtype in ['int8', 'uint8', 'int4', 'uint4']:
            for sym in [True, False]:
                for gran, axis, block, shape in [
                    ('tensor', None, None, [7, 13]),
                    ('channel', 0, None, [5, 3, 7]),
                    ('channel', 1, None, [5, 3, 7]),
                    ('channel', 2, None, [5, 3, 7]),
                    ('group', 1, 8, [6, 29]),
                    ('group', 0, 4, [9, 5]),
                    ('group', 1, 3, [2, 7, 3]),
                ]:
                    for dname, make in datasets.items():
                        scheme = {'dtype': dtype, 'symmetric': sym, 'granularity': gran, 'profile': profile}
                        if axis is not None:
                            scheme['axis'] = axis
                        if block is not None:
                            scheme['blockSize'] = block
                        data = make(math.prod(shape))
                        cases.append(run_case(f'{profile} {dtype} sym={sym} {gran} {axis} {block} {dname}',
                                              shape, data, scheme))
    for dtype in ['int8', 'int4']:
        for dname, make in datasets.items():
            for shape in [[3, 64], [2, 2, 32]]:
                scheme = {'dtype': dtype, 'symmetric': True, 'granularity': 'group', 'axis': len(shape) - 1,
                          'blockSize': 32, 'profile': 'ggml'}
                cases.append(run_case(f'ggml {dtype} {shape} {dname}', shape, make(math.prod(shape)), scheme))
    f16_inputs = [f32(Fraction(rng.gauss(0, 1)) * Fraction(2) ** rng.randint(-30, 18)) for _ in range(2000)]
    f16_inputs += [f32(Fraction(k, 2 ** 26)) for k in range(1, 200)]  # around the subnormal steps
    f16_vectors = [[bits(v), struct.unpack('<H', struct.pack('<e', f16(v)))[0]] for v in f16_inputs]
    with open(__file__.replace('oracle.py', 'oracle-vectors.json'), 'w') as f:
        json.dump({'source': 'test/data/oracle.py', 'cases': cases, 'f16': f16_vectors}, f, separators=(',', ':'))
    print(f'{len(cases)} cases')


if __name__ == '__main__':
    main()
