;; simd.wat — the fast CPU engine's runs in WebAssembly SIMD: min/max statistics and codes.
;;
;; Input: a segment table of `count` records of four i32 at `segs` — step, p, a, b — as
;;   src/fast/kernels.ts cuts a piece: elements a … b − 1 (offsets from `x`, in f32 elements;
;;   codes from `o`, in bytes) share parameter p when step is 0. Records with step 1 (the
;;   parameter steps with the element) are left to the JavaScript loops and skipped here.
;; Parameters: float32 arrays (scales or reciprocals) and i32 zero points, indexed by p.
;; Memory: one exported memory; the caller places every array and grows it.
;; Exactness: each lane does the reference's float32 operation — f32x4.div and f32x4.mul are the
;;   correctly rounded quotient and product, as Math.fround of JavaScript's double result;
;;   f32x4.nearest rounds half to even; the clamps keep a NaN (from 0·∞ or 0/0) as NaN, which
;;   trunc_sat then writes as code 0, as a NaN stored into a byte array is. Codes leave as their
;;   two's-complement low byte, so one store serves signed and unsigned dtypes.

(module
  (memory (export "memory") 1)

  ;; min and max of every step-0 record's run, into out[2s] and out[2s + 1]. f32x4.min and max
  ;; propagate NaN, and order −0 below +0: the caller rescans a run whose result is NaN, infinite
  ;; or zero, where the first element in flat order decides.
  (func (export "scan") (param $x i32) (param $segs i32) (param $count i32) (param $out i32)
    (local $rec i32) (local $end i32) (local $p i32) (local $e i32) (local $e8 i32)
    (local $mn v128) (local $mx v128) (local $mn2 v128) (local $mx2 v128) (local $v v128) (local $w v128)
    (local $smn f32) (local $smx f32)
    (local.set $end (i32.add (local.get $segs) (i32.shl (local.get $count) (i32.const 4))))
    (block $segsDone
      (loop $seg
        (br_if $segsDone (i32.ge_u (local.get $segs) (local.get $end)))
        (if (i32.eqz (i32.load (local.get $segs)))
          (then
            (local.set $p (i32.add (local.get $x) (i32.shl (i32.load offset=8 (local.get $segs)) (i32.const 2))))
            (local.set $e (i32.add (local.get $x) (i32.shl (i32.load offset=12 (local.get $segs)) (i32.const 2))))
            (local.set $e8 (i32.sub (local.get $e) (i32.const 28)))
            (local.set $mn (f32x4.splat (f32.const inf)))
            (local.set $mx (f32x4.splat (f32.const -inf)))
            (local.set $mn2 (local.get $mn))
            (local.set $mx2 (local.get $mx))
            (block $vecDone
              (loop $vec
                (br_if $vecDone (i32.ge_s (local.get $p) (local.get $e8)))
                (local.set $v (v128.load (local.get $p)))
                (local.set $w (v128.load offset=16 (local.get $p)))
                (local.set $mn (f32x4.min (local.get $mn) (local.get $v)))
                (local.set $mx (f32x4.max (local.get $mx) (local.get $v)))
                (local.set $mn2 (f32x4.min (local.get $mn2) (local.get $w)))
                (local.set $mx2 (f32x4.max (local.get $mx2) (local.get $w)))
                (local.set $p (i32.add (local.get $p) (i32.const 32)))
                (br $vec)))
            (local.set $mn (f32x4.min (local.get $mn) (local.get $mn2)))
            (local.set $mx (f32x4.max (local.get $mx) (local.get $mx2)))
            (local.set $smn (f32.min
              (f32.min (f32x4.extract_lane 0 (local.get $mn)) (f32x4.extract_lane 1 (local.get $mn)))
              (f32.min (f32x4.extract_lane 2 (local.get $mn)) (f32x4.extract_lane 3 (local.get $mn)))))
            (local.set $smx (f32.max
              (f32.max (f32x4.extract_lane 0 (local.get $mx)) (f32x4.extract_lane 1 (local.get $mx)))
              (f32.max (f32x4.extract_lane 2 (local.get $mx)) (f32x4.extract_lane 3 (local.get $mx)))))
            (block $tailDone
              (loop $tail
                (br_if $tailDone (i32.ge_s (local.get $p) (local.get $e)))
                (local.set $smn (f32.min (local.get $smn) (f32.load (local.get $p))))
                (local.set $smx (f32.max (local.get $smx) (f32.load (local.get $p))))
                (local.set $p (i32.add (local.get $p) (i32.const 4)))
                (br $tail)))
            (f32.store (local.get $out) (local.get $smn))
            (f32.store offset=4 (local.get $out) (local.get $smx))))
        (local.set $segs (i32.add (local.get $segs) (i32.const 16)))
        (local.set $out (i32.add (local.get $out) (i32.const 8)))
        (br $seg))))

  ;; ONNX QuantizeLinear, codes = clamp(nearest(x / scale) + zero point), per step-0 run.
  (func (export "codesDiv")
    (param $x i32) (param $o i32) (param $segs i32) (param $count i32) (param $scales i32) (param $zps i32)
    (param $qmin f32) (param $qmax f32)
    (local $end i32) (local $p i32) (local $q i32) (local $e i32) (local $e16 i32)
    (local $s v128) (local $z v128) (local $lo v128) (local $hi v128) (local $a v128) (local $b v128) (local $c v128) (local $d v128)
    (local $ss f32) (local $sz f32)
    (local.set $lo (f32x4.splat (local.get $qmin)))
    (local.set $hi (f32x4.splat (local.get $qmax)))
    (local.set $end (i32.add (local.get $segs) (i32.shl (local.get $count) (i32.const 4))))
    (block $segsDone
      (loop $seg
        (br_if $segsDone (i32.ge_u (local.get $segs) (local.get $end)))
        (if (i32.eqz (i32.load (local.get $segs)))
          (then
            (local.set $ss (f32.load (i32.add (local.get $scales) (i32.shl (i32.load offset=4 (local.get $segs)) (i32.const 2)))))
            (local.set $sz (f32.convert_i32_s (i32.load (i32.add (local.get $zps) (i32.shl (i32.load offset=4 (local.get $segs)) (i32.const 2))))))
            (local.set $s (f32x4.splat (local.get $ss)))
            (local.set $z (f32x4.splat (local.get $sz)))
            (local.set $p (i32.add (local.get $x) (i32.shl (i32.load offset=8 (local.get $segs)) (i32.const 2))))
            (local.set $q (i32.add (local.get $o) (i32.load offset=8 (local.get $segs))))
            (local.set $e (i32.add (local.get $o) (i32.load offset=12 (local.get $segs))))
            (local.set $e16 (i32.sub (local.get $e) (i32.const 15)))
            (block $vecDone
              (loop $vec
                (br_if $vecDone (i32.ge_s (local.get $q) (local.get $e16)))
                (local.set $a (i32x4.trunc_sat_f32x4_s (f32x4.pmin (f32x4.pmax (f32x4.add (f32x4.nearest
                  (f32x4.div (v128.load (local.get $p)) (local.get $s))) (local.get $z)) (local.get $lo)) (local.get $hi))))
                (local.set $b (i32x4.trunc_sat_f32x4_s (f32x4.pmin (f32x4.pmax (f32x4.add (f32x4.nearest
                  (f32x4.div (v128.load offset=16 (local.get $p)) (local.get $s))) (local.get $z)) (local.get $lo)) (local.get $hi))))
                (local.set $c (i32x4.trunc_sat_f32x4_s (f32x4.pmin (f32x4.pmax (f32x4.add (f32x4.nearest
                  (f32x4.div (v128.load offset=32 (local.get $p)) (local.get $s))) (local.get $z)) (local.get $lo)) (local.get $hi))))
                (local.set $d (i32x4.trunc_sat_f32x4_s (f32x4.pmin (f32x4.pmax (f32x4.add (f32x4.nearest
                  (f32x4.div (v128.load offset=48 (local.get $p)) (local.get $s))) (local.get $z)) (local.get $lo)) (local.get $hi))))
                (v128.store (local.get $q) (call $lowBytes (local.get $a) (local.get $b) (local.get $c) (local.get $d)))
                (local.set $p (i32.add (local.get $p) (i32.const 64)))
                (local.set $q (i32.add (local.get $q) (i32.const 16)))
                (br $vec)))
            (block $tailDone
              (loop $tail
                (br_if $tailDone (i32.ge_s (local.get $q) (local.get $e)))
                (i32.store8 (local.get $q) (call $clampCode
                  (f32.add (f32.nearest (f32.div (f32.load (local.get $p)) (local.get $ss))) (local.get $sz)) (local.get $qmin) (local.get $qmax)))
                (local.set $p (i32.add (local.get $p) (i32.const 4)))
                (local.set $q (i32.add (local.get $q) (i32.const 1)))
                (br $tail)))))
        (local.set $segs (i32.add (local.get $segs) (i32.const 16)))
        (br $seg))))

  ;; PyTorch (FBGEMM), codes = clamp(nearest(x · (1/scale)) + zero point), per step-0 run.
  (func (export "codesMul")
    (param $x i32) (param $o i32) (param $segs i32) (param $count i32) (param $inv i32) (param $zps i32)
    (param $qmin f32) (param $qmax f32)
    (local $end i32) (local $p i32) (local $q i32) (local $e i32) (local $e16 i32)
    (local $s v128) (local $z v128) (local $lo v128) (local $hi v128) (local $a v128) (local $b v128) (local $c v128) (local $d v128)
    (local $ss f32) (local $sz f32)
    (local.set $lo (f32x4.splat (local.get $qmin)))
    (local.set $hi (f32x4.splat (local.get $qmax)))
    (local.set $end (i32.add (local.get $segs) (i32.shl (local.get $count) (i32.const 4))))
    (block $segsDone
      (loop $seg
        (br_if $segsDone (i32.ge_u (local.get $segs) (local.get $end)))
        (if (i32.eqz (i32.load (local.get $segs)))
          (then
            (local.set $ss (f32.load (i32.add (local.get $inv) (i32.shl (i32.load offset=4 (local.get $segs)) (i32.const 2)))))
            (local.set $sz (f32.convert_i32_s (i32.load (i32.add (local.get $zps) (i32.shl (i32.load offset=4 (local.get $segs)) (i32.const 2))))))
            (local.set $s (f32x4.splat (local.get $ss)))
            (local.set $z (f32x4.splat (local.get $sz)))
            (local.set $p (i32.add (local.get $x) (i32.shl (i32.load offset=8 (local.get $segs)) (i32.const 2))))
            (local.set $q (i32.add (local.get $o) (i32.load offset=8 (local.get $segs))))
            (local.set $e (i32.add (local.get $o) (i32.load offset=12 (local.get $segs))))
            (local.set $e16 (i32.sub (local.get $e) (i32.const 15)))
            (block $vecDone
              (loop $vec
                (br_if $vecDone (i32.ge_s (local.get $q) (local.get $e16)))
                (local.set $a (i32x4.trunc_sat_f32x4_s (f32x4.pmin (f32x4.pmax (f32x4.add (f32x4.nearest
                  (f32x4.mul (v128.load (local.get $p)) (local.get $s))) (local.get $z)) (local.get $lo)) (local.get $hi))))
                (local.set $b (i32x4.trunc_sat_f32x4_s (f32x4.pmin (f32x4.pmax (f32x4.add (f32x4.nearest
                  (f32x4.mul (v128.load offset=16 (local.get $p)) (local.get $s))) (local.get $z)) (local.get $lo)) (local.get $hi))))
                (local.set $c (i32x4.trunc_sat_f32x4_s (f32x4.pmin (f32x4.pmax (f32x4.add (f32x4.nearest
                  (f32x4.mul (v128.load offset=32 (local.get $p)) (local.get $s))) (local.get $z)) (local.get $lo)) (local.get $hi))))
                (local.set $d (i32x4.trunc_sat_f32x4_s (f32x4.pmin (f32x4.pmax (f32x4.add (f32x4.nearest
                  (f32x4.mul (v128.load offset=48 (local.get $p)) (local.get $s))) (local.get $z)) (local.get $lo)) (local.get $hi))))
                (v128.store (local.get $q) (call $lowBytes (local.get $a) (local.get $b) (local.get $c) (local.get $d)))
                (local.set $p (i32.add (local.get $p) (i32.const 64)))
                (local.set $q (i32.add (local.get $q) (i32.const 16)))
                (br $vec)))
            (block $tailDone
              (loop $tail
                (br_if $tailDone (i32.ge_s (local.get $q) (local.get $e)))
                (i32.store8 (local.get $q) (call $clampCode
                  (f32.add (f32.nearest (f32.mul (f32.load (local.get $p)) (local.get $ss))) (local.get $sz)) (local.get $qmin) (local.get $qmax)))
                (local.set $p (i32.add (local.get $p) (i32.const 4)))
                (local.set $q (i32.add (local.get $q) (i32.const 1)))
                (br $tail)))))
        (local.set $segs (i32.add (local.get $segs) (i32.const 16)))
        (br $seg))))

  ;; ggml Q8_0, codes = clamp(roundf(x · id)) with roundf's ties away from zero: the truncation,
  ;; plus the sign where the dropped fraction is at least one half. A block whose id = 1/d
  ;; overflowed gets code 0, as llama.cpp writes it on x86.
  (func (export "codesQ8") (param $x i32) (param $o i32) (param $segs i32) (param $count i32) (param $inv i32)
    (local $end i32) (local $p i32) (local $q i32) (local $e i32) (local $e16 i32) (local $ss f32)
    (local $s v128) (local $a v128) (local $b v128) (local $c v128) (local $d v128)
    (local.set $end (i32.add (local.get $segs) (i32.shl (local.get $count) (i32.const 4))))
    (block $segsDone
      (loop $seg
        (br_if $segsDone (i32.ge_u (local.get $segs) (local.get $end)))
        (if (i32.eqz (i32.load (local.get $segs)))
          (then
            (local.set $ss (f32.load (i32.add (local.get $inv) (i32.shl (i32.load offset=4 (local.get $segs)) (i32.const 2)))))
            (local.set $s (f32x4.splat (local.get $ss)))
            (local.set $p (i32.add (local.get $x) (i32.shl (i32.load offset=8 (local.get $segs)) (i32.const 2))))
            (local.set $q (i32.add (local.get $o) (i32.load offset=8 (local.get $segs))))
            (local.set $e (i32.add (local.get $o) (i32.load offset=12 (local.get $segs))))
            (if (f32.eq (f32.abs (local.get $ss)) (f32.const inf))
              (then (memory.fill (local.get $q) (i32.const 0) (i32.sub (local.get $e) (local.get $q))))
              (else
                (local.set $e16 (i32.sub (local.get $e) (i32.const 15)))
                (block $vecDone
                  (loop $vec
                    (br_if $vecDone (i32.ge_s (local.get $q) (local.get $e16)))
                    (local.set $a (call $q8Lanes (f32x4.mul (v128.load (local.get $p)) (local.get $s))))
                    (local.set $b (call $q8Lanes (f32x4.mul (v128.load offset=16 (local.get $p)) (local.get $s))))
                    (local.set $c (call $q8Lanes (f32x4.mul (v128.load offset=32 (local.get $p)) (local.get $s))))
                    (local.set $d (call $q8Lanes (f32x4.mul (v128.load offset=48 (local.get $p)) (local.get $s))))
                    (v128.store (local.get $q) (call $lowBytes (local.get $a) (local.get $b) (local.get $c) (local.get $d)))
                    (local.set $p (i32.add (local.get $p) (i32.const 64)))
                    (local.set $q (i32.add (local.get $q) (i32.const 16)))
                    (br $vec)))
                (block $tailDone
                  (loop $tail
                    (br_if $tailDone (i32.ge_s (local.get $q) (local.get $e)))
                    (i32.store8 (local.get $q) (i32x4.extract_lane 0
                      (call $q8Lanes (f32x4.splat (f32.mul (f32.load (local.get $p)) (local.get $ss))))))
                    (local.set $p (i32.add (local.get $p) (i32.const 4)))
                    (local.set $q (i32.add (local.get $q) (i32.const 1)))
                    (br $tail)))))))
        (local.set $segs (i32.add (local.get $segs) (i32.const 16)))
        (br $seg))))

  ;; ggml Q4_0, codes = MIN(15, (int8_t)(x · id + 8.5f)) − 8: the float32 sum, clamped to
  ;; [0, 15] (the same as truncating first) and truncated. An overflowed id gives code −8.
  (func (export "codesQ4") (param $x i32) (param $o i32) (param $segs i32) (param $count i32) (param $inv i32)
    (local $end i32) (local $p i32) (local $q i32) (local $e i32) (local $e16 i32) (local $ss f32)
    (local $s v128) (local $a v128) (local $b v128) (local $c v128) (local $d v128)
    (local.set $end (i32.add (local.get $segs) (i32.shl (local.get $count) (i32.const 4))))
    (block $segsDone
      (loop $seg
        (br_if $segsDone (i32.ge_u (local.get $segs) (local.get $end)))
        (if (i32.eqz (i32.load (local.get $segs)))
          (then
            (local.set $ss (f32.load (i32.add (local.get $inv) (i32.shl (i32.load offset=4 (local.get $segs)) (i32.const 2)))))
            (local.set $s (f32x4.splat (local.get $ss)))
            (local.set $p (i32.add (local.get $x) (i32.shl (i32.load offset=8 (local.get $segs)) (i32.const 2))))
            (local.set $q (i32.add (local.get $o) (i32.load offset=8 (local.get $segs))))
            (local.set $e (i32.add (local.get $o) (i32.load offset=12 (local.get $segs))))
            (if (f32.eq (f32.abs (local.get $ss)) (f32.const inf))
              (then (memory.fill (local.get $q) (i32.const 0xf8) (i32.sub (local.get $e) (local.get $q))))
              (else
                (local.set $e16 (i32.sub (local.get $e) (i32.const 15)))
                (block $vecDone
                  (loop $vec
                    (br_if $vecDone (i32.ge_s (local.get $q) (local.get $e16)))
                    (local.set $a (call $q4Lanes (f32x4.mul (v128.load (local.get $p)) (local.get $s))))
                    (local.set $b (call $q4Lanes (f32x4.mul (v128.load offset=16 (local.get $p)) (local.get $s))))
                    (local.set $c (call $q4Lanes (f32x4.mul (v128.load offset=32 (local.get $p)) (local.get $s))))
                    (local.set $d (call $q4Lanes (f32x4.mul (v128.load offset=48 (local.get $p)) (local.get $s))))
                    (v128.store (local.get $q) (call $lowBytes (local.get $a) (local.get $b) (local.get $c) (local.get $d)))
                    (local.set $p (i32.add (local.get $p) (i32.const 64)))
                    (local.set $q (i32.add (local.get $q) (i32.const 16)))
                    (br $vec)))
                (block $tailDone
                  (loop $tail
                    (br_if $tailDone (i32.ge_s (local.get $q) (local.get $e)))
                    (i32.store8 (local.get $q) (i32x4.extract_lane 0
                      (call $q4Lanes (f32x4.splat (f32.mul (f32.load (local.get $p)) (local.get $ss))))))
                    (local.set $p (i32.add (local.get $p) (i32.const 4)))
                    (local.set $q (i32.add (local.get $q) (i32.const 1)))
                    (br $tail)))))))
        (local.set $segs (i32.add (local.get $segs) (i32.const 16)))
        (br $seg))))

  ;; Q8_0's codes of four products t: trunc(t) ± 1 where |t − trunc(t)| ≥ ½, clamped to [−128, 127].
  (func $q8Lanes (param $t v128) (result v128)
    (local $r v128)
    (local.set $r (f32x4.trunc (local.get $t)))
    (i32x4.trunc_sat_f32x4_s (f32x4.pmin (f32x4.pmax
      (f32x4.add (local.get $r) (v128.and
        (f32x4.ge (f32x4.abs (f32x4.sub (local.get $t) (local.get $r))) (f32x4.splat (f32.const 0.5)))
        (v128.or (v128.and (local.get $t) (i32x4.splat (i32.const 0x80000000))) (f32x4.splat (f32.const 1)))))
      (f32x4.splat (f32.const -128))) (f32x4.splat (f32.const 127)))))

  ;; Q4_0's codes of four products t: t + 8.5 in float32, clamped to [0, 15], truncated, less 8.
  (func $q4Lanes (param $t v128) (result v128)
    (i32x4.sub (i32x4.trunc_sat_f32x4_s (f32x4.pmin (f32x4.pmax
      (f32x4.add (local.get $t) (f32x4.splat (f32.const 8.5)))
      (f32x4.splat (f32.const 0))) (f32x4.splat (f32.const 15)))) (i32x4.splat (i32.const 8))))

  ;; The low bytes of sixteen i32 lanes (each in −128 … 255), in order.
  (func $lowBytes (param $a v128) (param $b v128) (param $c v128) (param $d v128) (result v128)
    (i8x16.shuffle 0 2 4 6 8 10 12 14 16 18 20 22 24 26 28 30
      (i16x8.narrow_i32x4_s (local.get $a) (local.get $b))
      (i16x8.narrow_i32x4_s (local.get $c) (local.get $d))))

  ;; One code: r clamped to [qmin, qmax] as the reference clamps (a NaN passes), truncated (NaN → 0).
  (func $clampCode (param $r f32) (param $qmin f32) (param $qmax f32) (result i32)
    (i32.trunc_sat_f32_s
      (select (local.get $qmax)
        (select (local.get $qmin) (local.get $r) (f32.lt (local.get $r) (local.get $qmin)))
        (f32.gt (local.get $r) (local.get $qmax)))))
)
