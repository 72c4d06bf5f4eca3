package dev.lolcats4j.lolcats;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The sparse cache's definitions (docs/sparse-cache.md) written out in float64 loops over
 * explicit sets of positions, one sequence at a time, independent of the libtorch code: the
 * tests compare the library against this. Softmax_dim feature maps only.
 *
 * <p>Inputs are q[h][t][i], k[g][t][i], v[g][t][i] (H query heads, Hkv key/value heads), feature
 * map weights wq[h][i][f], wk[h][i][f], window factors gamma[h] and lambda[h].
 */
final class SparseCacheReference {

    final double[][][] q;
    final double[][][] k;
    final double[][][] v;
    final double[][][] wq;
    final double[][][] wk;
    final double[] gamma;
    final double[] lambda;
    final int window;
    final int cacheSize;
    final int heads;
    final int kvHeads;
    final int group;
    final int d;
    final int width;

    /** Per key/value head: cached positions; per query head: S [width][d] and z [width]. */
    final List<List<Integer>> cache = new ArrayList<>();
    final double[][][] s;
    final double[][] z;

    SparseCacheReference(double[][][] q, double[][][] k, double[][][] v, double[][][] wq, double[][][] wk, double[] gamma,
            double[] lambda, int window, int cacheSize) {
        this.q = q;
        this.k = k;
        this.v = v;
        this.wq = wq;
        this.wk = wk;
        this.gamma = gamma;
        this.lambda = lambda;
        this.window = window;
        this.cacheSize = cacheSize;
        this.heads = q.length;
        this.kvHeads = k.length;
        this.group = heads / kvHeads;
        this.d = q[0][0].length;
        this.width = 2 * wq[0][0].length;
        this.s = new double[heads][width][d];
        this.z = new double[heads][width];
        for (int g = 0; g < kvHeads; g++) {
            cache.add(new ArrayList<>());
        }
    }

    /** Hedgehog softmax_dim: [softmax(x W), softmax(-x W)], clamped at 1e-12. */
    static double[] phi(double[][] weight, double[] x) {
        int f = weight[0].length;
        double[] u = new double[f];
        for (int i = 0; i < x.length; i++) {
            for (int j = 0; j < f; j++) {
                u[j] += x[i] * weight[i][j];
            }
        }
        double[] out = new double[2 * f];
        double max = Double.NEGATIVE_INFINITY;
        double min = Double.POSITIVE_INFINITY;
        for (double value : u) {
            max = Math.max(max, value);
            min = Math.min(min, value);
        }
        double sumPos = 0;
        double sumNeg = 0;
        for (int j = 0; j < f; j++) {
            out[j] = Math.exp(u[j] - max);
            out[f + j] = Math.exp(-u[j] + min);
            sumPos += out[j];
            sumNeg += out[f + j];
        }
        for (int j = 0; j < f; j++) {
            out[j] = Math.max(out[j] / sumPos, 1e-12);
            out[f + j] = Math.max(out[f + j] / sumNeg, 1e-12);
        }
        return out;
    }

    private double[][][] frozenS;
    private double[][] frozenZ;

    /** The state errors are measured against becomes a copy of S and z. */
    private void freeze() {
        frozenS = new double[heads][width][];
        frozenZ = new double[heads][];
        for (int h = 0; h < heads; h++) {
            frozenZ[h] = z[h].clone();
            for (int f = 0; f < width; f++) {
                frozenS[h][f] = s[h][f].clone();
            }
        }
    }

    /** Self-recall error of position j for key/value head g, averaged over its query heads. */
    double error(int g, int j) {
        return error(g, j, s, z);
    }

    /** The same against a given state. */
    double error(int g, int j, double[][][] s, double[][] z) {
        double total = 0;
        for (int h = g * group; h < (g + 1) * group; h++) {
            double[] features = phi(wk[h], k[g][j]);
            double den = 0;
            for (int f = 0; f < width; f++) {
                den += features[f] * z[h][f];
            }
            for (int i = 0; i < d; i++) {
                double num = 0;
                for (int f = 0; f < width; f++) {
                    num += features[f] * s[h][f][i];
                }
                double prediction = den == 0 ? 0 : num / den;
                total += (v[g][j][i] - prediction) * (v[g][j][i] - prediction);
            }
        }
        return total / group;
    }

    void fold(int g, int j) {
        for (int h = g * group; h < (g + 1) * group; h++) {
            double[] features = phi(wk[h], k[g][j]);
            for (int f = 0; f < width; f++) {
                z[h][f] += features[f];
                for (int i = 0; i < d; i++) {
                    s[h][f][i] += features[f] * v[g][j][i];
                }
            }
        }
    }

    /** The cache of head g and the candidates compete: the C largest errors stay, the rest fold. */
    void compete(int g, List<Integer> candidates) {
        for (int j : decide(g, candidates)) {
            fold(g, j);
        }
    }

    /**
     * The ranking of {@link #compete} (errors against the current S and z); the cache becomes the
     * C largest, the losers are returned, not folded.
     */
    List<Integer> decide(int g, List<Integer> candidates) {
        List<Integer> all = new ArrayList<>(cache.get(g));
        all.addAll(candidates);
        List<double[]> scored = new ArrayList<>();
        for (int j : all) {
            scored.add(new double[] {j, error(g, j)});
        }
        scored.sort(Comparator.comparingDouble((double[] e) -> e[1]).reversed());
        List<Integer> kept = new ArrayList<>();
        List<Integer> losers = new ArrayList<>();
        for (int i = 0; i < scored.size(); i++) {
            (i < cacheSize ? kept : losers).add((int) scored.get(i)[0]);
        }
        cache.set(g, kept);
        return losers;
    }

