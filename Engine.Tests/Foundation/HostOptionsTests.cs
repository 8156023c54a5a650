// What a host app can set: a cap on the CPU threads of the host path (HostThreads, DeviceOptions.CpuThreads,
// ENGINE_THREADS), honoured by the GEMM and every host op, and a logger factory that receives every engine log line.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading;
using Engine.Backends.Cpu;
using Engine.Ops;
using Engine.Optim;
using Engine.Tests.Docs;
using Engine.Tests.Infrastructure;
using Engine.Training;
using Microsoft.Extensions.Logging;
using NUnit.Framework;

namespace Engine.Tests.Foundation;

public sealed unsafe partial class HostOptionsTests
{
    private static Device Host => TestDevices.Get(new DeviceConfig("cpu-host", DeviceKind.Cpu, false));

    private struct ThreadBody : IRangeBody
    {
        public int* Ids;

        public readonly void Run(int start, int end)
        {
            for (int i = start; i < end; i++)
            {
                Ids[i] = Environment.CurrentManagedThreadId;
                Thread.SpinWait(200);
            }
        }
    }

    private static HashSet<int> ThreadsOf(int count)
    {
        var ids = new int[count];
        fixed (int* p = ids)
        {
            var body = new ThreadBody { Ids = p };
            HostParallel.For(count, ref body);
        }

        return [.. ids];
    }

    /// <summary>Runs <paramref name="test"/> with the cap set to <paramref name="limit"/>, then restores the host's setting.</summary>
    private static void WithLimit(int? limit, Action test)
    {
        var before = HostThreads.Limit;
        try
        {
            HostThreads.Limit = limit;
            test();
        }
        finally
        {
            HostThreads.Limit = before;
        }
    }

    /// <summary>A GEMM big enough to run in parallel, a convolution forward and backward, batch norm and softmax.</summary>
    private static void RunHostOps()
    {
        var d = Host;
        using var a = Tensor.FromHost(d, HostMath.Random(384 * 256, 1), new Shape(384, 256));
        using var b = Tensor.FromHost(d, HostMath.Random(256 * 320, 2), new Shape(256, 320));
        using var c = Tensor.Zeros(d, new Shape(384, 320));
        GemmOp.Run(a, b, c);
        float[] av = a.ToArray(), bv = b.ToArray(), got = c.ToArray();
        for (int e = 0; e < got.Length; e += 97)
        {
            int i = e / 320, j = e % 320;
            double want = 0;
            for (int k = 0; k < 256; k++)
            {
                want += (double)av[(i * 256) + k] * bv[(k * 320) + j];
            }

            Assert.That(got[e], Is.EqualTo(want).Within(1e-3 + (1e-4 * Math.Abs(want))), $"gemm element ({i}, {j})");
        }

        using var x = Tensor.FromHost(d, HostMath.Random(8 * 4 * 12 * 12, 3), new Shape(8, 4, 12, 12));
        using var w = Tensor.FromHost(d, HostMath.Random(6 * 4 * 3 * 3, 4), new Shape(6, 4, 3, 3));
        var o = new Conv2dOptions { Padding = ConvPadding.Same };
        using var y = Tensor.Zeros(d, Conv2dOp.OutputShape(x.Shape, w.Shape, o));
        using var dx = Tensor.Zeros(d, x.Shape);
        using var dw = Tensor.Zeros(d, w.Shape);
        Conv2dOp.Forward(x, w, null, y, o);
        Conv2dOp.Backward(x, w, y, dx, dw, null, o);
        using var mean = Tensor.Zeros(d, new Shape(4));
        using var invStd = Tensor.Zeros(d, new Shape(4));
        using var xn = Tensor.Zeros(d, x.Shape);
        BatchNormOp.Forward(x, xn, null, null, null, null, mean, invStd, training: true);
        using var s = Tensor.Zeros(d, c.Shape);
        SoftmaxOp.Forward(c, s);
    }

