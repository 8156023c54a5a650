// Convolution as im2col + GEMM (and its adjoint, GEMM + col2im), shared by conv2d and conv_transpose2d and by the
// kernel and host paths: only the im2col/col2im/bias primitives differ; GEMMs go through Gemm.Registry.
using System;
using Engine.Kernels.Conv;
using Engine.Kernels.Gemm;
using ILGPU;

namespace Engine.Ops;

/// <summary>A convolution forward implementation over views (bias and workspace may be empty).</summary>
internal delegate void ConvForwardImpl(Device device, ConvGeometry geometry, ArrayView<float> x, ArrayView<float> weight, ArrayView<float> bias, ArrayView<float> y, ArrayView<float> workspace);

/// <summary>A convolution backward implementation over views; an empty dx, dw or db view means "not wanted".</summary>
internal delegate void ConvBackwardImpl(Device device, ConvGeometry geometry, ArrayView<float> x, ArrayView<float> weight, ArrayView<float> dy,
    ArrayView<float> dx, ArrayView<float> dw, ArrayView<float> db, ArrayView<float> workspace, bool accumulate);

/// <summary>The device primitives a convolution path supplies (static, so dispatch allocates nothing).</summary>
internal interface IConvPrimitives
{
    static abstract void Im2Col(Device device, ArrayView<float> image, ArrayView<float> col, Im2ColParams p);

    static abstract void Col2Im(Device device, ArrayView<float> col, ArrayView<float> image, Im2ColParams p);

    static abstract void BiasFill(Device device, ArrayView<float> bias, ArrayView<float> y, ChannelSumParams p);

    static abstract void ChannelSum(Device device, ArrayView<float> x, ArrayView<float> y, ChannelSumParams p);
}

/// <summary>
/// The convolution algorithm. Images are processed in passes of as many as the workspace holds. With G groups,
/// K = (Cin / G) * kH * kW and P = Ho * Wo, conv2d is per image and group Y_g (Cout/G x P) = W_g (Cout/G x K) * col_g (K x P);
/// its backward dW_g += dY_g * col_g^T, dcol_g = W_g^T * dY_g, dx = col2im(dcol). conv_transpose2d is the adjoint:
/// col_g = W_g^T * x_g, y = col2im(col); backward col = im2col(dy), dx_g = W_g * col_g, dW_g += x_g * col_g^T.
/// </summary>
internal static class ConvAlgorithm
{
    public static void Forward<TP>(Device device, ConvGeometry g, ArrayView<float> x, ArrayView<float> w, ArrayView<float> b, ArrayView<float> y, ArrayView<float> ws)
        where TP : IConvPrimitives
    {
        var gemm = GemmOp.Registry.Resolve(device);
        var (per, xImage, yImage, groups, cinG, coutG, khw) = Sizes.Of(g, ws);
        for (int n0 = 0; n0 < g.Batch; n0 += per)
        {
            int nb = Math.Min(per, g.Batch - n0);
            var xs = x.SubView(n0 * xImage, nb * xImage);
            var ys = y.SubView(n0 * yImage, nb * yImage);
            float beta = 0f;
            if (b.Length > 0)
            {
                TP.BiasFill(device, b, ys, new ChannelSumParams { Outer = nb, Channels = g.OutChannels, Inner = g.OutH * g.OutW });
                beta = 1f;
            }

            if (!g.Transposed)
            {
                int k = cinG * khw, hw = g.OutH * g.OutW;
                var col = g.IsPointwise ? xs : ws;
                if (!g.IsPointwise)
                {
                    TP.Im2Col(device, xs, ws, g.Im2Col(nb, 0f));
                }

                // Y[i,g] (Cout/G x P) = W[g] (Cout/G x K) * col[i,g] (K x P)
                var p = Params(coutG, hw, k, k, hw, hw, false, false, beta);
                ImagesTimesGroups(gemm, device, p, nb, groups, w, 0, (long)coutG * k, col, (long)groups * k * hw, (long)k * hw, ys, yImage, (long)coutG * hw);
            }
            else
            {
                int k = coutG * khw, hw = g.InH * g.InW;
                var target = g.IsPointwise ? ys : ws;

                // col[i,g] (K x HW) = W[g]^T (W[g] stored Cin/G x K) * x[i,g] (Cin/G x HW)
                var p = Params(k, hw, cinG, k, hw, hw, true, false, g.IsPointwise ? beta : 0f);
                ImagesTimesGroups(gemm, device, p, nb, groups, w, 0, (long)cinG * k, xs, xImage, (long)cinG * hw, target, (long)groups * k * hw, (long)k * hw);
                if (!g.IsPointwise)
                {
                    TP.Col2Im(device, ws, ys, g.Im2Col(nb, beta));
                }
            }
        }
    }

