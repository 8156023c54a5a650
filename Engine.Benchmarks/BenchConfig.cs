// The one BenchmarkDotNet config every benchmark shares: short in-process jobs, memory diagnoser, GFLOP/s column.
using System.Globalization;
using System.Linq;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace Engine.Benchmarks;

public sealed class BenchConfig : ManualConfig
{
    /// <param name="inProcess">
    /// True (the default): in-process jobs, quick to start. False (<c>--out-of-process</c>): BenchmarkDotNet builds and
    /// runs a separate host process per benchmark, whose allocation counts hold only the benchmark's own work.
    /// </param>
    public BenchConfig(bool inProcess = true)
    {
        var job = Job.ShortRun.WithWarmupCount(2).WithIterationCount(5);
        AddJob(inProcess ? job.WithToolchain(InProcessEmitToolchain.Instance) : job);
        AddDiagnoser(MemoryDiagnoser.Default);
        AddColumn(new ThroughputColumn());
        AddColumnProvider(DefaultColumnProviders.Instance);
        AddLogger(BenchmarkDotNet.Loggers.ConsoleLogger.Default);
        AddExporter(BenchmarkDotNet.Exporters.MarkdownExporter.GitHub);
        WithOptions(ConfigOptions.DisableOptimizationsValidator | ConfigOptions.JoinSummary);
    }
}

/// <summary>Benchmarks that report work per invocation implement this to get a throughput column.</summary>
public interface IWorkPerInvocation
{
    /// <summary>Work units per invocation (FLOPs for GEMM, bytes for memory-bound ops).</summary>
    double Work { get; }

    /// <summary>Unit suffix, e.g. "GFLOP/s" or "GB/s".</summary>
    string Unit { get; }
}

/// <summary>Throughput = work / mean time, for benchmarks implementing <see cref="IWorkPerInvocation"/>.</summary>
public sealed class ThroughputColumn : IColumn
{
    public string Id => "Throughput";
    public string ColumnName => "Throughput";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "Work per second (GFLOP/s or GB/s), from the mean time";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var report = summary[benchmarkCase];
        if (report?.ResultStatistics is null)
        {
            return "-";
        }

        var instance = System.Activator.CreateInstance(benchmarkCase.Descriptor.Type) as IWorkPerInvocation;
        if (instance is null)
        {
            return "-";
        }

        foreach (var p in benchmarkCase.Parameters.Items)
        {
            benchmarkCase.Descriptor.Type.GetProperty(p.Name)?.SetValue(instance, p.Value);
            benchmarkCase.Descriptor.Type.GetField(p.Name)?.SetValue(instance, p.Value);
        }

        double seconds = report.ResultStatistics.Mean / 1e9;
        return string.Format(CultureInfo.InvariantCulture, "{0:F2} {1}", instance.Work / seconds / 1e9, instance.Unit);
    }

    public bool IsAvailable(Summary summary) => summary.BenchmarksCases.Any(b => typeof(IWorkPerInvocation).IsAssignableFrom(b.Descriptor.Type));
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}
