// Crash consistency (`./build.sh crash-kill [KILLS]`): a child process trains with a checkpoint every two steps and is
// killed with SIGKILL at random moments (often inside a save); after every kill the folder's latest checkpoint must load,
// must be no older than the one before the kill, and the next child resumes from it. Every run that reaches the end must
// hold weights bit-identical to an unkilled run, and its folder must hold no leftover of the killed saves.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading;
using Engine.Training;

namespace Engine.Reliability.Runs;

/// <summary>What a crash-kill session saw.</summary>
/// <param name="Kills">Children killed while training.</param>
/// <param name="Completions">Runs that reached the end (each compared with the unkilled run).</param>
/// <param name="MidSave">Kills that left a new temporary or unpaired file behind (the kill landed inside a save).</param>
/// <param name="Problems">Every broken promise: a checkpoint that does not load, one older than before, other final weights, leftovers.</param>
internal sealed record CrashKillResult(int Kills, int Completions, int MidSave, IReadOnlyList<string> Problems);

/// <summary>The crash-kill parent and child.</summary>
internal static class CrashKill
{
    private const int Epochs = 5;

    private static readonly Regex Managed = new(@"^(latest|ckpt-\d{6}-e\d+-s(\d+)(\.train|\.best)?\.safetensors)$", RegexOptions.CultureInvariant);

    /// <summary>The child: resumes from the folder's latest checkpoint (if any), trains to the end, prints the weights' hash.</summary>
    public static int Child(string directory)
    {
        using var run = new TinyRun(Epochs, Options(directory), new EarlyStoppingOptions { Monitor = TrainingMetric.ValidationLoss, Patience = 100 });
        if (Trainer.FindLatestCheckpoint(directory) is { } latest)
        {
            run.Trainer.LoadCheckpoint(latest);
        }

        Console.WriteLine($"resumed {run.Trainer.StepCount}");
        run.Trainer.Fit(TinyRun.Blobs(48), TinyRun.Blobs(9), new StepPrinter());
        Console.WriteLine($"final {run.WeightsHash()}");
        return 0;
    }

