// How a dataset's targets meet the model's loss: class labels become indices or one-hot rows, float targets must have
// the loss target's per-sample shape, triplets need the triplet loss. Checked before any batch is built, with both
// shapes in the message.
using System;
using System.Linq;
using Engine.Data;
using Engine.Nn;

namespace Engine.Training;

public sealed partial class Trainer
{
    /// <summary>How <paramref name="d"/>'s class labels are written for the loss (indices or one-hot); checks that its targets fit the loss.</summary>
    /// <exception cref="ArgumentException">The targets do not fit the model's loss; the message names both shapes.</exception>
    private LabelFormat LabelFormatFor(IDataset d)
    {
        var target = Model.Target!.Shape;
        var perSample = new Shape(target.ToArray()[1..]);
        bool triplet = Model.LossSpec?.Task == LossTask.Triplet;
        string loss = Model.LossSpec?.Describe() ?? "the loss";
        if (triplet != (d.TargetKind == TargetKind.Triplet))
        {
            throw new ArgumentException(triplet
                ? $"The model's loss is the triplet loss ({loss}): its prediction stacks anchors, positives and negatives, so it trains on triples (an ITripletDataset such as new TripletDataset(data, seed)); this dataset's targets are {Describe(d)}."
                : $"The dataset holds triples (anchor, positive, negative), which only the triplet loss takes; the model's loss is {loss} with targets {target} per batch. Compile the model with Loss.Triplet().",
                nameof(d));
        }

        switch (d.TargetKind)
        {
            case TargetKind.ClassIndex:
                if (target.Rank == 1)
                {
                    return LabelFormat.Indices;
                }

                if (target.Rank == 2 && target[1] == d.ClassCount)
                {
                    return LabelFormat.OneHot;
                }

                throw new ArgumentException(
                    $"The model's loss target is {target} ({loss}), {perSample} per sample; the dataset's targets are class labels ({d.ClassCount} classes), which give class indices (batch) or one-hot rows (batch, {d.ClassCount}).", nameof(d));
            case TargetKind.Values:
                if (!d.TargetShape.Equals(perSample))
                {
                    throw new ArgumentException(
                        $"The dataset's targets are {d.TargetShape} per sample, but the model's loss ({loss}) takes targets {target} per batch, {perSample} per sample.", nameof(d));
                }

                return LabelFormat.Indices;
            case TargetKind.Triplet:
                return LabelFormat.Indices;
            default:
                throw new ArgumentException($"Unknown target kind {d.TargetKind}.", nameof(d));
        }
    }

    private static string Describe(IDataset d) => d.TargetKind switch
    {
        TargetKind.ClassIndex => $"class labels ({d.ClassCount} classes)",
        TargetKind.Values => $"float values of {d.TargetShape} per sample",
        _ => d.TargetKind.ToString(),
    };

    private void CheckLoader(DeviceDataLoader loader, string name)
    {
        if (!ReferenceEquals(loader.Device, Model.Device))
        {
            throw new ArgumentException($"The loader's device ({loader.Device.Name}) is not the model's ({Model.Device.Name}).", name);
        }

        var sample = Model.Input.Shape.ToArray()[1..];
        if (!loader.Dataset.SampleShape.ToArray().SequenceEqual(sample))
        {
            throw new ArgumentException(
                $"The samples are {loader.Dataset.SampleShape} but the model takes {Model.Input.Shape} (batch, {string.Join(", ", sample)}).", name);
        }

        LabelFormatFor(loader.Dataset);
        var target = Model.Target!.Shape;
        if (loader.LabelShape.Rank != target.Rank || !loader.LabelShape.ToArray()[1..].SequenceEqual(target.ToArray()[1..]))
        {
            throw new ArgumentException($"The loader's labels are {loader.LabelShape} per batch but the loss target is {target}.", name);
        }
    }
}
