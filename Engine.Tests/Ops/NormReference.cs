// Double-precision host references of batch norm and layer norm (forward and analytic backward) for the op tests.
using System;

namespace Engine.Tests.Ops;

public sealed record NormResult(double[] Y, double[] Mean, double[] InvStd, double[] RunningMean, double[] RunningVar);

public sealed record NormGrads(double[] Dx, double[] DGamma, double[] DBeta);

public static class NormReference
{
    /// <summary>Batch norm of x (n, c, s) as torch (biased variance to normalize, unbiased for the running variance).</summary>
    public static NormResult BatchNorm(double[] x, int n, int c, int s, double[]? gamma, double[]? beta, double[] runningMean, double[] runningVar,
        bool training, double momentum, double eps)
    {
        var y = new double[x.Length];
        var mean = new double[c];
        var invStd = new double[c];
        var rm = (double[])runningMean.Clone();
        var rv = (double[])runningVar.Clone();
        int m = n * s;
        for (int ch = 0; ch < c; ch++)
        {
            double mu, var;
            if (training)
            {
                double sum = 0;
                for (int i = 0; i < n; i++)
                {
                    for (int j = 0; j < s; j++)
                    {
                        sum += x[(((i * c) + ch) * s) + j];
                    }
                }

                mu = sum / m;
                double sq = 0;
                for (int i = 0; i < n; i++)
                {
                    for (int j = 0; j < s; j++)
                    {
                        double d = x[(((i * c) + ch) * s) + j] - mu;
                        sq += d * d;
                    }
                }

                var = sq / m;
                rm[ch] = ((1 - momentum) * rm[ch]) + (momentum * mu);
                rv[ch] = ((1 - momentum) * rv[ch]) + (momentum * sq / (m - 1));
            }
            else
            {
                mu = runningMean[ch];
                var = runningVar[ch];
            }

            mean[ch] = mu;
            invStd[ch] = 1 / Math.Sqrt(var + eps);
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < s; j++)
                {
                    int k = (((i * c) + ch) * s) + j;
                    y[k] = ((x[k] - mu) * invStd[ch] * (gamma?[ch] ?? 1)) + (beta?[ch] ?? 0);
                }
            }
        }

        return new NormResult(y, mean, invStd, rm, rv);
    }

    /// <summary>Analytic batch-norm gradients in double, given the forward's mean and inverse std.</summary>
    public static NormGrads BatchNormBackward(double[] x, double[] dy, int n, int c, int s, double[]? gamma, double[] mean, double[] invStd, bool training)
    {
        var dx = new double[x.Length];
        var dg = new double[c];
        var db = new double[c];
        int m = n * s;
        for (int ch = 0; ch < c; ch++)
        {
            double sdy = 0, sdyx = 0;
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < s; j++)
                {
                    int k = (((i * c) + ch) * s) + j;
                    sdy += dy[k];
                    sdyx += dy[k] * (x[k] - mean[ch]) * invStd[ch];
                }
            }

            dg[ch] = sdyx;
            db[ch] = sdy;
            double g = gamma?[ch] ?? 1;
            for (int i = 0; i < n; i++)
            {
                for (int j = 0; j < s; j++)
                {
                    int k = (((i * c) + ch) * s) + j;
                    double xhat = (x[k] - mean[ch]) * invStd[ch];
                    dx[k] = training ? g * invStd[ch] * (dy[k] - (sdy / m) - (xhat * sdyx / m)) : g * invStd[ch] * dy[k];
                }
            }
        }

        return new NormGrads(dx, dg, db);
    }

    /// <summary>Layer norm of x (rows, d) over d.</summary>
    public static NormResult LayerNorm(double[] x, int rows, int d, double[]? gamma, double[]? beta, double eps)
    {
        var y = new double[x.Length];
        var mean = new double[rows];
        var rstd = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            double sum = 0;
            for (int j = 0; j < d; j++)
            {
                sum += x[(r * d) + j];
            }

            double mu = sum / d;
            double sq = 0;
            for (int j = 0; j < d; j++)
            {
                double diff = x[(r * d) + j] - mu;
                sq += diff * diff;
            }

            mean[r] = mu;
            rstd[r] = 1 / Math.Sqrt((sq / d) + eps);
            for (int j = 0; j < d; j++)
            {
                y[(r * d) + j] = ((x[(r * d) + j] - mu) * rstd[r] * (gamma?[j] ?? 1)) + (beta?[j] ?? 0);
            }
        }

        return new NormResult(y, mean, rstd, [], []);
    }

    /// <summary>Analytic layer-norm gradients in double.</summary>
    public static NormGrads LayerNormBackward(double[] x, double[] dy, int rows, int d, double[]? gamma, double[] mean, double[] rstd)
    {
        var dx = new double[x.Length];
        var dg = new double[d];
        var db = new double[d];
        for (int r = 0; r < rows; r++)
        {
            double sg = 0, sgx = 0;
            for (int j = 0; j < d; j++)
            {
                int k = (r * d) + j;
                double xhat = (x[k] - mean[r]) * rstd[r];
                double g = dy[k] * (gamma?[j] ?? 1);
                sg += g;
                sgx += g * xhat;
                dg[j] += dy[k] * xhat;
                db[j] += dy[k];
            }

            for (int j = 0; j < d; j++)
            {
                int k = (r * d) + j;
                double xhat = (x[k] - mean[r]) * rstd[r];
                dx[k] = rstd[r] * ((dy[k] * (gamma?[j] ?? 1)) - (sg / d) - (xhat * sgx / d));
            }
        }

        return new NormGrads(dx, dg, db);
    }

    /// <summary>sum(g * y) for a forward output y.</summary>
    public static double Dot(double[] g, double[] y)
    {
        double s = 0;
        for (int i = 0; i < g.Length; i++)
        {
            s += g[i] * y[i];
        }

        return s;
    }
}
