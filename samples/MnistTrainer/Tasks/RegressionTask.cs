// ./build.sh train regression: a small MLP regresses a named column of a numeric CSV file on its other numeric columns
// (standardized with the training rows' statistics), trained with MSE; reports RMSE and R² on held-out rows. Default
// data: Seattle's daily weather 2012-2015 from the npm package vega-datasets, predicting the day's maximum temperature.
using System;
using System.Collections.Generic;
using System.Formats.Tar;
using System.Globalization;
using System.IO;
using System.IO.Compression;
using System.Threading;
using System.Threading.Tasks;
using Engine;
using Engine.Data;
using Engine.Nn;
using Microsoft.Extensions.Logging;

namespace MnistTrainer.Tasks;

internal sealed class RegressionTask : SampleTask
{
    private const string DefaultFile = "seattle-weather.csv";
    private const string DefaultSha256 = "0845078a290b48e3149ab8639966824110a251db4e06fc144c06ebb534af23be";

    /// <summary>vega-datasets (BSD-3-Clause), whose data/seattle-weather.csv is NOAA's daily weather in Seattle, 2012-2015.</summary>
    public static NpmPackage Package { get; } = new("vega-datasets", "3.2.1",
        "sha512-lTSwZA6yq6qSU2YZm+6bqILiIvTPPxn4itir7jPGFmHIdPvUfQ9pCzzcrklYywMJgLUbaIeSkZQdiJd6wBxPug==");

    public override string Name => "regression";

    public override string Help => """
        Regression on a table: an MLP (dense 64, dense 64, dense 1, Relu) predicts the --target column of a CSV file from
        every other column whose values are all numbers (others, such as dates, are left out), trained on the mean
        squared error. Features are standardized with the training rows' mean and deviation; 80% of the rows (shuffled
        by --seed) train, 20% test. Reports the test RMSE and R² (and MAE), in the target's units.
        Without --csv: data/seattle-weather.csv of the npm package vega-datasets@3.2.1 (fetched once into
        .cache/vega-datasets), predicting temp_max from precipitation, temp_min and wind.

          --csv FILE            a comma-separated file with a header line of column names
          --target NAME         the column to predict (default temp_max, for the default file)
        """;

    public override TaskOptions Defaults => new() { Epochs = 60, BatchSize = 32, LearningRate = 0.003, OutputDirectory = TaskOptions.OutFor(Name) };

    public override string LossName => "mse";

    public override string ChartMetric => "rmse";

    public override async Task<TaskData> LoadAsync(TaskOptions options, ILogger log, CancellationToken ct)
    {
        string path, source;
        string target = options.Target ?? (options.Csv is null ? "temp_max" : throw new ArgumentException("--csv needs --target NAME, the column to predict."));
        if (options.Csv is { } csv)
        {
            path = File.Exists(csv) ? csv : throw new FileNotFoundException($"--csv file '{Path.GetFullPath(csv)}' does not exist.", csv);
            source = Path.GetFileName(csv);
        }
        else
        {
            path = await EnsureDefaultAsync(log, ct).ConfigureAwait(false);
            source = $"npm {Package.Spec} data/{DefaultFile}";
        }

        var table = CsvTable.Load(path, target);
        if (table.SkippedColumns.Length > 0)
        {
            log.LogInformation("Columns left out (not all numbers): {Columns}", string.Join(", ", table.SkippedColumns));
        }

        int f = table.FeatureNames.Length;
        var all = new InMemoryDataset(table.Features, new Shape(f), table.Targets, new Shape(1));
        if (all.Count < 5)
        {
            throw new InvalidDataException($"'{path}' has {all.Count} rows; a train/test split needs at least 5.");
        }

        var (train, test) = all.Split(Math.Max(1, all.Count * 4 / 5), options.Seed);
        train = First(train, options.TrainSamples);
        test = First(test, options.TestSamples);
        var (mean, std) = Statistics(train, f);
        var facts = new Dictionary<string, string>
        {
            ["model"] = $"mlp {f}-64-64-1",
            ["target"] = target,
            ["features"] = string.Join(",", table.FeatureNames),
            ["feature_mean"] = string.Join(",", Array.ConvertAll(mean, v => v.ToString("R", CultureInfo.InvariantCulture))),
            ["feature_std"] = string.Join(",", Array.ConvertAll(std, v => v.ToString("R", CultureInfo.InvariantCulture))),
        };
        return new TaskData(Standardize(train, mean, std), Standardize(test, mean, std), source, facts);
    }

