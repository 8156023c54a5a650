// The one interface data loaders read from: a fixed number of samples, each a float feature block and a target (a
// class label, float values of a fixed shape, or the other two members of a triplet).
using System;

namespace Engine.Data;

/// <summary>What the target of a dataset's samples is.</summary>
public enum TargetKind
{
    /// <summary>An integer class label in [0, ClassCount), as <see cref="IDataset.Read(int, Span{float})"/> returns it (classification).</summary>
    ClassIndex = 0,

    /// <summary>
    /// Floats of <see cref="IDataset.TargetShape"/> per sample: a regression vector, a reconstruction of the input, a
    /// (C, H, W) or (H, W) mask. <see cref="IDataset.Read(int, Span{float}, Span{float})"/> writes them.
    /// </summary>
    Values = 1,

    /// <summary>
    /// An (anchor, positive, negative) triple of samples for the triplet loss; the dataset implements
    /// <see cref="ITripletDataset"/>, and its target is the three samples' class labels (<see cref="IDataset.TargetShape"/> [3]).
    /// </summary>
    Triplet = 2,
}

/// <summary>
/// A dataset of <see cref="Count"/> samples. Each sample is a block of <see cref="SampleShape"/> floats and a target:
/// by default an integer class label in [0, <see cref="ClassCount"/>) (<see cref="TargetKind.ClassIndex"/>); a dataset
/// may instead have float targets of <see cref="TargetShape"/> (<see cref="TargetKind.Values"/>) or triplets
/// (<see cref="TargetKind.Triplet"/>). Implementations must allow concurrent reads of different samples (loaders read
/// on a background thread).
/// </summary>
public interface IDataset
{
    /// <summary>Number of samples.</summary>
    int Count { get; }

    /// <summary>Shape of one sample's features, e.g. [1, 28, 28] for a grey image.</summary>
    Shape SampleShape { get; }

    /// <summary>Number of classes; labels lie in [0, ClassCount). 0 when the targets are not classes (regression).</summary>
    int ClassCount { get; }

    /// <summary>What each sample's target is. Default <see cref="TargetKind.ClassIndex"/>.</summary>
    TargetKind TargetKind => TargetKind.ClassIndex;

    /// <summary>
    /// Shape of one sample's target: [] (a scalar) for a class index (the default), the value shape for
    /// <see cref="TargetKind.Values"/>, [3] (the labels of anchor, positive and negative) for <see cref="TargetKind.Triplet"/>.
    /// </summary>
    Shape TargetShape => Shape.Scalar;

    /// <summary>
    /// Copies sample <paramref name="index"/>'s features into <paramref name="features"/> (exactly
    /// <c>SampleShape.Length</c> elements, row-major) and returns its label (-1 when the targets are not class labels).
    /// </summary>
    int Read(int index, Span<float> features);

    /// <summary>
    /// Copies sample <paramref name="index"/>'s features into <paramref name="features"/> and its target into
    /// <paramref name="target"/> (<c>TargetShape.Length</c> elements). The default writes the label of
    /// <see cref="Read(int, Span{float})"/> as a float, which is right for class-index datasets.
    /// </summary>
    void Read(int index, Span<float> features, Span<float> target) => target[0] = Read(index, features);
}
