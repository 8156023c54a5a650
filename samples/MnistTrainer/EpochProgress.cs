// Per-epoch progress: a redrawn bar (loss, accuracy or the task's metric, samples/s, ETA) on a terminal, a few plain
// log lines otherwise.
using System;
using System.Globalization;
using System.IO;
using Microsoft.Extensions.Logging;

namespace MnistTrainer;

/// <summary>Reports training progress within one epoch; the trainer calls <see cref="Report"/> after each batch.</summary>
internal sealed class EpochProgress
{
    private const int BarWidth = 28;
    private readonly TextWriter output;
    private readonly bool interactive;
    private readonly ILogger logger;
    private readonly TimeProvider time;
    private readonly long start;
    private long lastDraw;
    private bool drawn;
    private int nextQuarter = 1;
    private int lastLength;

    public EpochProgress(TextWriter output, bool interactive, ILogger logger, int epoch, int epochs, int totalSamples, TimeProvider? time = null)
    {
        this.time = time ?? TimeProvider.System;
        start = this.time.GetTimestamp();
        this.output = output;
        this.interactive = interactive;
        this.logger = logger;
        Epoch = epoch;
        Epochs = epochs;
        TotalSamples = totalSamples;
    }

    public int Epoch { get; }

    public int Epochs { get; }

    public int TotalSamples { get; }

    /// <summary>Reports <paramref name="samplesDone"/> samples trained so far with the running mean loss and accuracy.</summary>
    public void Report(int samplesDone, double meanLoss, double accuracy) => Report(samplesDone, meanLoss, AccuracyText(accuracy));

    /// <summary>Reports <paramref name="samplesDone"/> samples trained so far with the running mean loss and a metric's text (e.g. <c>rmse 0.412</c>).</summary>
    public void Report(int samplesDone, double meanLoss, string metric)
    {
        double seconds = time.GetElapsedTime(start).TotalSeconds;
        string line = Format(Epoch, Epochs, samplesDone, TotalSamples, meanLoss, metric, seconds);
        if (interactive)
        {
            long now = time.GetTimestamp();
            if (drawn && samplesDone < TotalSamples && now - lastDraw < time.TimestampFrequency / 10)
            {
                return;
            }

            drawn = true;
            lastDraw = now;
            output.Write("\r" + line.PadRight(lastLength));
            lastLength = line.Length;
            if (samplesDone >= TotalSamples)
            {
                output.WriteLine();
            }

            output.Flush();
        }
        else if (TotalSamples > 0 && samplesDone * 4L >= nextQuarter * (long)TotalSamples)
        {
            while (samplesDone * 4L >= nextQuarter * (long)TotalSamples)
            {
                nextQuarter++;
            }

            logger.LogInformation("{Progress}", line);
        }
    }

    /// <summary>The progress line, e.g. <c>epoch 2/5 [=======&gt;    ]  52%  loss 0.1234  acc 96.51%  2,345 samples/s  ETA 0:04</c>.</summary>
    public static string Format(int epoch, int epochs, int done, int total, double loss, double accuracy, double seconds) =>
        Format(epoch, epochs, done, total, loss, AccuracyText(accuracy), seconds);

    /// <summary>The progress line with <paramref name="metric"/> in the place of the accuracy.</summary>
    public static string Format(int epoch, int epochs, int done, int total, double loss, string metric, double seconds)
    {
        double frac = total > 0 ? Math.Clamp((double)done / total, 0, 1) : 0;
        int filled = (int)(frac * BarWidth);
        string bar = new string('=', filled) + (filled < BarWidth ? ">" + new string(' ', BarWidth - filled - 1) : string.Empty);
        double rate = seconds > 0 ? done / seconds : 0;
        string eta = rate > 0 ? Clock((total - done) / rate) : "--:--";
        return string.Create(CultureInfo.InvariantCulture,
            $"epoch {epoch}/{epochs} [{bar}] {frac * 100,3:F0}%  loss {loss:F4}  {metric}  {rate:N0} samples/s  {(done >= total ? "took " + Clock(seconds) : "ETA " + eta)}");
    }

    private static string AccuracyText(double accuracy) => string.Create(CultureInfo.InvariantCulture, $"acc {accuracy * 100:F2}%");

    private static string Clock(double seconds)
    {
        var t = TimeSpan.FromSeconds(Math.Max(0, Math.Round(seconds)));
        return t.TotalHours >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}")
            : string.Create(CultureInfo.InvariantCulture, $"{t.Minutes}:{t.Seconds:00}");
    }
}
