// The networks of `./build.sh bench-peers`, one definition each, mirrored layer for layer by scripts/bench_peers.py
// (both sides print their parameter counts and the report refuses a run where they differ).
using System;
using Engine.Nn;

namespace Engine.Benchmarks.Peers;

/// <summary>The models the peer workloads train or run; PyTorch's default initialization on both sides.</summary>
internal static class PeerModels
{
    /// <summary>MLP 784-512-256-10.</summary>
    public static Module Mlp() =>
        new Sequential(new Linear(784, 512), new Relu(), new Linear(512, 256), new Relu(), new Linear(256, 10));

    /// <summary>Forward multiply-adds x 2 of <see cref="Mlp"/> at <paramref name="batch"/>.</summary>
    public static double MlpForwardFlops(int batch) => 2.0 * batch * ((784 * 512) + (512 * 256) + (256 * 10));

    /// <summary>
    /// The main job's CNN (samples/MnistTrainer): conv(1->32,3x3,p1)-ReLU-maxpool2-conv(32->64,3x3,p1)-ReLU-maxpool2-
    /// flatten-dense(3136->128)-ReLU-dense(128->10), on [N, 1, 28, 28].
    /// </summary>
    public static Module Cnn() => new Sequential(
        new Conv2d(1, 32, 3, padding: 1), new Relu(), new MaxPool2d(2),
        new Conv2d(32, 64, 3, padding: 1), new Relu(), new MaxPool2d(2),
        new Flatten(), new Linear(3136, 128), new Relu(), new Linear(128, 10));

    /// <summary>Forward multiply-adds x 2 of <see cref="Cnn"/> at <paramref name="batch"/> (convolutions and dense layers).</summary>
    public static double CnnForwardFlops(int batch) =>
        2.0 * batch * ((28 * 28 * 32 * 9) + (14 * 14 * 64 * 32 * 9) + (3136 * 128) + (128 * 10));

    /// <summary>Channels of the three ResNet stages; stages 2 and 3 start with stride 2.</summary>
    private static readonly int[] StageChannels = [16, 32, 64];

    /// <summary>
    /// A CIFAR-style ResNet for [N, 3, 32, 32]: stem conv3x3(3->16, p1, no bias)-BN-ReLU; three stages of two basic
    /// blocks (conv3x3-BN-ReLU-conv3x3-BN plus the identity, or conv1x1 stride 2 + BN where the shape changes, then
    /// ReLU) with 16, 32, 64 channels; global average pooling; Linear(64, 10). Convolutions have no bias (BN follows).
    /// </summary>
    public static Module ResNet()
    {
        var g = new GraphModule();
        var x = g.Input();
        var h = ConvBn(g, "stem", x, 3, 16, 3, 1);
        h = g.Functional(new Relu(), h);
        int cin = 16;
        for (int s = 0; s < StageChannels.Length; s++)
        {
            int c = StageChannels[s];
            for (int b = 0; b < 2; b++)
            {
                int stride = b == 0 && s > 0 ? 2 : 1;
                string p = $"layer{s + 1}_{b}";
                var y = g.Functional(new Relu(), ConvBn(g, p + "_a", h, cin, c, 3, stride));
                y = ConvBn(g, p + "_b", y, c, c, 3, 1);
                var shortcut = stride != 1 || cin != c ? ConvBn(g, p + "_down", h, cin, c, 1, stride) : h;
                h = g.Functional(new Relu(), g.Add(y, shortcut));
                cin = c;
            }
        }

        h = g.Functional(new GlobalAvgPool(), h);
        g.Output(g.Apply(g.Register("fc", new Linear(64, 10)), h));
        return g;
    }

    /// <summary>Forward multiply-adds x 2 of <see cref="ResNet"/>'s convolutions and dense layer at <paramref name="batch"/>.</summary>
    public static double ResNetForwardFlops(int batch)
    {
        double macs = 32 * 32 * 16 * 3 * 9;   // stem
        int cin = 16, side = 32;
        for (int s = 0; s < StageChannels.Length; s++)
        {
            int c = StageChannels[s];
            for (int b = 0; b < 2; b++)
            {
                bool down = b == 0 && s > 0;
                side = down ? side / 2 : side;
                macs += (double)side * side * c * ((cin * 9) + (c * 9) + (down || cin != c ? cin : 0));
                cin = c;
            }
        }

        return 2.0 * batch * (macs + (64 * 10));
    }

    private static Symbol ConvBn(GraphModule g, string name, Symbol x, int cin, int cout, int kernel, int stride)
    {
        ArgumentNullException.ThrowIfNull(g);
        var conv = g.Register(name + "_conv", new Conv2d(cin, cout, kernel, stride: stride, padding: kernel / 2, bias: false));
        var bn = g.Register(name + "_bn", new BatchNorm2d(cout));
        return g.Apply(bn, g.Apply(conv, x));
    }
}
