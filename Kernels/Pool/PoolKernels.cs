// Pooling kernels (max, average, power-average, global average backward), forward and backward side by side.
// Backward kernels gather per input element (no atomics, deterministic).
using ILGPU;
using ILGPU.Algorithms;

namespace Engine.Kernels.Pool;

/// <summary>2-D pooling over NCHW planes; shapes are described on <see cref="PoolParams"/>.</summary>
public static class PoolKernels
{
    /// <summary>
    /// Max pooling. Launch over Planes * OutH * OutW. y[i] is the window maximum (padding is -inf, NaN wins) and
    /// indices[i] the flat index h * Width + w of the first maximum in scan order, as a float (as PyTorch).
    /// x: (Planes, Height, Width); y, indices: (Planes, OutH, OutW).
    /// </summary>
    public static void MaxForward(Index1D index, ArrayView<float> x, ArrayView<float> y, ArrayView<float> indices, PoolParams p)
    {
        int i = index;
        int outW = p.OutW, outH = p.OutH, height = p.Height, width = p.Width;
        int ow = i % outW;
        int t = i / outW;
        int oh = t % outH;
        int plane = t / outH;
        int hs = (oh * p.StrideH) - p.PadH;
        int ws = (ow * p.StrideW) - p.PadW;
        int he = XMath.Min(hs + p.KernelH, height);
        int we = XMath.Min(ws + p.KernelW, width);
        hs = XMath.Max(hs, 0);
        ws = XMath.Max(ws, 0);
        long xBase = (long)plane * height * width;
        int best = (hs * width) + ws;
        float max = float.NegativeInfinity;
        for (int h = hs; h < he; h++)
        {
            for (int w = ws; w < we; w++)
            {
                int at = (h * width) + w;
                float v = KernelMath.LoadReadOnly(ref x[xBase + at]); // overlapping windows reread x
                if (v > max || XMath.IsNaN(v))
                {
                    max = v;
                    best = at;
                }
            }
        }

        y[i] = max;
        indices[i] = best;
    }

    /// <summary>
    /// Max pooling backward: dx[h, w] = Beta * dx + sum of dy over the windows whose saved index is (h, w).
    /// Launch over Planes * Height * Width. dy, indices: (Planes, OutH, OutW); dx: (Planes, Height, Width).
    /// </summary>
    public static void MaxBackward(Index1D index, ArrayView<float> dy, ArrayView<float> indices, ArrayView<float> dx, PoolParams p)
    {
        int i = index;
        int width = p.Width, height = p.Height, outW = p.OutW, outH = p.OutH;
        int w = i % width;
        int t = i / width;
        int h = t % height;
        int plane = t / height;
        int flat = (h * width) + w;
        WindowRange(h + p.PadH, p.KernelH, p.StrideH, outH, out int oh0, out int oh1);
        WindowRange(w + p.PadW, p.KernelW, p.StrideW, outW, out int ow0, out int ow1);
        long yBase = (long)plane * outH * outW;
        float sum = 0f;
        for (int oh = oh0; oh < oh1; oh++)
        {
            for (int ow = ow0; ow < ow1; ow++)
            {
                long at = yBase + (oh * outW) + ow;
                if ((int)indices[at] == flat)
                {
                    sum += dy[at];
                }
            }
        }

        dx[i] = p.Beta == 0f ? sum : dx[i] + sum;
    }

    /// <summary>
    /// Tangent (forward mode) of max pooling, and of any pooling that saves the index of the element it picked: dy[i] is
    /// the input tangent dx at that element of its plane. Launch over Planes * OutH * OutW. dx: (Planes, Height, Width);
    /// indices, dy: (Planes, OutH, OutW).
    /// </summary>
    public static void MaxTangent(Index1D index, ArrayView<float> dx, ArrayView<float> indices, ArrayView<float> dy, PoolParams p)
    {
        int i = index;
        int plane = i / (p.OutH * p.OutW);
        dy[i] = dx[((long)plane * p.Height * p.Width) + (int)indices[i]];
    }

