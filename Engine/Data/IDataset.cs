// The one interface data loaders read from: a fixed number of samples, each a float feature block and a class label.
using System;

namespace Engine.Data;

/// <summary>
/// A labelled dataset of <see cref="Count"/> samples. Each sample is a block of <see cref="SampleShape"/> floats and
/// an integer class label in [0, <see cref="ClassCount"/>). Implementations must allow concurrent reads of
/// different samples (loaders read on a background thread).
/// </summary>
public interface IDataset
{
    /// <summary>Number of samples.</summary>
    int Count { get; }

    /// <summary>Shape of one sample's features, e.g. [1, 28, 28] for a grey image.</summary>
    Shape SampleShape { get; }

    /// <summary>Number of classes; labels lie in [0, ClassCount).</summary>
    int ClassCount { get; }

    /// <summary>
    /// Copies sample <paramref name="index"/>'s features into <paramref name="features"/> (exactly
    /// <c>SampleShape.Length</c> elements, row-major) and returns its label.
    /// </summary>
    int Read(int index, Span<float> features);
}
