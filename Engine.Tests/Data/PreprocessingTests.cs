// Scalings (min-max, log, arctan) and augmentations (flips, rotations, Gaussian noise): their values on hand-checked
// samples, seeded determinism through the loader, masks moving with images, and bad settings; balanced class weights.
using System;
using System.Linq;
using Engine.Data;
using NUnit.Framework;

namespace Engine.Tests.Data;

public sealed class PreprocessingTests
{
    private static SampleRandom Rng(int i = 0) => SampleRandom.For(1, 0, i);

    [Test]
    public void Min_max_scaling_maps_the_training_range_to_the_target_range_per_channel()
    {
        // Two channels of two pixels: channel 0 spans [1, 5], channel 1 is constant 7.
        var data = new InMemoryDataset([1, 3, 7, 7, 5, 2, 7, 7], [0, 1], new Shape(2, 1, 2), 2);
        var s = MinMaxScale.Compute(data, perChannel: true, low: -1, high: 1);
        Assert.That(s.Min.ToArray(), Is.EqualTo(new[] { 1f, 7f }));
        Assert.That(s.Max.ToArray(), Is.EqualTo(new[] { 5f, 7f }));
        float[] x = [1, 4, 7, 9];
        var rng = Rng();
        s.Apply(x, new Shape(2, 1, 2), ref rng);
        Assert.That(x, Is.EqualTo(new[] { -1f, 0.5f, -1f, 3f }), "x' = low + (x - min)(high - low)/(max - min); a constant channel maps to low, as scikit-learn");

        var whole = MinMaxScale.Compute(data);
        float[] y = [1, 7];
        whole.Apply(y, new Shape(2), ref rng);
        Assert.That(y, Is.EqualTo(new[] { 0f, 1f }));
        Assert.That(() => new MinMaxScale([2f], [1f]), Throws.ArgumentException.With.Message.Contain("min <= max"));
        Assert.That(() => new MinMaxScale([0f], [1f], 1, 1), Throws.ArgumentException.With.Message.Contain("high > low"));
        Assert.That(() => s.Apply(new float[4], new Shape(4), ref rng), Throws.ArgumentException.With.Message.Contain("2 channels"));
    }

