// A numeric table read from a CSV file: a header of column names, then rows of values. Columns whose every value is a
// number are features (or the target); other columns (dates, categories) are left out and named in the log.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;

namespace MnistTrainer.Tasks;

/// <summary>The features and the target of a CSV file, row by row.</summary>
internal sealed record CsvTable(string[] FeatureNames, float[] Features, float[] Targets, string[] SkippedColumns)
{
    /// <summary>Rows.</summary>
    public int Rows => Targets.Length;

    /// <summary>
    /// Reads <paramref name="path"/> (comma-separated, a header line, optional double quotes around fields), taking
    /// <paramref name="target"/> as the target and every other all-numeric column as a feature.
    /// </summary>
    /// <exception cref="InvalidDataException">No header, a row of the wrong width, no such target column, a target that is not a number, or no numeric feature.</exception>
    public static CsvTable Load(string path, string target)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(target);
        var lines = File.ReadLines(path).Select((text, i) => (text, line: i + 1)).Where(l => l.text.Trim().Length > 0).ToList();
        if (lines.Count < 2)
        {
            throw new InvalidDataException($"'{path}' needs a header line of column names and at least one row of values.");
        }

        string[] header = Split(lines[0].text);
        int t = Array.IndexOf(header, target);
        if (t < 0)
        {
            throw new InvalidDataException($"'{path}' has no column '{target}' for the target; its columns are {string.Join(", ", header)}.");
        }

        var cells = new List<string[]>(lines.Count - 1);
        foreach (var (text, line) in lines.Skip(1))
        {
            var row = Split(text);
            if (row.Length != header.Length)
            {
                throw new InvalidDataException($"'{path}' line {line} has {row.Length} fields; the header has {header.Length}.");
            }

            cells.Add(row);
        }

        var targets = new float[cells.Count];
        for (int r = 0; r < cells.Count; r++)
        {
            targets[r] = Number(cells[r][t]) ?? throw new InvalidDataException(
                $"'{path}' line {lines[r + 1].line}: the target '{target}' is '{cells[r][t]}', not a number.");
        }

        var numeric = Enumerable.Range(0, header.Length).Where(c => c != t && cells.All(row => Number(row[c]) is not null)).ToArray();
        if (numeric.Length == 0)
        {
            throw new InvalidDataException($"'{path}' has no numeric column besides the target '{target}' to use as a feature.");
        }

        var features = new float[cells.Count * numeric.Length];
        for (int r = 0; r < cells.Count; r++)
        {
            for (int f = 0; f < numeric.Length; f++)
            {
                features[(r * numeric.Length) + f] = Number(cells[r][numeric[f]])!.Value;
            }
        }

        return new CsvTable([.. numeric.Select(c => header[c])], features, targets,
            [.. Enumerable.Range(0, header.Length).Where(c => c != t && !numeric.Contains(c)).Select(c => header[c])]);
    }

    private static float? Number(string s) =>
        float.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out float v) && float.IsFinite(v) ? v : null;

    private static string[] Split(string line) =>
        [.. line.Split(',').Select(f => f.Trim()).Select(f => f.Length >= 2 && f[0] == '"' && f[^1] == '"' ? f[1..^1] : f)];
}
