// Runs the repository's Python scripts with Debian's PyTorch (/usr/bin/python3 with python3-torch) for the round-trip
// tests. PyTorch missing is a failure that says how to install it, never a skip: .ci/run installs python3-torch.
using System;
using System.Diagnostics;
using System.IO;
using NUnit.Framework;

namespace Engine.Tests.Infrastructure;

internal static class PyTorch
{
    public const string Python = "/usr/bin/python3";

    private static readonly Lazy<string?> Missing = new(() =>
    {
        if (!File.Exists(Python))
        {
            return $"{Python} does not exist";
        }

        var (code, output) = Start(["-c", "import torch; print(torch.__version__)"], TimeSpan.FromMinutes(2));
        return code == 0 ? null : $"'{Python} -c \"import torch\"' failed: {output.Trim()}";
    });

    /// <summary>Runs scripts/<paramref name="script"/> with <paramref name="args"/>; fails the test unless it exits 0. Returns stdout and stderr.</summary>
    public static string RunScript(string script, params string[] args)
    {
        if (Missing.Value is { } why)
        {
            Assert.Fail($"PyTorch is required for this round-trip test and is missing ({why}). Install Debian's python3-torch: apt-get update && apt-get install -y python3-torch");
        }

        var (code, output) = Start([Path.Combine(Docs.ReadmeTests.RepoRoot(), "scripts", script), .. args], TimeSpan.FromMinutes(5));
        Assert.That(code, Is.Zero, $"scripts/{script} {string.Join(" ", args)} failed:\n{output}");
        return output;
    }

    private static (int Code, string Output) Start(string[] args, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {Python}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            return (-1, $"timed out after {timeout}");
        }

        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}