    [Test]
    public void Log_and_arctan_scalings_follow_their_formulas()
    {
        float[] x = [0, 1, 99, -0.5f];
        var rng = Rng();
        new LogScale().Apply(x, new Shape(4), ref rng);
        Assert.That(x, Is.EqualTo(new[] { 0f, MathF.Log(2), MathF.Log(100), MathF.Log(0.5f) }).Within(1e-6));
        float[] y = [0, 2, -2, 1e9f];
        new ArctanScale(2).Apply(y, new Shape(4), ref rng);
        Assert.That(y, Is.EqualTo(new[] { 0f, 0.5f, -0.5f, 1f }).Within(1e-6), "(2/pi) atan(x/2)");
        Assert.That(() => new ArctanScale(0), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => new LogScale(float.NaN), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void Flips_mirror_each_plane_and_move_the_mask_the_same_way()
    {
        var shape = new Shape(1, 2, 3);
        float[] img = [1, 2, 3, 4, 5, 6];
        RandomFlip.Flip(img, shape, horizontal: true, vertical: false);
        Assert.That(img, Is.EqualTo(new float[] { 3, 2, 1, 6, 5, 4 }));
        RandomFlip.Flip(img, shape, horizontal: false, vertical: true);
        Assert.That(img, Is.EqualTo(new float[] { 6, 5, 4, 3, 2, 1 }));

        // p = 1: always both; the (2, 3) mask follows the (1, 2, 3) image.
        float[] a = [1, 2, 3, 4, 5, 6];
        float[] mask = [10, 20, 30, 40, 50, 60];
        var rng = Rng();
        new RandomFlip(horizontal: true, vertical: true, p: 1).Apply(a, shape, mask, new Shape(2, 3), ref rng);
        Assert.That(a, Is.EqualTo(new float[] { 6, 5, 4, 3, 2, 1 }));
        Assert.That(mask, Is.EqualTo(new float[] { 60, 50, 40, 30, 20, 10 }));
        float[] label = [7];
        float[] b = [1, 2, 3, 4, 5, 6];
        new RandomFlip(p: 1).Apply(b, shape, label, Shape.Scalar, ref rng);
        Assert.That(label, Is.EqualTo(new float[] { 7 }), "a class label is not spatial");
        Assert.That(() => new RandomFlip(false, false), Throws.ArgumentException);
        Assert.That(() => new RandomFlip(p: 1.5f), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void A_flip_happens_with_probability_p()
    {
        int flipped = 0;
        for (int i = 0; i < 4000; i++)
        {
            float[] img = [1, 2];
            var rng = Rng(i);
            new RandomFlip(p: 0.3f).Apply(img, new Shape(1, 2), ref rng);
            flipped += img[0] == 2 ? 1 : 0;
        }

        Assert.That(flipped / 4000.0, Is.EqualTo(0.3).Within(0.03));
    }

    [Test]
    public void Rotations_turn_counter_clockwise_about_the_centre()
    {
        // 3x3 with a single pixel right of the centre: +90 degrees (counter-clockwise on screen) moves it above the centre.
        var shape = new Shape(3, 3);
        float[] img = [0, 0, 0, 0, 0, 1, 0, 0, 0];
        RandomRotation.Rotate(img, shape, 90, bilinear: true);
        Assert.That(img, Is.EqualTo(new float[] { 0, 1, 0, 0, 0, 0, 0, 0, 0 }).Within(1e-6));
        RandomRotation.Rotate(img, shape, -90, bilinear: false);
        Assert.That(img, Is.EqualTo(new float[] { 0, 0, 0, 0, 0, 1, 0, 0, 0 }));

        // 45 degrees bilinear of a constant 4x4 image: the centre stays, the corners fall outside and become partly zero.
        float[] flat = Enumerable.Repeat(1f, 16).ToArray();
        RandomRotation.Rotate(flat, new Shape(4, 4), 45, bilinear: true);
        Assert.That(flat[5], Is.EqualTo(1f).Within(1e-6), "inner pixels sample inside the image");
        Assert.That(flat[0], Is.LessThan(0.5f), "a corner samples mostly outside");
        Assert.That(() => new RandomRotation(181), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void A_random_rotation_turns_a_mask_by_the_same_angle_with_nearest_labels()
    {
        var shape = new Shape(1, 5, 5);
        var img = Enumerable.Range(0, 25).Select(i => (float)i).ToArray();
        var mask = img.Select(v => v).ToArray();
        var rng = Rng(3);
        new RandomRotation(30, bilinear: false).Apply(img, shape, mask, new Shape(5, 5), ref rng);
        Assert.That(mask, Is.EqualTo(img), "nearest sampling of the same values by the same angle");
        Assert.That(mask.All(v => v == MathF.Round(v)), Is.True, "labels stay whole");
        Assert.That(img, Is.Not.EqualTo(Enumerable.Range(0, 25).Select(i => (float)i).ToArray()), "something turned");
    }

    [Test]
    public void Gaussian_noise_has_the_asked_mean_and_std_and_repeats_for_a_seed()
    {
        var x = new float[20000];
        var rng = Rng(5);
        new GaussianNoise(0.5f, 2f).Apply(x, new Shape(20000), ref rng);
        double mean = x.Average(v => (double)v);
        double std = Math.Sqrt(x.Sum(v => (v - mean) * (v - mean)) / x.Length);
        Assert.That(mean, Is.EqualTo(2).Within(0.02));
        Assert.That(std, Is.EqualTo(0.5).Within(0.01));
        var again = new float[20000];
        var rng2 = Rng(5);
        new GaussianNoise(0.5f, 2f).Apply(again, new Shape(20000), ref rng2);
        Assert.That(again, Is.EqualTo(x));
        Assert.That(() => new GaussianNoise(-1), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void Augmented_batches_are_the_same_for_a_seed_whatever_the_batch_size_and_differ_for_another_seed()
    {
        var data = SyntheticData.Indexed(12, new Shape(1, 4, 5));
        float[] All(int batch, int seed)
        {
            var transforms = new ISampleTransform[] { new RandomFlip(true, true), new RandomRotation(20), new GaussianNoise(0.1f), new ArctanScale(1000) };
            using var loader = new DataLoader(data, new DataLoaderOptions { BatchSize = batch, Seed = seed, Shuffle = false, Transforms = transforms });
            var all = new System.Collections.Generic.List<float>();
            foreach (var b in loader.Epoch(0))
            {
                all.AddRange(b.FeatureSpan.ToArray());
            }

            return all.ToArray();
        }

        var a = All(4, 1);
        Assert.That(All(5, 1), Is.EqualTo(a));
        Assert.That(All(4, 2), Is.Not.EqualTo(a));
    }

    [Test]
    public void Balanced_class_weights_are_n_samples_over_classes_times_count()
    {
        Assert.That(ClassWeights.Balanced([10L, 30, 60]), Is.EqualTo(new[] { 100f / 30, 100f / 90, 100f / 180 }).Within(1e-6));
        var labels = new[] { 0, 0, 0, 1, 2, 2 };
        var data = new InMemoryDataset(new float[6], labels, new Shape(1), 3);
        Assert.That(ClassWeights.Count(data), Is.EqualTo(new long[] { 3, 1, 2 }));
        var w = ClassWeights.Balanced(data);
        Assert.That(w, Is.EqualTo(new[] { 6f / 9, 6f / 3, 6f / 6 }).Within(1e-6));
        Assert.That(labels.Sum(l => w[l]), Is.EqualTo(6).Within(1e-5), "the weights sum to n_samples over the data");
        Assert.That(() => ClassWeights.Balanced([4L, 0]), Throws.ArgumentException.With.Message.Contain("class 1 has 0 samples"));
    }
}
