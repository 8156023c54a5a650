// The weight gradient of the Winograd convolution (ConvWinograd.cs) by F(3x3, 2x2): dw[co][ci] is the sum over the
// 2x2 output tiles of the correlation of the tile's 4x4 input patch d (the forward's patch) with its 2x2 output
// gradient e, which is A'^T [(G' e G'^T) .* (B^T d B)] A'. The output transform is linear, so the sum runs in the
// transform domain: per thread, 16 products S[xi] (ci x co) += V[xi] E[xi] over blocks of tiles, by the shift
// convolution's weight-gradient tiles (IConvShiftGradTile: V broadcast, output channels in the vector lanes of E, which
// is built from the output gradient laid out position-major by ConvColumns.ToPositionMajor); the partials are added
// in a fixed order (reproducible), then each weight gets one 4x4 -> 3x3 output transform.
using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Engine.Backends.Cpu;

/// <summary>The weight gradient of 3x3 stride-1 padding-1 convolutions by Winograd F(3x3, 2x2) (see the file comment).</summary>
internal static unsafe class ConvWinogradGrad
{
    // Tiles per block (measured on Zen 4 against 32, 64 and 256: fewer calls of the register tiles, longer sums in them).
    private const int Block = 128;

    private static readonly HostScratch Scratch = new();

    /// <summary>dw (Out x In x 3 x 3) = the weight gradient for x (images of In planes) and dy (Out planes), or plus dw.</summary>
    public static void WeightGrad<TG>(in ConvWinograd.Problem p, float* x, float* dy, float* dw, bool accumulate)
        where TG : struct, IConvShiftGradTile
    {
        int nb = Block, kPad = ConvShift.RoundUp(p.In, TG.MQ), ldd = ConvShift.RoundUp(p.Out, TG.NC);
        long sums = ConvShift.Align(16L * kPad * ldd), offs = ConvShift.Align(kPad);
        long pad = ConvShift.Align((4L * p.In * p.Plane) + p.Wp + 1 + nb), dT = ConvShift.Align((long)p.Group * p.H * p.W * ldd);
        long v = 16 * ConvWinogradMath.Stride(p.In, nb), e = 16 * ConvWinogradMath.Stride(nb, ldd);
        long slot = sums + pad + dT + v + e;
        int slots = Math.Max(1, Math.Min(HostParallel.Degree, p.Units));
        float* s = Scratch.Rent(offs + (slots * slot), out nint token);
        try
        {
            int* off = (int*)s;
            for (int q = 0; q < kPad; q++)
            {
                off[q] = q < p.In ? q * nb : 0;
            }

            var body = new Body<TG>
            {
                P = p, X = x, Dy = dy, Off = off, Slots = s + offs, SlotSize = slot, SumSize = sums, PadSize = pad, DTSize = dT, VSize = v,
                KPad = kPad, Ldd = ldd, Count = slots,
            };
            HostParallel.For(slots, ref body);
            Finish(p, s + offs, slot, slots, kPad, ldd, dw, accumulate);
        }
        finally
        {
            Scratch.Return(token);
        }
    }

    /// <summary>dw[co][ci] = A'^T (the slots' S[xi][ci][co], summed in slot order) A' (+ dw).</summary>
    private static void Finish(in ConvWinograd.Problem p, float* slots, long slotSize, int count, int kPad, int ldd, float* dw, bool accumulate)
    {
        float* m = stackalloc float[16];
        long xs = (long)kPad * ldd;
        for (int co = 0; co < p.Out; co++)
        {
            for (int ci = 0; ci < p.In; ci++)
            {
                long at = ((long)ci * ldd) + co;
                for (int xi = 0; xi < 16; xi++)
                {
                    float sum = 0f;
                    for (int sl = 0; sl < count; sl++)
                    {
                        sum += slots[(sl * slotSize) + (xi * xs) + at];
                    }

                    m[xi] = sum;
                }

                WeightOutputTransform(m, dw + ((((long)co * p.In) + ci) * 9), accumulate);
            }
        }
    }

    /// <summary>dst (3 x 3) = A'^T m A' (m 4 x 4 row-major), or plus dst.</summary>
    private static void WeightOutputTransform(float* m, float* dst, bool accumulate)
    {
        // u = A'^T m (3 x 4): rows m0 + m1 + m2, m1 - m2, m1 + m2 + m3; then dst = u A' column-wise the same.
        for (int k = 0; k < 3; k++)
        {
            float u0 = k switch { 0 => m[0] + m[4] + m[8], 1 => m[4] - m[8], _ => m[4] + m[8] + m[12] };
            float u1 = k switch { 0 => m[1] + m[5] + m[9], 1 => m[5] - m[9], _ => m[5] + m[9] + m[13] };
            float u2 = k switch { 0 => m[2] + m[6] + m[10], 1 => m[6] - m[10], _ => m[6] + m[10] + m[14] };
            float u3 = k switch { 0 => m[3] + m[7] + m[11], 1 => m[7] - m[11], _ => m[7] + m[11] + m[15] };
            float* d = dst + (3 * k);
            d[0] = u0 + u1 + u2 + (accumulate ? d[0] : 0f);
            d[1] = u1 - u2 + (accumulate ? d[1] : 0f);
            d[2] = u1 + u2 + u3 + (accumulate ? d[2] : 0f);
        }
    }

