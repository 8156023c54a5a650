// `--ranks N`: the app starts itself N times under Open MPI's mpirun (this already-built dll with `dotnet`, never a
// build per rank) and waits; each rank, seeing it was started by mpirun, joins the job's process group and trains its
// shard. The main job and the task samples launch the same way; their data are fetched here first, so that the ranks
// do not all download them at once. The ranks on one machine split its host threads (HostThreads) between them.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Engine;
using Engine.Distributed;
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

        // The threads this launcher may use (HostThreads.Limit, else ENGINE_THREADS, else every core) are split between
        // the ranks; past one rank per thread each still needs one, and the machine is oversubscribed.
        int threads = HostThreads.Count;
        if (hostfile is null && ranks > threads)
        {
            log.LogWarning("{Ranks} ranks but {Threads} host threads ({Variable}, else the cores): each rank still runs one, so the ranks oversubscribe them",
                ranks, threads, HostThreads.EnvironmentVariable);
        }

        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var start = new ProcessStartInfo(mpirun) { UseShellExecute = false };
        foreach (string a in Arguments(ranks, hostfile, args, dotnet, typeof(RankLauncher).Assembly.Location, Environment.IsPrivilegedProcess, threads))
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
    /// <c>TERM=dumb</c> to keep escape codes out of forwarded output, and, when the ranks share this machine, an equal
    /// share of the launcher's <paramref name="threads"/> (its <see cref="HostThreads.Count"/>) per rank, at least one, so
    /// that ranks x threads per rank stays within them: <c>ENGINE_THREADS</c>, the engine's cap on its host threads, and
    /// beside it <c>DOTNET_PROCESSOR_COUNT</c>, so that the runtime's own pools (GC, thread pool) count the same cores;
    /// then <c>dotnet THIS.dll</c> with the app's own arguments. With a hostfile each rank takes its share of its own
    /// machine (<see cref="ShareCores"/>).
    /// </summary>
    public static List<string> Arguments(int ranks, string? hostfile, IReadOnlyList<string> args, string dotnet, string dll, bool root, int threads)
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
            string share = Math.Max(1, threads / ranks).ToString(CultureInfo.InvariantCulture);
            list.AddRange(["--oversubscribe", "-x", HostThreads.EnvironmentVariable + "=" + share, "-x", "DOTNET_PROCESSOR_COUNT=" + share]);
        }

        list.AddRange(["-x", "TERM=dumb", dotnet, dll]);
        list.AddRange(args);
        return list;
    }

    /// <summary>
    /// On a rank started by mpirun: caps the engine's host threads at this rank's share of its machine's cores (cores /
    /// the job's ranks on this machine, at least one) unless a cap is set already (HostThreads.Limit, or ENGINE_THREADS,
    /// which --ranks passes on and a hand-written mpirun may too). The device logs the count it then uses.
    /// </summary>
    public static void ShareCores(ProcessGroup group)
    {
        if (Share(HostThreads.Limit, Environment.GetEnvironmentVariable(HostThreads.EnvironmentVariable), Environment.ProcessorCount, group.LocalSize) is { } share)
        {
            HostThreads.Limit = share;
        }
    }

    /// <summary>The cap <see cref="ShareCores"/> sets for a limit, an ENGINE_THREADS value, the cores and the ranks on this machine; null to keep the set one.</summary>
    internal static int? Share(int? limit, string? variable, int cores, int localRanks) =>
        limit is not null || !string.IsNullOrWhiteSpace(variable) ? null : Math.Max(1, cores / Math.Max(1, localRanks));

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