    [Test]
    public void A_cap_of_one_runs_the_gemm_and_every_host_op_on_the_calling_thread()
    {
        WithLimit(1, () =>
        {
            Assert.That(HostParallel.Degree, Is.EqualTo(1));
            Assert.That(ThreadsOf(10_000), Is.EquivalentTo(new[] { Environment.CurrentManagedThreadId }));
            HostParallel.ResetPeakWorkers();
            RunHostOps();
            Assert.That(HostParallel.PeakWorkers, Is.Zero, "no call used a worker thread");
        });
    }

    [Test]
    public void A_cap_bounds_the_threads_and_lifting_it_uses_every_core()
    {
        int cap = Math.Min(2, Environment.ProcessorCount);
        WithLimit(cap, () =>
        {
            HostParallel.ResetPeakWorkers();
            Assert.That(ThreadsOf(10_000), Has.Count.LessThanOrEqualTo(cap));
            RunHostOps();
            Assert.That(HostParallel.PeakWorkers, Is.LessThanOrEqualTo(cap - 1));
        });
        WithLimit(null, () =>
        {
            HostParallel.ResetPeakWorkers();
            RunHostOps();
            Assert.That(HostParallel.PeakWorkers, Is.EqualTo(Math.Min(HostThreads.Count, Environment.ProcessorCount) - 1));
        });
    }

    [Test]
    public void The_cap_is_checked_and_clamped_to_the_cores()
    {
        Assert.That(() => HostThreads.Limit = 0, Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("Limit"));
        WithLimit(Environment.ProcessorCount + 7, () => Assert.That(HostThreads.Count, Is.EqualTo(Environment.ProcessorCount)));
        Assert.That(HostThreads.Parse("3"), Is.EqualTo(3));
        Assert.That(HostThreads.Parse(" "), Is.EqualTo(Environment.ProcessorCount));
        Assert.That(() => HostThreads.Parse("0"), Throws.InvalidOperationException.With.Message.Contain("ENGINE_THREADS").And.Message.Contain("'0'"));
        Assert.That(() => HostThreads.Parse("four"), Throws.InvalidOperationException.With.Message.Contain("ENGINE_THREADS"));
    }

    [Test]
    public void DeviceOptions_CpuThreads_sets_the_cap()
    {
        WithLimit(HostThreads.Limit, () =>
        {
            using (Device.Create(DeviceKind.Cpu, new DeviceOptions { CpuThreads = 1, HonorEnvironment = false }))
            {
                Assert.That(HostThreads.Limit, Is.EqualTo(1));
                Assert.That(HostParallel.Degree, Is.EqualTo(1));
            }

            Assert.That(() => Device.Create(DeviceKind.Cpu, new DeviceOptions { CpuThreads = -2, HonorEnvironment = false }),
                Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contain("CpuThreads"));
        });
    }

    [Test]
    public void Host_code_starts_threads_only_through_HostParallel_the_data_loader_and_data_parallel_communication()
    {
        // Every host op and the GEMM run on HostParallel, so its cap covers them; the data loader's one prefetch thread
        // prepares batches and computes nothing. Data-parallel training adds two threads that compute nothing either and
        // exist only with more than one rank: Open MPI has no progress thread, so the gradient reducer's communication
        // thread drives the bucket all-reduces while backward runs, and the heartbeat thread watches that every rank is
        // still alive so that a dead or hung rank ends the job within the timeout instead of blocking it forever.
        var allowed = new (string File, string Why)[]
        {
            ("Engine/Backends/Cpu/HostParallel.cs", "the capped pool of the host path's compute"),
            ("Engine/Data/PrefetchWorker.cs", "one thread that prepares the next batch"),
            ("Engine/Training/Distributed/GradientReducer.cs", "one communication thread per data-parallel trainer (Open MPI has no progress thread)"),
            ("Engine/Distributed/MpiHeartbeat.cs", "one heartbeat thread per MPI process group (a dead or hung rank is detected within the timeout)"),
        };
        string root = ReadmeTests.RepoRoot();
        var found = Directory.EnumerateFiles(Path.Combine(root, "Engine"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (File: Path.GetRelativePath(root, f).Replace('\\', '/'), Line: i + 1, Text: line)))
            .Where(l => ThreadStart().IsMatch(l.Text))
            .Select(l => $"{l.File}:{l.Line}")
            .ToList();
        Assert.That(found.Select(f => f.Split(':')[0]).Distinct(), Is.EquivalentTo(allowed.Select(a => a.File)),
            "threads may start only in: " + string.Join("; ", allowed.Select(a => $"{a.File} ({a.Why})")) + "\nfound:\n" + string.Join("\n", found));
    }