    /// <summary>Kills children <paramref name="kills"/> times (moments drawn from <paramref name="seed"/>); lines go to <paramref name="log"/>.</summary>
    public static CrashKillResult Run(int kills, int seed, TextWriter log)
    {
        var problems = new List<string>();
        string root = Path.Combine(Path.GetTempPath(), $"engine-crash-kill-{Environment.ProcessId}-{Guid.NewGuid():N}"[..48]);
        try
        {
            var (refLines, _) = Start(Path.Combine(root, "reference"), killAtStep: null, 0);
            string reference = Final(refLines) ?? throw new InvalidOperationException($"the unkilled child printed no final hash:\n{string.Join("\n", refLines)}");
            long totalSteps = refLines.Where(l => l.StartsWith("step ", StringComparison.Ordinal)).Select(l => long.Parse(l[5..], CultureInfo.InvariantCulture)).Max();
            log.WriteLine($"reference run: {totalSteps} steps, weights {reference[..16]}");

            using var checker = new TinyRun(Epochs, null, new EarlyStoppingOptions { Monitor = TrainingMetric.ValidationLoss, Patience = 100 });
            var rng = new Random(seed);
            int done = 0, completions = 0, midSave = 0, folder = 0;
            long lastStep = -1;
            string dir = Path.Combine(root, $"run-{folder}");
            while (done < kills)
            {
                // Killed 0-24 ms after one of the next 8 steps: every run advances a few steps per child, and most kills
                // land inside one of the saves that follow every second step.
                int delay = rng.Next(0, 25);
                var earlier = Directory.Exists(dir) ? Directory.GetFiles(dir).Select(Path.GetFileName).ToHashSet() : [];
                var (lines, killed) = Start(dir, resumed => resumed + rng.Next(1, 9), delay);
                if (killed)
                {
                    done++;
                    var leftovers = Directory.EnumerateFiles(dir).Select(Path.GetFileName).Where(n => !Managed.IsMatch(n!)).ToList();
                    string? latest = Trainer.FindLatestCheckpoint(dir);
                    long at = latest is null ? -1 : long.Parse(Managed.Match(Path.GetFileName(latest)).Groups[2].Value, CultureInfo.InvariantCulture);
                    string loads = "no checkpoint yet";
                    if (latest is not null)
                    {
                        try
                        {
                            checker.Trainer.LoadCheckpoint(latest);
                            loads = $"{Path.GetFileName(latest)} loads";
                        }
                        catch (Exception e)
                        {
                            problems.Add($"kill {done}: {latest} does not load: {e.Message}");
                            loads = "DOES NOT LOAD";
                        }
                    }

                    if (at < lastStep)
                    {
                        problems.Add($"kill {done}: the latest checkpoint went back from step {lastStep} to {at}");
                    }

                    midSave += leftovers.Any(n => !earlier.Contains(n)) ? 1 : 0;
                    lastStep = Math.Max(lastStep, at);
                    log.WriteLine($"kill {done}: after '{lines.LastOrDefault()}' +{delay} ms; {loads}; leftovers: {(leftovers.Count == 0 ? "none" : string.Join(", ", leftovers))}");
                }
                else if (Final(lines) is { } hash)
                {
                    completions++;
                    Complete(hash);
                    dir = Path.Combine(root, $"run-{++folder}");
                    lastStep = -1;
                }
                else
                {
                    problems.Add($"run {folder}: a child ended without being killed and without a result:\n  {string.Join("\n  ", lines.TakeLast(8))}");
                    break;
                }
            }

            // The last killed run is resumed to its end too.
            if (lastStep >= 0 && Final(Start(dir, null, 0).Lines) is { } last)
            {
                completions++;
                Complete(last);
            }

            return new CrashKillResult(done, completions, midSave, problems);

            void Complete(string hash)
            {
                var leftovers = Directory.EnumerateFiles(dir).Select(Path.GetFileName).Where(n => !Managed.IsMatch(n!)).ToList();
                if (hash != reference)
                {
                    problems.Add($"run {folder}: final weights {hash[..16]} differ from the unkilled run's {reference[..16]}");
                }

                if (leftovers.Count > 0)
                {
                    problems.Add($"run {folder}: the finished folder still holds {string.Join(", ", leftovers)}");
                }

                log.WriteLine($"run {folder} completed: weights {(hash == reference ? "bit-identical to" : "DIFFERENT from")} the unkilled run's; leftovers: {(leftovers.Count == 0 ? "none" : "SOME")}");
            }
        }
        finally
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static CheckpointOptions Options(string directory) =>
        new() { Directory = directory, EverySteps = 2, EveryEpochs = 0, AtEnd = true, Keep = 2 };

    private static string? Final(List<string> lines) => lines.LastOrDefault(l => l.StartsWith("final ", StringComparison.Ordinal))?[6..];

    /// <summary>Runs a child in <paramref name="dir"/>; kills it <paramref name="delayMs"/> after it reports the step that <paramref name="killAtStep"/> picks from its resume step.</summary>
    private static (List<string> Lines, bool Killed) Start(string dir, Func<long, long?>? killAtStep, int delayMs)
    {
        Directory.CreateDirectory(dir);
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(typeof(CrashKill).Assembly.Location);
        psi.ArgumentList.Add("crash-child");
        psi.ArgumentList.Add(dir);
        using var child = Process.Start(psi) ?? throw new InvalidOperationException("could not start the crash child");
        var errors = child.StandardError.ReadToEndAsync();
        var lines = new List<string>();
        long? target = null;
        bool killed = false;
        var clock = Stopwatch.StartNew();
        while (child.StandardOutput.ReadLine() is { } line)
        {
            lines.Add(line);
            if (line.StartsWith("resumed ", StringComparison.Ordinal))
            {
                target = killAtStep?.Invoke(long.Parse(line[8..], CultureInfo.InvariantCulture));
            }
            else if (target is { } t && line.StartsWith("step ", StringComparison.Ordinal) && long.Parse(line[5..], CultureInfo.InvariantCulture) >= t)
            {
                Thread.Sleep(delayMs);
                child.Kill();   // SIGKILL on Unix: no finally block, no flush, nothing runs in the child
                killed = true;
                break;
            }

            if (clock.Elapsed > TimeSpan.FromMinutes(5))
            {
                child.Kill();
                throw new TimeoutException($"the crash child in {dir} ran over 5 minutes");
            }
        }

        child.WaitForExit();
        if (!killed && child.ExitCode != 0)
        {
            lines.Add($"exit code {child.ExitCode}: {errors.Result}");
        }

        return (lines, killed);
    }

    /// <summary>Prints every training step as it completes (synchronously: the parent kills on these lines).</summary>
    private sealed class StepPrinter : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            if (value.Phase == TrainingPhase.Training)
            {
                Console.WriteLine($"step {value.Step}");
            }
        }
    }
}
