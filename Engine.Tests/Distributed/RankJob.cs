// Runs the rank host (built with the tests, beside them) as one plain process or as N ranks under Open MPI's mpirun,
// and captures its output, exit code and time. A missing mpirun fails the test with what to install: CI installs
// openmpi-bin, so these tests never skip.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using NUnit.Framework;

namespace Engine.Tests.Distributed;

/// <summary>What a run of the rank host printed and returned.</summary>
internal sealed record RankJobResult(int ExitCode, string Output, TimeSpan Elapsed, string Command)
{
    public override string ToString() => $"`{Command}` exited with {ExitCode} after {Elapsed.TotalSeconds:F1} s:\n{Output}";
}

internal static class RankJob
{
    private static readonly string HostDll = Path.Combine(AppContext.BaseDirectory, "RankHost.dll");

    /// <summary>Runs the rank host alone (one process, no MPI): the single-process reference.</summary>
    public static RankJobResult Single(params string[] args) => Run("dotnet", [HostDll, .. args], TimeSpan.FromMinutes(3));

    /// <summary>Runs <c>dotnet DLL ARGS</c> (a built app beside the tests, e.g. MnistTrainer.dll) as a child process.</summary>
    public static RankJobResult Dotnet(string dll, params string[] args) =>
        Run("dotnet", [Path.Combine(AppContext.BaseDirectory, dll), .. args], TimeSpan.FromMinutes(5));

    /// <summary>Runs <paramref name="ranks"/> copies of the rank host under mpirun on this machine.</summary>
    public static RankJobResult Mpi(int ranks, IEnumerable<string> mpirunOptions, params string[] args) =>
        Run(Mpirun(), ["-np", ranks.ToString(System.Globalization.CultureInfo.InvariantCulture), "--oversubscribe", "-x", "TERM=dumb", .. mpirunOptions, "dotnet", HostDll, .. args],
            TimeSpan.FromMinutes(3));

    /// <summary>Runs <paramref name="ranks"/> copies of the rank host under mpirun with its default options.</summary>
    public static RankJobResult Mpi(int ranks, params string[] args) => Mpi(ranks, [], args);

    /// <summary>The floats a rank wrote to state.rankR.bin (its parameters, then its buffers).</summary>
    public static float[] State(string dir, int rank) =>
        MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(Path.Combine(dir, $"state.rank{rank}.bin"))).ToArray();

    private static string Mpirun()
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator))
        {
            string candidate = Path.Combine(dir, "mpirun");
            if (dir.Length > 0 && File.Exists(candidate))
            {
                return candidate;
            }
        }

        Assert.Fail("mpirun is not on PATH, so the data-parallel tests cannot start ranks. Install Open MPI: `apt-get install -y openmpi-bin` " +
            "(.ci/run does this on CI). These tests do not skip.");
        return string.Empty;
    }

    private static RankJobResult Run(string file, IReadOnlyList<string> args, TimeSpan limit)
    {
        Assert.That(File.Exists(HostDll), Is.True, $"the rank host {HostDll} was not built beside the tests");
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        // Open MPI refuses to run as root unless told twice; CI containers run as root.
        start.Environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1";
        start.Environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1";
        // One host thread per rank (ranks share two cores on CI): the engine's cap, and the runtime's core count beside it.
        start.Environment[HostThreads.EnvironmentVariable] = "1";
        start.Environment["DOTNET_PROCESSOR_COUNT"] = "1";
        var output = new StringBuilder();
        var clock = Stopwatch.StartNew();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            Assert.Fail($"`{file} {string.Join(' ', args)}` did not finish within {limit.TotalMinutes} minutes:\n{output}");
        }

        process.WaitForExit();   // drains the output
        return new RankJobResult(process.ExitCode, output.ToString(), clock.Elapsed, $"{Path.GetFileName(file)} {string.Join(' ', args.Select(a => a == HostDll ? "RankHost.dll" : a))}");
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
        }
    }
}