    public static void Backward<TP>(Device device, ConvGeometry g, ArrayView<float> x, ArrayView<float> w, ArrayView<float> dy,
        ArrayView<float> dx, ArrayView<float> dw, ArrayView<float> db, ArrayView<float> ws, bool accumulate)
        where TP : IConvPrimitives
    {
        var gemm = GemmOp.Registry.Resolve(device);
        var (per, xImage, yImage, groups, cinG, coutG, khw) = Sizes.Of(g, ws);
        float acc = accumulate ? 1f : 0f;
        bool wantDx = dx.Length > 0, wantDw = dw.Length > 0;
        for (int n0 = 0; n0 < g.Batch && (wantDx || wantDw); n0 += per)
        {
            int nb = Math.Min(per, g.Batch - n0);
            var xs = x.SubView(n0 * xImage, nb * xImage);
            var dys = dy.SubView(n0 * yImage, nb * yImage);
            float dwBeta = n0 == 0 ? acc : 1f;
            if (!g.Transposed)
            {
                int k = cinG * khw, hw = g.OutH * g.OutW;
                if (wantDw)
                {
                    var col = g.IsPointwise ? xs : ws;
                    if (!g.IsPointwise)
                    {
                        TP.Im2Col(device, xs, ws, g.Im2Col(nb, 0f));
                    }

                    // dW[g] (Cout/G x K) += dY[i,g] (Cout/G x P) * col[i,g]^T (col stored K x P)
                    var p = Params(coutG, k, hw, hw, hw, k, false, true, dwBeta);
                    GroupsPerImage(gemm, device, p, nb, groups, dys, yImage, (long)coutG * hw, col, (long)groups * k * hw, (long)k * hw, dw, (long)coutG * k);
                }

                if (wantDx)
                {
                    var dxs = dx.SubView(n0 * xImage, nb * xImage);
                    var target = g.IsPointwise ? dxs : ws;

                    // dcol[i,g] (K x P) = W[g]^T (W[g] stored Cout/G x K) * dY[i,g] (Cout/G x P)
                    var p = Params(k, hw, coutG, k, hw, hw, true, false, g.IsPointwise ? acc : 0f);
                    ImagesTimesGroups(gemm, device, p, nb, groups, w, 0, (long)coutG * k, dys, yImage, (long)coutG * hw, target, (long)groups * k * hw, (long)k * hw);
                    if (!g.IsPointwise)
                    {
                        TP.Col2Im(device, ws, dxs, g.Im2Col(nb, acc));
                    }
                }
            }
            else
            {
                int k = coutG * khw, hw = g.InH * g.InW;
                var col = g.IsPointwise ? dys : ws;
                if (!g.IsPointwise)
                {
                    TP.Im2Col(device, dys, ws, g.Im2Col(nb, 0f));
                }

                if (wantDx)
                {
                    // dx[i,g] (Cin/G x HW) = W[g] (Cin/G x K) * col[i,g] (K x HW)
                    var dxs = dx.SubView(n0 * xImage, nb * xImage);
                    var p = Params(cinG, hw, k, k, hw, hw, false, false, acc);
                    ImagesTimesGroups(gemm, device, p, nb, groups, w, 0, (long)cinG * k, col, (long)groups * k * hw, (long)k * hw, dxs, xImage, (long)cinG * hw);
                }

                if (wantDw)
                {
                    // dW[g] (Cin/G x K) += x[i,g] (Cin/G x HW) * col[i,g]^T (col stored K x HW)
                    var p = Params(cinG, k, hw, hw, hw, k, false, true, dwBeta);
                    GroupsPerImage(gemm, device, p, nb, groups, xs, xImage, (long)cinG * hw, col, (long)groups * k * hw, (long)k * hw, dw, (long)cinG * k);
                }
            }
        }

        if (db.Length > 0)
        {
            TP.ChannelSum(device, dy, db, new ChannelSumParams { Outer = g.Batch, Channels = g.OutChannels, Inner = g.OutH * g.OutW, Scale = 1f, Beta = acc });
        }
    }

