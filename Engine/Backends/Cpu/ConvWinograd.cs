// Winograd F(2x2, 3x3) host convolution for the commonest layer of CNNs and ResNets: 3x3 kernel, stride 1, padding 1,
// one group. Each 2x2 output tile costs 16 multiply-adds per channel pair instead of 36. Per unit of images (stacked
// until about 256 tiles, so small maps fill the blocks), the zero-padded input is split once into its four stride-2
// phases (ShiftPlanes.PadStride2), where the 4x4 patch of a tile is 16 constant shifts along a row of tiles; blocks of
// NR tiles (numbered without gaps, cut into runs at the ends of tile rows) are transformed (V = B^T d B,
// ConvWinogradMath), multiplied at each of the 16 transform positions by the transformed weights (U = G g G^T) with
// the shift convolution's register tiles (IConvShiftTile), and transformed back (Y = A^T M A). The input gradient is
// the same convolution of the output gradient with flipped, transposed weights; the weight gradient is in
// ConvWinogradGrad.cs. Results differ from the direct convolution by rounding only (ConvWinogradTests bound the
// difference against a double reference). Used by CpuConvFused.
using System;
using System.Threading;
using Engine.Kernels.Conv;

namespace Engine.Backends.Cpu;

/// <summary>3x3 stride-1 padding-1 conv2d forward and input gradient by Winograd F(2x2, 3x3) (see the file comment).</summary>
internal static unsafe class ConvWinograd
{
    /// <summary>Fewer input or output channels than this leave the products too thin for the transforms to pay.</summary>
    public const int MinChannels = 8;

    private static readonly HostScratch Scratch = new();

    /// <summary>
    /// Whether this convolution runs here with <paramref name="kernel"/>: 512 or 256-bit tiles, one group, a 3x3 kernel
    /// with stride 1, dilation 1 and padding 1 on every side (output as large as the input), at least
    /// <see cref="MinChannels"/> input and output channels.
    /// </summary>
    public static bool Applies(in Im2ColParams conv, int groups, int outChannels, GemmKernel kernel) =>
        kernel is GemmKernel.Vector512 or GemmKernel.Vector256 && groups == 1 && conv.KernelH == 3 && conv.KernelW == 3
        && conv.StrideH == 1 && conv.StrideW == 1 && conv.DilationH == 1 && conv.DilationW == 1 && conv.PadTop == 1 && conv.PadLeft == 1
        && conv.OutH == conv.Height && conv.OutW == conv.Width && conv.Height > 0 && conv.Width > 0
        && conv.Channels >= MinChannels && outChannels >= MinChannels;

    /// <summary>y = conv2d(x, w) + b (b may be null) over the batch of <paramref name="conv"/>; w is [outChannels, Channels, 3, 3].</summary>
    public static void Forward(GemmKernel kernel, in Im2ColParams conv, int outChannels, float* x, float* w, float* b, float* y) =>
        Run(kernel, new Problem(conv, conv.Channels, outChannels, flip: false), x, w, b, y, 0f);