    public override Module Build(TaskData data) => new Sequential(
        new Linear(data.Train.SampleShape[0], 64), new Relu(), new Linear(64, 64), new Relu(), new Linear(64, 1));

    public override ILossSpec Loss() => Engine.Nn.Loss.Mse();

    public override string Finish(TaskResult r) => string.Create(CultureInfo.InvariantCulture,
        $"test RMSE: {r.Test.Metrics["rmse"]:G4}, R²: {r.Test.Metrics["r2"]:F3}, MAE: {r.Test.Metrics["mae"]:G4} ({r.Test.Samples} samples)");

    /// <summary>The default CSV in .cache/vega-datasets, unpacked from the verified package when missing.</summary>
    private static async Task<string> EnsureDefaultAsync(ILogger log, CancellationToken ct)
    {
        string dir = Path.Combine(Path.GetDirectoryName(TrainerApp.DefaultCacheDirectory())!, "vega-datasets");
        string csv = Path.Combine(dir, DefaultFile);
        if (File.Exists(csv) && MnistDataPackage.Sha256(csv) == DefaultSha256)
        {
            return csv;
        }

        string tarball = await Package.FetchTarballAsync(dir, log, ct).ConfigureAwait(false);
        using (var file = File.OpenRead(tarball))
        using (var gz = new GZipStream(file, CompressionMode.Decompress))
        using (var tar = new TarReader(gz))
        {
            while (tar.GetNextEntry() is { } entry)
            {
                if (entry.Name == "package/data/" + DefaultFile && entry.DataStream is not null)
                {
                    using (var output = File.Create(csv + ".tmp"))
                    {
                        entry.DataStream.CopyTo(output);
                    }

                    File.Move(csv + ".tmp", csv, overwrite: true);
                }
            }
        }

        if (!File.Exists(csv) || MnistDataPackage.Sha256(csv) != DefaultSha256)
        {
            throw new InvalidDataException($"'{tarball}' does not hold the pinned data/{DefaultFile} (SHA-256 {DefaultSha256}).");
        }

        return csv;
    }

    private static InMemoryDataset First(InMemoryDataset data, int? count)
    {
        if (count is not { } n || n >= data.Count)
        {
            return data;
        }

        var order = new int[n];
        for (int i = 0; i < n; i++)
        {
            order[i] = i;
        }

        return data.Subset(order);
    }

    private static (float[] Mean, float[] Std) Statistics(InMemoryDataset train, int f)
    {
        var mean = new float[f];
        var std = new float[f];
        for (int j = 0; j < f; j++)
        {
            double s = 0, q = 0;
            for (int i = 0; i < train.Count; i++)
            {
                double v = train.Sample(i)[j];
                s += v;
                q += v * v;
            }

            double m = s / train.Count;
            mean[j] = (float)m;
            std[j] = (float)Math.Max(Math.Sqrt(Math.Max(0, (q / train.Count) - (m * m))), 1e-6);
        }

        return (mean, std);
    }

    private static InMemoryDataset Standardize(InMemoryDataset data, float[] mean, float[] std)
    {
        int f = mean.Length;
        var x = data.Features.ToArray();
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (x[i] - mean[i % f]) / std[i % f];
        }

        return new InMemoryDataset(x, data.SampleShape, data.Targets.ToArray(), data.TargetShape);
    }
}