    /// <summary>
    /// Average pooling with count_include_pad: y = window sum / (window area within the padded input).
    /// Launch over Planes * OutH * OutW. x: (Planes, Height, Width); y: (Planes, OutH, OutW).
    /// </summary>
    public static void AvgForward(Index1D index, ArrayView<float> x, ArrayView<float> y, PoolParams p)
    {
        int i = index;
        int outW = p.OutW, outH = p.OutH, height = p.Height, width = p.Width;
        int ow = i % outW;
        int t = i / outW;
        int oh = t % outH;
        int plane = t / outH;
        int hs = (oh * p.StrideH) - p.PadH;
        int ws = (ow * p.StrideW) - p.PadW;
        int area = (XMath.Min(hs + p.KernelH, height + p.PadH) - hs) * (XMath.Min(ws + p.KernelW, width + p.PadW) - ws);
        int he = XMath.Min(hs + p.KernelH, height);
        int we = XMath.Min(ws + p.KernelW, width);
        hs = XMath.Max(hs, 0);
        ws = XMath.Max(ws, 0);
        long xBase = (long)plane * height * width;
        float sum = 0f;
        for (int h = hs; h < he; h++)
        {
            for (int w = ws; w < we; w++)
            {
                sum += x[xBase + (h * width) + w];
            }
        }

        y[i] = sum / area;
    }

    /// <summary>
    /// Average pooling backward: dx[h, w] = Beta * dx + sum over windows containing (h, w) of dy / area.
    /// Launch over Planes * Height * Width. dy: (Planes, OutH, OutW); dx: (Planes, Height, Width).
    /// </summary>
    public static void AvgBackward(Index1D index, ArrayView<float> dy, ArrayView<float> dx, PoolParams p)
    {
        int i = index;
        int width = p.Width, height = p.Height, outW = p.OutW, outH = p.OutH;
        int w = i % width;
        int t = i / width;
        int h = t % height;
        int plane = t / height;
        WindowRange(h + p.PadH, p.KernelH, p.StrideH, outH, out int oh0, out int oh1);
        WindowRange(w + p.PadW, p.KernelW, p.StrideW, outW, out int ow0, out int ow1);
        long yBase = (long)plane * outH * outW;
        float sum = 0f;
        for (int oh = oh0; oh < oh1; oh++)
        {
            int hs = (oh * p.StrideH) - p.PadH;
            int areaH = XMath.Min(hs + p.KernelH, height + p.PadH) - hs;
            for (int ow = ow0; ow < ow1; ow++)
            {
                int ws = (ow * p.StrideW) - p.PadW;
                int area = areaH * (XMath.Min(ws + p.KernelW, width + p.PadW) - ws);
                sum += dy[yBase + (oh * outW) + ow] / area;
            }
        }

        dx[i] = p.Beta == 0f ? sum : dx[i] + sum;
    }

    /// <summary>
    /// Power-average pooling (no padding): y = (sum over window of x^p)^(1/p), as PyTorch's lp_pool2d.
    /// Launch over Planes * OutH * OutW. x: (Planes, Height, Width); y: (Planes, OutH, OutW).
    /// </summary>
    public static void LpForward(Index1D index, ArrayView<float> x, ArrayView<float> y, PoolParams p)
    {
        int i = index;
        int outW = p.OutW, outH = p.OutH;
        int ow = i % outW;
        int t = i / outW;
        int oh = t % outH;
        int plane = t / outH;
        float s = WindowPowerSum(x, p, plane, oh, ow);
        y[i] = Pow(s, 1f / p.NormType);
    }

    /// <summary>
    /// Power-average pooling backward: dx = Beta * dx + x^(p-1) * sum over windows containing x with
    /// s = sum x^p != 0 of dy * s^(1/p - 1) (PyTorch sets the gradient of windows with s = 0 to zero).
    /// Launch over Planes * Height * Width. x, dx: (Planes, Height, Width); dy: (Planes, OutH, OutW).
    /// </summary>
    public static void LpBackward(Index1D index, ArrayView<float> x, ArrayView<float> dy, ArrayView<float> dx, PoolParams p)
    {
        int i = index;
        int width = p.Width, height = p.Height, outW = p.OutW, outH = p.OutH;
        float normType = p.NormType;
        int w = i % width;
        int t = i / width;
        int h = t % height;
        int plane = t / height;
        WindowRange(h, p.KernelH, p.StrideH, outH, out int oh0, out int oh1);
        WindowRange(w, p.KernelW, p.StrideW, outW, out int ow0, out int ow1);
        long yBase = (long)plane * outH * outW;
        float exponent = (1f / normType) - 1f;
        float sum = 0f;
        for (int oh = oh0; oh < oh1; oh++)
        {
            for (int ow = ow0; ow < ow1; ow++)
            {
                float s = WindowPowerSum(x, p, plane, oh, ow);
                if (s != 0f)
                {
                    sum += dy[yBase + (oh * outW) + ow] * Pow(s, exponent);
                }
            }
        }

        float g = sum * Pow(x[i], normType - 1f);
        dx[i] = p.Beta == 0f ? g : dx[i] + g;
    }