    /// <summary>dw = the weight gradient of <paramref name="conv"/> for x and dy (overwritten or, with <paramref name="accumulate"/>, added to).</summary>
    public static void WeightGrad(GemmKernel kernel, in Im2ColParams conv, int outChannels, float* x, float* dy, float* dw, bool accumulate)
    {
        var p = new Problem(conv, conv.Channels, outChannels, flip: false);
        switch (kernel)
        {
            case GemmKernel.Vector512 when ConvShift.NarrowGradTile(outChannels):
                ConvWinogradGrad.WeightGrad<ConvShiftGradTile512Narrow>(p, x, dy, dw, accumulate);
                break;
            case GemmKernel.Vector512:
                ConvWinogradGrad.WeightGrad<ConvShiftGradTile512>(p, x, dy, dw, accumulate);
                break;
            case GemmKernel.Vector256:
                ConvWinogradGrad.WeightGrad<ConvShiftGradTile256>(p, x, dy, dw, accumulate);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kernel), kernel, "the Winograd convolution has 512 and 256-bit tiles only");
        }
    }

    /// <summary>dx = the input gradient of <paramref name="conv"/> for dy (overwritten or, with <paramref name="accumulate"/>, added to).</summary>
    public static void InputGrad(GemmKernel kernel, in Im2ColParams conv, int outChannels, float* w, float* dy, float* dx, bool accumulate) =>
        Run(kernel, new Problem(conv, outChannels, conv.Channels, flip: true), dy, w, null, dx, accumulate ? 1f : 0f);

    private static void Run(GemmKernel kernel, in Problem p, float* src, float* w, float* bias, float* dst, float beta)
    {
        switch (kernel)
        {
            case GemmKernel.Vector512:
                Run<ConvShiftTile512>(p, src, w, bias, dst, beta);
                break;
            case GemmKernel.Vector256:
                Run<ConvShiftTile256>(p, src, w, bias, dst, beta);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kernel), kernel, "the Winograd convolution has 512 and 256-bit tiles only");
        }
    }

    private static void Run<TT>(in Problem p, float* src, float* w, float* bias, float* dst, float beta)
        where TT : struct, IConvShiftTile
    {
        int nr = TT.NR, mr = TT.MR, outPad = ConvShift.RoundUp(p.Out, mr);
        long u = ConvShift.Align(16L * outPad * p.In), offs = ConvShift.Align(p.In);
        long pad = ConvShift.Align((4L * p.In * p.Plane) + p.Wp + 1 + nr), v = 16 * ConvWinogradMath.Stride(p.In, nr), m = 16 * ConvWinogradMath.Stride(outPad, nr), o = 4 * ConvWinogradMath.Stride(p.Out, nr);
        long slot = pad + v + m + o;
        int slots = Math.Max(1, Math.Min(HostParallel.Degree, p.Units));
        float* s = Scratch.Rent(u + offs + (slots * slot), out nint token);
        try
        {
            ConvWinogradMath.TransformWeights(w, p.In, p.Out, p.Flip, mr, outPad, s);
            int* off = (int*)(s + u);
            for (int ci = 0; ci < p.In; ci++)
            {
                off[ci] = ci * nr;
            }

            int next = 0;
            var body = new Body<TT>
            {
                P = p, Src = src, Bias = bias, Dst = dst, Beta = beta, U = s, Off = off, Slots = s + u + offs, SlotSize = slot,
                PadSize = pad, VSize = v, MSize = m, OutPad = outPad, Next = &next,
            };
            HostParallel.For(slots, ref body);
        }
        finally
        {
            Scratch.Return(token);
        }
    }

    /// <summary>
    /// One convolution as this file runs it: In planes of H x W into Out planes of H x W per image, in units of Group
    /// images whose padded planes are stacked (so small planes still fill blocks of tiles).
    /// </summary>
    internal readonly struct Problem
    {
        // A unit stacks images until it holds about this many tiles.
        private const int UnitTiles = 256;

        public readonly int Images, In, Out, H, W, TileH, TileW, Group;
        public readonly bool Flip;

        public Problem(in Im2ColParams conv, int inChannels, int outChannels, bool flip)
        {
            (Images, In, Out, H, W, Flip) = (conv.Images, inChannels, outChannels, conv.Height, conv.Width, flip);
            TileH = (H + 1) / 2;
            TileW = (W + 1) / 2;
            int perThread = (Images + HostParallel.Degree - 1) / HostParallel.Degree;
            Group = Math.Clamp(UnitTiles / (TileH * TileW), 1, Math.Max(1, perThread));
        }

        /// <summary>Phase rows per image (one more than the tile rows: the last tile row reads one row down).</summary>
        public int Rows => TileH + 1;

        /// <summary>Phase row length (one more than the tile columns: the last tile of a row reads one column right).</summary>
        public int Wp => TileW + 1;

        /// <summary>
        /// Floats per phase plane: Group images of Rows x Wp. Phase (a, b) row r, column j of image g = padded row 2 r + a,
        /// column 2 j + b of that image; tile (g, ty, tx) reads its patch row k, column l at phase (k % 2, l % 2), shift
        /// (g * Rows + ty + k / 2) * Wp + tx + l / 2.
        /// </summary>
        public int Plane => Group * Rows * Wp;

        /// <summary>Units of Group images (the last may hold fewer).</summary>
        public int Units => (Images + Group - 1) / Group;
    }

    private struct Body<TT> : IRangeBody
        where TT : struct, IConvShiftTile
    {
        public Problem P;
        public float* Src, Bias, Dst, U, Slots;
        public int* Off, Next;
        public long SlotSize, PadSize, VSize, MSize;
        public int OutPad;
        public float Beta;

        public readonly void Run(int start, int end)
        {
            var p = P;
            int nr = TT.NR, mr = TT.MR, wp = p.Wp, rows = p.Rows;
            long plane = p.Plane, inImage = (long)p.In * p.H * p.W, outImage = (long)p.Out * p.H * p.W;
            float* pad = Slots + (start * SlotSize), v = pad + PadSize, m = v + VSize, o = m + MSize;
            TileRun* runs = stackalloc TileRun[nr];
            for (int unit = Interlocked.Increment(ref *Next) - 1; unit < p.Units; unit = Interlocked.Increment(ref *Next) - 1)
            {
                int first = unit * p.Group, n = Math.Min(p.Group, p.Images - first);
                new Span<float>(pad, checked((int)PadSize)).Clear();
                for (int g = 0; g < n; g++)
                {
                    ShiftPlanes.PadStride2(Src + ((first + g) * inImage), p.In, p.H, p.W, 1, 1, plane, rows, wp, pad + ((long)g * rows * wp));
                }

                int tiles = n * p.TileH * p.TileW;
                float* dst = Dst + (first * outImage);
                for (int p0 = 0; p0 < tiles; p0 += nr)
                {
                    // v[xi][ci][nr] = B^T d B of the nr tiles from p0; m[xi][co][nr] = U[xi] v[xi]; o[ab][co][nr] = A^T m A.
                    int nRuns = ConvWinogradMath.Runs(p0, Math.Min(nr, tiles - p0), p.TileH, p.TileW, rows, wp, runs);
                    ConvWinogradMath.InputTransform(pad, p.In, plane, wp, runs, nRuns, nr, v);
                    for (int xi = 0; xi < 16; xi++)
                    {
                        float* ux = U + ((long)xi * OutPad * p.In), vx = v + (xi * ConvWinogradMath.Stride(p.In, nr)), mx = m + (xi * ConvWinogradMath.Stride(OutPad, nr));
                        for (int r0 = 0; r0 < p.Out; r0 += mr)
                        {
                            TT.Run(p.In, ux + ((long)r0 * p.In), vx, Off, mx + ((long)r0 * nr));
                        }
                    }

                    ConvWinogradMath.OutputTransform(m, p.Out, OutPad, nr, o);
                    ConvWinogradMath.Scatter(o, p.Out, nr, runs, nRuns, p.H, p.W, Bias, dst, outImage, Beta);
                }
            }
        }
    }
}