    /**
     * y for query (h, t): softmax over {@code softmaxPositions}, linear over the state plus the
     * explicitly listed {@code extraLinear} positions.
     */
    double[] attend(int h, int t, List<Integer> softmaxPositions, List<Integer> extraLinear) {
        int g = h / group;
        double scale = 1 / Math.sqrt(d);
        double max = Double.NEGATIVE_INFINITY;
        for (int j : softmaxPositions) {
            max = Math.max(max, dot(q[h][t], k[g][j]) * scale);
        }
        double[] num = new double[d];
        double den = 0;
        for (int j : softmaxPositions) {
            double a = gamma[h] * Math.exp(dot(q[h][t], k[g][j]) * scale - max);
            den += a;
            for (int i = 0; i < d; i++) {
                num[i] += a * v[g][j][i];
            }
        }
        double[] features = phi(wq[h], q[h][t]);
        for (int f = 0; f < width; f++) {
            den += lambda[h] * features[f] * z[h][f];
            for (int i = 0; i < d; i++) {
                num[i] += lambda[h] * features[f] * s[h][f][i];
            }
        }
        for (int j : extraLinear) {
            double b = lambda[h] * dot(features, phi(wk[h], k[g][j]));
            den += b;
            for (int i = 0; i < d; i++) {
                num[i] += b * v[g][j][i];
            }
        }
        for (int i = 0; i < d; i++) {
            num[i] /= den;
        }
        return num;
    }

    /**
     * The block-wise prefill of positions 0..n-1: out[h][t][i]. In block c, the cache and block c-1
     * are scored once against the block's starting S; query offset r sees with softmax its window
     * and the C highest-error pairs among the cache and block c-1's first r+1 positions, and
     * linearly S plus the rest of those. After the block (for the last block: after the last real
     * position) the pairs seen linearly are folded and the others form the cache.
     */
    double[][][] prefill(int n) {
        double[][][] out = new double[heads][n][];
        int blocks = (n + window - 1) / window;
        for (int c = 0; c < blocks; c++) {
            freeze();
            List<List<Integer>> ranked = new ArrayList<>();   // per key/value head: candidates by error
            for (int g = 0; g < kvHeads; g++) {
                List<Integer> candidates = new ArrayList<>(cache.get(g));
                if (c > 0) {
                    candidates.addAll(range((c - 1) * window, c * window));
                }
                List<double[]> scored = new ArrayList<>();
                for (int j : candidates) {
                    scored.add(new double[] {j, error(g, j)});
                }
                scored.sort(Comparator.comparingDouble((double[] e) -> e[1]).reversed());
                ranked.add(scored.stream().map(e -> (int) e[0]).toList());
            }
            int lastT = Math.min(n, (c + 1) * window) - 1;
            List<List<Integer>> cachedAtLast = new ArrayList<>();
            List<List<Integer>> foldedAtLast = new ArrayList<>();
            for (int t = c * window; t <= lastT; t++) {
                int oldest = t - window + 1;
                for (int h = 0; h < heads; h++) {
                    int g = h / group;
                    List<Integer> cached = new ArrayList<>();
                    List<Integer> folded = new ArrayList<>();
                    for (int j : ranked.get(g)) {
                        if (j < oldest) {               // the old cache, or a key that left the window
                            (cached.size() < cacheSize ? cached : folded).add(j);
                        }
                    }
                    List<Integer> softmax = new ArrayList<>(range(Math.max(0, oldest), t + 1));
                    softmax.addAll(cached);
                    out[h][t] = attend(h, t, softmax, folded);
                    if (t == lastT && h % group == 0) {
                        cachedAtLast.add(cached);
                        foldedAtLast.add(folded);
                    }
                }
            }
            for (int g = 0; g < kvHeads; g++) {
                for (int j : foldedAtLast.get(g)) {
                    fold(g, j);
                }
                cache.set(g, cachedAtLast.get(g));
            }
        }
        return out;
    }

    /**
     * Per-token decode of position t, the window holding positions t-W+1..t after the step: the
     * position leaving the window takes a free cache slot or competes alone against the full cache,
     * every error taken against S and z as they were at the start of t's block of W positions.
     */
    double[][] step(int t) {
        if (t % window == 0) {
            freeze();
        }
        int leaving = t - window;
        if (leaving >= 0) {
            for (int g = 0; g < kvHeads; g++) {
                if (cache.get(g).size() < cacheSize) {
                    cache.get(g).add(leaving);
                } else {
                    List<Integer> all = new ArrayList<>(cache.get(g));
                    all.add(leaving);
                    int loser = all.get(0);
                    double lowest = Double.POSITIVE_INFINITY;
                    for (int j : all) {
                        double e = error(g, j, frozenS, frozenZ);
                        if (e < lowest) {
                            lowest = e;
                            loser = j;
                        }
                    }
                    all.remove(Integer.valueOf(loser));
                    cache.set(g, all);
                    fold(g, loser);
                }
            }
        }
        double[][] out = new double[heads][];
        for (int h = 0; h < heads; h++) {
            List<Integer> softmax = new ArrayList<>(cache.get(h / group));
            softmax.addAll(range(Math.max(0, t - window + 1), t + 1));
            out[h] = attend(h, t, softmax, List.of());
        }
        return out;
    }

    private static List<Integer> range(int from, int until) {
        List<Integer> out = new ArrayList<>();
        for (int j = from; j < until; j++) {
            out.add(j);
        }
        return out;
    }

    private static double dot(double[] a, double[] b) {
        double sum = 0;
        for (int i = 0; i < a.length; i++) {
            sum += a[i] * b[i];
        }
        return sum;
    }
}