    /// <summary>
    /// Tangent (forward mode) of power-average pooling: dy = s^(1/p - 1) * sum over the window of x^(p-1) dx with
    /// s = sum x^p, and 0 for windows with s = 0 (the adjoint of <see cref="LpBackward"/>). Launch over Planes * OutH * OutW.
    /// x, dx: (Planes, Height, Width); dy: (Planes, OutH, OutW).
    /// </summary>
    public static void LpTangent(Index1D index, ArrayView<float> x, ArrayView<float> dx, ArrayView<float> dy, PoolParams p)
    {
        int i = index;
        int outW = p.OutW, outH = p.OutH, width = p.Width;
        float normType = p.NormType;
        int ow = i % outW;
        int t = i / outW;
        int oh = t % outH;
        int plane = t / outH;
        float s = WindowPowerSum(x, p, plane, oh, ow);
        if (s == 0f)
        {
            dy[i] = 0f;
            return;
        }

        int hs = oh * p.StrideH;
        int ws = ow * p.StrideW;
        int he = hs + p.KernelH;
        int we = ws + p.KernelW;
        long xBase = (long)plane * p.Height * width;
        float sum = 0f;
        for (int h = hs; h < he; h++)
        {
            for (int w = ws; w < we; w++)
            {
                long at = xBase + (h * width) + w;
                sum += Pow(x[at], normType - 1f) * dx[at];
            }
        }

        dy[i] = sum * Pow(s, (1f / normType) - 1f);
    }

    /// <summary>
    /// Global average pooling backward: dx[i] = Beta * dx[i] + dy[plane of i] / (Height * Width).
    /// Launch over Planes * Height * Width. dy: (Planes); dx: (Planes, Height, Width).
    /// </summary>
    public static void GlobalAvgBackward(Index1D index, ArrayView<float> dy, ArrayView<float> dx, PoolParams p)
    {
        int i = index;
        int hw = p.Height * p.Width;
        float g = dy[i / hw] / hw;
        dx[i] = p.Beta == 0f ? g : dx[i] + g;
    }

    /// <summary>The outputs [o0, o1) whose windows (size k, stride s) contain padded coordinate <paramref name="padded"/>.</summary>
    private static void WindowRange(int padded, int k, int s, int outSize, out int o0, out int o1)
    {
        o0 = padded < k ? 0 : ((padded - k) / s) + 1;
        o1 = XMath.Min((padded / s) + 1, outSize);
    }

    private static float WindowPowerSum(ArrayView<float> x, PoolParams p, int plane, int oh, int ow)
    {
        int width = p.Width;
        int hs = oh * p.StrideH;
        int ws = ow * p.StrideW;
        int he = hs + p.KernelH;
        int we = ws + p.KernelW;
        float normType = p.NormType;
        long xBase = (long)plane * p.Height * width;
        float s = 0f;
        for (int h = hs; h < he; h++)
        {
            for (int w = ws; w < we; w++)
            {
                s += Pow(x[xBase + (h * width) + w], normType);
            }
        }

        return s;
    }

    /// <summary>IEEE pow: negative bases give NaN unless the exponent is an integer (odd integers keep the sign).</summary>
    private static float Pow(float x, float e)
    {
        if (e == 1f)
        {
            return x;
        }

        if (e == 2f)
        {
            return x * x;
        }

        if (e == 0f)
        {
            return 1f;
        }

        float r = XMath.Pow(XMath.Abs(x), e);
        if (x < 0f)
        {
            float fl = XMath.Floor(e);
            if (fl != e)
            {
                return float.NaN;
            }

            float half = e * 0.5f;
            if (XMath.Floor(half) != half)
            {
                r = -r;
            }
        }

        return r;
    }
}