    /// <summary>
    /// The sizes both passes use: images per pass, elements of one x and one y image, groups, input and output
    /// channels per group, kernel taps.
    /// </summary>
    private readonly record struct Sizes(int PerPass, long XImage, long YImage, int Groups, int CinG, int CoutG, int Khw)
    {
        public static Sizes Of(in ConvGeometry g, ArrayView<float> ws) => new(
            ImagesPerPass(g, ws), (long)g.InChannels * g.InH * g.InW, (long)g.OutChannels * g.OutH * g.OutW,
            g.Groups, g.InChannels / g.Groups, g.OutChannels / g.Groups, g.KernelH * g.KernelW);
    }

    /// <summary>
    /// Images per im2col pass: what the workspace holds (all when pointwise), kept below 2^31 column elements and
    /// below 65536 (a GEMM batch is a CUDA grid's z dimension).
    /// </summary>
    private static int ImagesPerPass(in ConvGeometry g, ArrayView<float> ws)
    {
        const int MaxBatch = 65535;
        long per = g.ColumnElementsPerImage;
        if (per == 0)
        {
            return Math.Min(g.Batch, MaxBatch);
        }

        long fit = Math.Min(ws.Length, int.MaxValue) / per;
        return (int)Math.Clamp(fit, 1, Math.Min(g.Batch, MaxBatch));
    }

    private static GemmParams Params(int m, int n, int k, int lda, int ldb, int ldc, bool transA, bool transB, float beta) => new()
    {
        M = m, N = n, K = k, Lda = lda, Ldb = ldb, Ldc = ldc, TransA = transA ? 1 : 0, TransB = transB ? 1 : 0,
        Alpha = 1f, Beta = beta, Batch = 1,
    };

    private static ArrayView<float> From(ArrayView<float> v, long offset) => v.SubView(offset, v.Length - offset);

    /// <summary>
    /// C[i,g] = op(A[i,g]) * op(B[i,g]) + beta C[i,g] for every image i and group g, where X[i,g] starts at
    /// i * xI + g * xG: one strided-batched GEMM per group (batch over images) or per image (batch over groups),
    /// whichever launches fewer.
    /// </summary>
    private static void ImagesTimesGroups(GemmImpl gemm, Device d, GemmParams p, int images, int groups,
        ArrayView<float> a, long aI, long aG, ArrayView<float> b, long bI, long bG, ArrayView<float> c, long cI, long cG)
    {
        if (groups <= images)
        {
            p.Batch = images;
            p.StrideA = aI;
            p.StrideB = bI;
            p.StrideC = cI;
            for (int gi = 0; gi < groups; gi++)
            {
                gemm(d, From(a, gi * aG), From(b, gi * bG), From(c, gi * cG), p);
            }
        }
        else
        {
            p.Batch = groups;
            p.StrideA = aG;
            p.StrideB = bG;
            p.StrideC = cG;
            for (int i = 0; i < images; i++)
            {
                gemm(d, From(a, i * aI), From(b, i * bI), From(c, i * cI), p);
            }
        }
    }

    /// <summary>
    /// C[g] = op(A[i,g]) * op(B[i,g]) + beta C[g], summed over images i into C (the weight gradient): one GEMM per image,
    /// batched over groups; the first uses <paramref name="p"/>'s beta, the rest add.
    /// </summary>
    private static void GroupsPerImage(GemmImpl gemm, Device d, GemmParams p, int images, int groups,
        ArrayView<float> a, long aI, long aG, ArrayView<float> b, long bI, long bG, ArrayView<float> c, long cG)
    {
        p.Batch = groups;
        p.StrideA = aG;
        p.StrideB = bG;
        p.StrideC = cG;
        for (int i = 0; i < images; i++)
        {
            gemm(d, From(a, i * aI), From(b, i * bI), c, p);
            p.Beta = 1f;
        }
    }
}
