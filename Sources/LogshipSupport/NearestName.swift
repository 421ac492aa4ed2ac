/// The one "did you mean" rule, for pipeline keys and values and for command-line words alike.
public enum NearestName {
    /// The candidate `word` most likely stands for, or nil: the same letters in another case, a
    /// known alias (`aliases[word.lowercased()]`, the first one among the candidates), two
    /// neighbouring letters swapped (`tpye`, `rnu`), one being a prefix of the other with at
    /// least three letters (`integer` / `int`), or a small edit distance (case ignored).
    /// The last three apply only when they single out one candidate.
    public static func nearest(_ word: String, in candidates: [String], aliases: [String: [String]] = [:]) -> String? {
        let w = word.lowercased()
        if let same = candidates.first(where: { $0.lowercased() == w }) { return same }
        if let a = aliases[w]?.first(where: { candidates.contains($0) }) { return a }
        // Two neighbouring letters swapped is one slip, though edit distance counts two.
        let swapped = candidates.filter { c in
            let a = Array(w), b = Array(c.lowercased())
            guard a.count == b.count else { return false }
            let diff = a.indices.filter { a[$0] != b[$0] }
            return diff.count == 2 && diff[1] == diff[0] + 1 && a[diff[0]] == b[diff[1]] && a[diff[1]] == b[diff[0]]
        }
        if swapped.count == 1 { return swapped[0] }
        let prefixed = candidates.filter { c in
            let l = c.lowercased()
            return min(l.count, w.count) >= 3 && (l.hasPrefix(w) || w.hasPrefix(l))
        }
        if prefixed.count == 1 { return prefixed[0] }
        var best: (String, Int)? = nil
        for c in candidates {
            let d = distance(w, c.lowercased())
            if best == nil || d < best!.1 { best = (c, d) }
        }
        guard let (c, d) = best else { return nil }
        return d <= max(1, min(3, word.count / 3)) ? c : nil
    }

    /// Levenshtein distance over characters.
    public static func distance(_ a: String, _ b: String) -> Int {
        let x = Array(a), y = Array(b)
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var prev = Array(0...y.count)
        var cur = [Int](repeating: 0, count: y.count + 1)
        for i in 1...x.count {
            cur[0] = i
            for j in 1...y.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
            }
            swap(&prev, &cur)
        }
        return prev[y.count]
    }
}
