// Small synthetic datasets whose features encode the sample index, so a test can tell which sample landed where.
using System;
using Engine.Data;

namespace Engine.Tests.Data;

internal static class SyntheticData
{
    /// <summary>Sample i has features i*1000 + j and label i % classes.</summary>
    public static InMemoryDataset Indexed(int count, Shape sampleShape, int classes = 3)
    {
        int n = (int)sampleShape.Length;
        var f = new float[count * n];
        var l = new int[count];
        for (int i = 0; i < count; i++)
        {
            for (int j = 0; j < n; j++)
            {
                f[(i * n) + j] = (i * 1000) + j;
            }

            l[i] = i % classes;
        }

        return new InMemoryDataset(f, l, sampleShape, classes);
    }

    /// <summary>Which sample a feature row came from (inverse of <see cref="Indexed"/> for untransformed rows).</summary>
    public static int SampleOf(ReadOnlySpan<float> row) => (int)MathF.Round(row[0] / 1000f);
}

/// <summary>A dataset that fails on one sample, to prove that background errors reach the caller.</summary>
internal sealed class FailingDataset(int count, int failAt) : IDataset
{
    public int Count => count;

    public Shape SampleShape { get; } = new(2);

    public int ClassCount => 2;

    public int Read(int index, Span<float> features)
    {
        if (index == failAt)
        {
            throw new InvalidOperationException($"sample {index} is broken");
        }

        features.Fill(index);
        return index % 2;
    }
}
