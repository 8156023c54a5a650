// Plans and launches the two-stage per-channel reductions (ChannelReduceKernels) for any size: the block count is
// chosen from the shape so that large channels are split over many groups and tiny ones use one.
using System;
using Engine.Kernels.Norm;
using ILGPU;
using ILGPU.Runtime;

namespace Engine.Ops;

/// <summary>
/// Launch shape of the reductions on one kind of device. GPUs want many groups (up to <see cref="TargetGroups"/>) of
/// 256 threads, each thread reducing about 16 elements. The CPU accelerator simulates groups one at a time and pays
/// mostly per group and per barrier, so it gets a few groups of 64 threads that each reduce more.
/// </summary>
/// <param name="MaxGroup">Largest group (a power of two, 32 to 256).</param>
/// <param name="PerThread">Elements a thread reduces serially before a channel is split into another block.</param>
/// <param name="TargetGroups">Upper bound on groups of the partial stage (blocks shrink to stay under it).</param>
internal readonly record struct ReduceTuning(int MaxGroup, int PerThread, int TargetGroups)
{
    /// <summary>The GPU shape.</summary>
    public static readonly ReduceTuning Gpu = new(256, 16, 1024);

    /// <summary>The CPU-simulator shape.</summary>
    public static readonly ReduceTuning CpuSimulator = new(64, 256, 64);

    /// <summary>Test hook: when set, every kernel-path reduction uses it instead of the device's shape.</summary>
    public static ReduceTuning? Forced { get; set; }

    /// <summary>The shape for <paramref name="device"/>.</summary>
    public static ReduceTuning For(Device device) =>
        Forced ?? (device.Accelerator.AcceleratorType == AcceleratorType.CPU ? CpuSimulator : Gpu);
}

