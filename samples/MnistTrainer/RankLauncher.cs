// `--ranks N`: the app starts itself N times under Open MPI's mpirun (this already-built dll with `dotnet`, never a
// build per rank) and waits; each rank, seeing it was started by mpirun, joins the job's process group and trains its
// shard. The main job and the task samples launch the same way; their data are fetched here first, so that the ranks
// do not all download them at once.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Engine;
using Microsoft.Extensions.Logging;

namespace MnistTrainer;

internal static class RankLauncher
{
    /// <summary>
    /// Runs <paramref name="prepare"/> (fetch the data), then starts <paramref name="ranks"/> copies of this app with
    /// <paramref name="args"/> and returns mpirun's exit code (1 when mpirun is missing, with the error on <paramref name="stderr"/>).
    /// </summary>
    public static async Task<int> RunAsync(int ranks, string? hostfile, IReadOnlyList<string> args, Func<CancellationToken, Task> prepare, TextWriter stderr, ILogger log, CancellationToken ct)
    {
        string? mpirun = FindOnPath("mpirun");
        if (mpirun is null)
        {
            stderr.WriteLine("error: --ranks needs Open MPI's mpirun, which is not on PATH; install Open MPI (Debian/Ubuntu: apt-get install -y openmpi-bin).");
            return 1;
        }

        await prepare(ct).ConfigureAwait(false);
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var start = new ProcessStartInfo(mpirun) { UseShellExecute = false };
        foreach (string a in Arguments(ranks, hostfile, args, dotnet, typeof(RankLauncher).Assembly.Location, Environment.IsPrivilegedProcess, Environment.ProcessorCount))
        {
            start.ArgumentList.Add(a);
        }

        log.LogInformation("Starting {Ranks} ranks: {Command} {Args}", ranks, mpirun, string.Join(' ', start.ArgumentList));
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {mpirun}");

        // Ctrl+C reaches mpirun too (same terminal), which passes it to the ranks: wait for them rather than kill.
        await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        return process.ExitCode;
    }

    /// <summary>
    /// mpirun's arguments: N processes (on this machine, more than its cores allowed, unless a hostfile places them),
    /// <c>TERM=dumb</c> to keep escape codes out of forwarded output, and, when the ranks share this machine's cores, an
    /// equal share of them per rank (at least one): <c>ENGINE_THREADS</c>, the engine's cap on its host threads
    /// (<see cref="HostThreads"/>), and beside it <c>DOTNET_PROCESSOR_COUNT</c>, so that the runtime's own pools (GC,
    /// thread pool) count the same cores; then <c>dotnet THIS.dll</c> with the app's own arguments.
    /// </summary>
    public static List<string> Arguments(int ranks, string? hostfile, IReadOnlyList<string> args, string dotnet, string dll, bool root, int cores)
    {
        var list = new List<string> { "-np", ranks.ToString(CultureInfo.InvariantCulture) };
        if (root)
        {
            list.Add("--allow-run-as-root");
        }

        if (hostfile is { } hosts)
        {
            list.AddRange(["--hostfile", hosts]);
        }
        else
        {
            string share = Math.Max(1, cores / ranks).ToString(CultureInfo.InvariantCulture);
            list.AddRange(["--oversubscribe", "-x", HostThreads.EnvironmentVariable + "=" + share, "-x", "DOTNET_PROCESSOR_COUNT=" + share]);
        }

        list.AddRange(["-x", "TERM=dumb", dotnet, dll]);
        list.AddRange(args);
        return list;
    }

    private static string? FindOnPath(string name)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator))
        {
            if (dir.Length > 0 && File.Exists(Path.Combine(dir, name)))
            {
                return Path.Combine(dir, name);
            }
        }

        return null;
    }
}