    [Test]
    public void A_logger_factory_receives_the_device_kernel_and_trainer_lines()
    {
        var factory = new ListLoggerFactory();
        using (var device = Device.Create(DeviceKind.Cpu, new DeviceOptions { LoggerFactory = factory, ForceKernelsOnCpu = true, HonorEnvironment = false }))
        {
            using (var t = Tensor.Empty(device, new Shape(5)))
            {
                t.Fill(2f);
            }

            using var model = new Nn.Sequential(new Nn.Linear(3, 2));
            using var net = model.Compile(device, [4, 3], Nn.Loss.CrossEntropy());
            using var opt = new Sgd(net.Parameters, new SgdOptions { LR = 0.1 });
            using var trainer = new Trainer(net, opt, options: new TrainingOptions { Epochs = 1, BatchSize = 4 });
            trainer.Fit(new Engine.Data.InMemoryDataset(HostMath.Random(12, 5), [0, 1, 0, 1], new Shape(3), 2));
        }

        var categories = factory.Lines.Select(l => l.Category).Distinct().ToList();
        Assert.That(categories, Does.Contain("Engine.Device").And.Contain("Engine.KernelCache").And.Contain("Engine.Training.Trainer"));
        Assert.That(factory.Lines.Where(l => l.Category == "Engine.KernelCache").Select(l => l.Message), Has.Some.Contain("tensor.fill"));
        Assert.That(factory.Lines.Where(l => l.Category == "Engine.Training.Trainer").Select(l => l.Message), Has.Some.Contain("Epoch 1"));
        Assert.That(() => Device.Create(DeviceKind.Cpu, new DeviceOptions { LoggerFactory = factory, Logger = factory.CreateLogger("x"), HonorEnvironment = false }),
            Throws.ArgumentException.With.Message.Contain("not both"));
    }

    [Test]
    public void One_logger_receives_every_line_when_no_factory_is_given()
    {
        var factory = new ListLoggerFactory();
        var one = factory.CreateLogger("host");
        using (var device = Device.Create(DeviceKind.Cpu, new DeviceOptions { Logger = one, HonorEnvironment = false }))
        {
            Assert.That(device.LoggerFactory.CreateLogger("Engine.Training.Trainer"), Is.SameAs(one));
        }

        Assert.That(factory.Lines.Select(l => l.Message), Has.Some.Contain("Device"));
        Assert.That(factory.Lines.Select(l => l.Category), Is.All.EqualTo("host"));
    }

    [GeneratedRegex(@"new\s+Thread\s*\(|\bParallel\.(For|ForEach|Invoke)\b|\bTask\.(Run|Factory)\b|\bThreadPool\.")]
    private static partial Regex ThreadStart();

    /// <summary>Keeps every line with its category.</summary>
    private sealed class ListLoggerFactory : ILoggerFactory
    {
        public List<(string Category, LogLevel Level, string Message)> Lines { get; } = [];

        public ILogger CreateLogger(string categoryName) => new CategoryLogger(this, categoryName);

        public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException();

        public void Dispose()
        {
        }

        private sealed class CategoryLogger(ListLoggerFactory owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (owner.Lines)
                {
                    owner.Lines.Add((category, logLevel, formatter(state, exception)));
                }
            }
        }
    }
}