/// <summary>How a (N, C, S) tensor is reduced per channel on the kernel path.</summary>
internal readonly struct ReducePlan
{
    private ReducePlan(ReduceParams p, bool columns, int group, int entries, int finalizeGroup)
    {
        Params = p;
        Columns = columns;
        Group = group;
        Entries = entries;
        FinalizeGroup = finalizeGroup;
    }

    /// <summary>Kernel arguments.</summary>
    public ReduceParams Params { get; }

    /// <summary>Column kernels (inner size below a warp) rather than strided ones.</summary>
    public bool Columns { get; }

    /// <summary>Threads per group of the partial stage.</summary>
    public int Group { get; }

    /// <summary>Partial entries per channel.</summary>
    public int Entries { get; }

    /// <summary>Threads per group of the finalize stage.</summary>
    public int FinalizeGroup { get; }

    /// <summary>Elements reduced per channel.</summary>
    public int Count => Params.N * Params.S;

    /// <summary>Entries per channel up to which one thread per channel finalizes (no group, no barriers).</summary>
    public const int SerialFinalizeEntries = 32;

    /// <summary>Whether the finalize stage runs one thread per channel rather than one group.</summary>
    public bool SerialFinalize => Entries <= SerialFinalizeEntries;

    /// <summary>Plans the reduction of (n, c, s) on <paramref name="device"/>.</summary>
    public static ReducePlan Create(Device device, int n, int c, int s, bool perRowStats = false, bool hasX = true) =>
        Create(ReduceTuning.For(device), n, c, s, perRowStats, hasX);

    /// <summary>Plans the reduction of (n, c, s) with a launch shape.</summary>
    public static ReducePlan Create(ReduceTuning tuning, int n, int c, int s, bool perRowStats = false, bool hasX = true)
    {
        int count = checked(n * s);
        bool columns = s < ChannelReduceKernels.ColumnWidth;
        int group, blocks, chunk, entries;
        if (columns)
        {
            group = tuning.MaxGroup;
            int rows = group / ChannelReduceKernels.ColumnWidth;
            int columnGroups = Ceil((long)c * s, ChannelReduceKernels.ColumnWidth);
            blocks = Math.Min(Ceil(n, (long)rows * tuning.PerThread), Math.Max(1, tuning.TargetGroups / columnGroups));
            chunk = Ceil(n, blocks);
            blocks = Ceil(n, chunk);
            entries = s * blocks;
        }
        else
        {
            group = Pow2Clamp(count, tuning.MaxGroup);
            blocks = Math.Min(Ceil(count, (long)group * tuning.PerThread), Math.Max(1, tuning.TargetGroups / c));
            chunk = Ceil(count, blocks);
            blocks = Ceil(count, chunk);
            entries = blocks;
        }

        var p = new ReduceParams { N = n, C = c, S = s, Blocks = blocks, Chunk = chunk, PerRowStats = perRowStats ? 1 : 0, HasX = hasX ? 1 : 0 };
        return new ReducePlan(p, columns, group, entries, Pow2Clamp(entries, tuning.MaxGroup));
    }

    /// <summary>The smallest power of two at least <paramref name="n"/>, clamped to [32, <paramref name="max"/>].</summary>
    public static int Pow2Clamp(long n, int max)
    {
        int g = 32;
        while (g < max && g < n)
        {
            g *= 2;
        }

        return g;
    }

    private static int Ceil(long a, long b) => (int)((a + b - 1) / b);

    /// <summary>Floats of scratch the stats reduction needs.</summary>
    public long StatsScratch => (long)Params.C * Entries * 3;

    /// <summary>Floats of scratch the sums reduction needs (partials, then per-channel sums).</summary>
    public long SumsScratch => ((long)Params.C * Entries * 2) + ((long)Params.C * 2);

    private KernelConfig PartialConfig => Columns
        ? new KernelConfig(new Index2D(Ceil((long)Params.C * Params.S, ChannelReduceKernels.ColumnWidth), Params.Blocks), new Index2D(Group, 1))
        : new KernelConfig(new Index2D(Params.C, Params.Blocks), new Index2D(Group, 1));

    private KernelConfig FinalizeConfig => new(new Index1D(Params.C), new Index1D(FinalizeGroup));

    /// <summary>Welford statistics: saveMean, saveInvStd and (when given) running mean / variance per channel.</summary>
    public void Stats(Device device, ArrayView<float> x, ArrayView<float> scratch, ArrayView<float> saveMean, ArrayView<float> saveInvStd,
        ArrayView<float>? runningMean, ArrayView<float>? runningVar, float eps, float momentum)
    {
        var partials = scratch.SubView(0, StatsScratch);
        if (Columns)
        {
            var k = device.Kernels.Get<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ReduceParams>>(
                "norm.stats.columns", static a => a.LoadKernel<ArrayView<float>, ArrayView<float>, ReduceParams>(ChannelReduceKernels.StatsColumns));
            k(device.Stream, PartialConfig, x, partials, Params);
        }
        else
        {
            var k = device.Kernels.Get<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ReduceParams>>(
                "norm.stats.strided", static a => a.LoadKernel<ArrayView<float>, ArrayView<float>, ReduceParams>(ChannelReduceKernels.StatsStrided));
            k(device.Stream, PartialConfig, x, partials, Params);
        }

        bool running = runningMean.HasValue && runningVar.HasValue;
        var fp = new FinalizeParams { Entries = Entries, Count = Count, Eps = eps, Momentum = momentum, HasRunning = running ? 1 : 0 };
        if (SerialFinalize)
        {
            var f = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, FinalizeParams>>(
                "norm.stats.finalize_serial", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, FinalizeParams>(ChannelReduceKernels.StatsFinalizeSerial));
            f(device.Stream, Params.C, partials, saveMean, saveInvStd, runningMean ?? saveMean, runningVar ?? saveInvStd, fp);
        }
        else
        {
            var f = device.Kernels.Get<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, FinalizeParams>>(
                "norm.stats.finalize", static a => a.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, FinalizeParams>(ChannelReduceKernels.StatsFinalize));
            f(device.Stream, FinalizeConfig, partials, saveMean, saveInvStd, runningMean ?? saveMean, runningVar ?? saveInvStd, fp);
        }
    }

    /// <summary>
    /// Sums of dy and dy * xhat per channel. Writes the pair per channel to the tail of <paramref name="scratch"/>
    /// (<see cref="SumsOf"/>) and dgamma / dbeta when given. <paramref name="x"/>, mean, invStd are read when the plan
    /// has x (pass any view otherwise).
    /// </summary>
    public void Sums(Device device, ArrayView<float> dy, ArrayView<float> x, ArrayView<float> mean, ArrayView<float> invStd, ArrayView<float> scratch,
        ArrayView<float>? dgamma, ArrayView<float>? dbeta, bool writeSums, bool accumulate)
    {
        var partials = scratch.SubView(0, (long)Params.C * Entries * 2);
        var sums = SumsOf(scratch);
        var name = Columns ? "norm.sums.columns" : "norm.sums.strided";
        var k = device.Kernels.Get<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ReduceParams>>(
            name, Columns
                ? static a => a.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ReduceParams>(ChannelReduceKernels.SumsColumns)
                : static a => a.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ReduceParams>(ChannelReduceKernels.SumsStrided));
        k(device.Stream, PartialConfig, dy, x, mean, invStd, partials, Params);
        var fp = new FinalizeParams
        {
            Entries = Entries,
            Count = Count,
            HasSums = writeSums ? 1 : 0,
            HasDGamma = dgamma.HasValue ? 1 : 0,
            HasDBeta = dbeta.HasValue ? 1 : 0,
            Accumulate = accumulate ? 1 : 0,
        };
        if (SerialFinalize)
        {
            var f = device.Kernels.Get<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, FinalizeParams>>(
                "norm.sums.finalize_serial", static a => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, FinalizeParams>(ChannelReduceKernels.SumsFinalizeSerial));
            f(device.Stream, Params.C, partials, sums, dgamma ?? sums, dbeta ?? sums, fp);
        }
        else
        {
            var f = device.Kernels.Get<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, FinalizeParams>>(
                "norm.sums.finalize", static a => a.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, FinalizeParams>(ChannelReduceKernels.SumsFinalize));
            f(device.Stream, FinalizeConfig, partials, sums, dgamma ?? sums, dbeta ?? sums, fp);
        }
    }

    /// <summary>The per-channel (sum dy, sum dy * xhat) pairs at the tail of a sums scratch buffer.</summary>
    public ArrayView<float> SumsOf(ArrayView<float> scratch) => scratch.SubView((long)Params.C * Entries * 2, (long)Params.C * 2);
}
