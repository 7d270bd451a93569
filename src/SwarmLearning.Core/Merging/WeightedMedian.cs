namespace SwarmLearning.Core.Merging;

/// <summary>Small sorting kernels shared by the coordinate-wise robust methods.</summary>
internal static class WeightedMedian
{
    /// <summary>Gathers coordinate <paramref name="e"/> of every input with its weight, sorted by value.</summary>
    public static void SortedColumn(ChunkInputs inputs, int e, double[] weights, Span<float> values, Span<double> sortedWeights)
    {
        for (int i = 0; i < inputs.Count; i++)
        {
            values[i] = inputs[i][e];
        }
        weights.CopyTo(sortedWeights);
        Sort(values, sortedWeights);
    }

    /// <summary>Sorts values ascending, carrying weights along (insertion sort: inputs are a handful of nodes).</summary>
    public static void Sort(Span<float> values, Span<double> weights)
    {
        for (int i = 1; i < values.Length; i++)
        {
            float v = values[i];
            double w = weights[i];
            int j = i - 1;
            while (j >= 0 && values[j] > v)
            {
                values[j + 1] = values[j];
                weights[j + 1] = weights[j];
                j--;
            }
            values[j + 1] = v;
            weights[j + 1] = w;
        }
    }

    /// <summary>
    /// The weighted median of sorted values: the first value whose cumulative weight reaches half the total;
    /// when it reaches exactly half, the midpoint with the next value (so equal weights give the usual median).
    /// </summary>
    public static float OfSorted(ReadOnlySpan<float> values, ReadOnlySpan<double> weights)
    {
        double total = 0;
        foreach (double w in weights)
        {
            total += w;
        }
        double half = total / 2, cumulative = 0;
        const double tolerance = 1e-12;
        for (int i = 0; i < values.Length; i++)
        {
            cumulative += weights[i];
            if (cumulative >= half - tolerance * total)
            {
                bool exactlyHalf = Math.Abs(cumulative - half) <= tolerance * total;
                return exactlyHalf && i + 1 < values.Length ? (float)(((double)values[i] + values[i + 1]) / 2) : values[i]; // in double: two huge values cannot overflow
            }
        }
        return values[^1];
    }
}