    /// <summary>
    /// e[xi][j][lane] (xi es apart, rows ldd apart) = (G' e G'^T)[xi] of the 2x2 output gradient of the block's tiles
    /// (runs; image g of the unit position-major in dT, h * w * ldd floats per image; zero past the planes).
    /// G' = [1 0; 1/2 1/2; 1/2 -1/2; 0 -1] (B^T's last row is the forward's).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GradTransform(float* dT, int ldd, TileRun* runs, int nRuns, int h, int w, float* e, long es)
    {
        long image = (long)h * w * ldd;
        var half = Vector256.Create(0.5f);
        for (int ri = 0; ri < nRuns; ri++)
        {
            var run = runs[ri];
            int r = 2 * run.Ty;
            bool below = r + 1 < h;
            for (int i = 0; i < run.Len; i++)
            {
                int c = 2 * (run.Tx + i);
                bool right = c + 1 < w;
                float* b00 = dT + (run.Image * image) + ((((long)r * w) + c) * ldd);
                float* o = e + ((long)(run.J + i) * ldd);
                for (int k = 0; k < ldd; k += 8)
                {
                    var e00 = Vector256.Load(b00 + k);
                    var e01 = right ? Vector256.Load(b00 + ldd + k) : Vector256<float>.Zero;
                    var e10 = below ? Vector256.Load(b00 + ((long)w * ldd) + k) : Vector256<float>.Zero;
                    var e11 = right && below ? Vector256.Load(b00 + ((long)(w + 1) * ldd) + k) : Vector256<float>.Zero;

                    // t = G' e (4 x 2), then E = t G'^T row by row.
                    var t10 = half * (e00 + e10); var t11 = half * (e01 + e11);
                    var t20 = half * (e00 - e10); var t21 = half * (e01 - e11);
                    GradRow(e00, e01, o + k, es, half);
                    GradRow(t10, t11, o + k + (4 * es), es, half);
                    GradRow(t20, t21, o + k + (8 * es), es, half);
                    GradRow(-e10, -e11, o + k + (12 * es), es, half);
                }
            }
        }
    }

    // One row of E = t G'^T: (t0, (t0 + t1) / 2, (t0 - t1) / 2, -t1) into four transform positions es apart.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GradRow(Vector256<float> t0, Vector256<float> t1, float* o, long es, Vector256<float> half)
    {
        t0.Store(o);
        (half * (t0 + t1)).Store(o + es);
        (half * (t0 - t1)).Store(o + (2 * es));
        (-t1).Store(o + (3 * es));
    }

    private struct Body<TG> : IRangeBody
        where TG : struct, IConvShiftGradTile
    {
        public ConvWinograd.Problem P;
        public float* X, Dy, Slots;
        public int* Off;
        public long SlotSize, SumSize, PadSize, DTSize, VSize;
        public int KPad, Ldd, Count;

        public readonly void Run(int start, int end)
        {
            for (int slot = start; slot < end; slot++)
            {
                RunSlot(slot);
            }
        }

        private readonly void RunSlot(int slot)
        {
            var p = P;
            int nb = Block, wp = p.Wp, rows = p.Rows, ldd = Ldd, hw = p.H * p.W;
            long plane = p.Plane, inImage = (long)p.In * hw, outImage = (long)p.Out * hw, vs = ConvWinogradMath.Stride(p.In, nb), es = ConvWinogradMath.Stride(nb, ldd);
            float* sums = Slots + (slot * SlotSize), pad = sums + SumSize, dT = pad + PadSize, v = dT + DTSize, e = v + VSize;
            new Span<float>(sums, checked((int)(SumSize + PadSize + DTSize))).Clear();
            TileRun* runs = stackalloc TileRun[nb];

            // A fixed, contiguous range of units per slot: every partial sums the same images in the same order.
            int first = (int)((long)slot * p.Units / Count), last = (int)((long)(slot + 1) * p.Units / Count);
            for (int unit = first; unit < last; unit++)
            {
                int img = unit * p.Group, n = Math.Min(p.Group, p.Images - img);
                new Span<float>(pad, checked((int)PadSize)).Clear();
                for (int g = 0; g < n; g++)
                {
                    ShiftPlanes.PadStride2(X + ((img + g) * inImage), p.In, p.H, p.W, 1, 1, plane, rows, wp, pad + ((long)g * rows * wp));
                    ConvColumns.ToPositionMajor(Dy + ((img + g) * outImage), p.Out, hw, dT + ((long)g * hw * ldd), ldd);
                }

                int tiles = n * p.TileH * p.TileW;
                for (int p0 = 0; p0 < tiles; p0 += nb)
                {
                    // v[xi][ci][nb] = B^T d B, e[xi][nb][ldd] = G' e G'^T of the tiles from p0; sums[xi][ci][co] += v[xi] e[xi]
                    // over the block's count tiles (v's columns past them hold garbage).
                    int count = Math.Min(nb, tiles - p0), nRuns = ConvWinogradMath.Runs(p0, count, p.TileH, p.TileW, rows, wp, runs);
                    ConvWinogradMath.InputTransform(pad, p.In, plane, wp, runs, nRuns, nb, v);
                    GradTransform(dT, ldd, runs, nRuns, p.H, p.W, e, es);
                    for (int xi = 0; xi < 16; xi++)
                    {
                        float* vx = v + (xi * vs), ex = e + (xi * es), sx = sums + ((long)xi * KPad * ldd);
                        for (int q0 = 0; q0 < KPad; q0 += TG.MQ)
                        {
                            for (int c0 = 0; c0 < ldd; c0 += TG.NC)
                            {
                                TG.Run(1, count, nb, vx, Off + q0, ex + c0, ldd, sx + ((long)q0 * ldd) + c0, ldd);
                            }
                        }
                    }
                }
            }
        }
    }
}
