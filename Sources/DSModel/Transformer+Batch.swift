import DSTensor
import Foundation

extension Transformer {
    /// One decode step for several sequences at once — each a `Transformer` over the same weights, with its own KV
    /// cache and length (a server's slots): one forward pass over the weights for the whole batch. Returns each
    /// sequence's logits (its own buffer, valid until its next step). Sequences may be at different positions.
    public static func decodeBatch(_ sequences: [Transformer], tokens: [Int32]) -> [UnsafeBufferPointer<Float>] {
        precondition(sequences.count == tokens.count && !sequences.isEmpty)
        return forwardMixed(sequences, tokens: tokens.map { [$0] })
    }

    /// One forward pass over several sequences, each feeding any number of tokens (a prompt chunk, or the one
    /// token of a decode step): every weight matrix is read once for all rows of all sequences — a server step
    /// that mixes new prompts with running streams costs one pass over the weights, not one per request.
    /// Row j of sequence i sits at position `length_i + j`. Returns each sequence's logits for its last token.
    /// `buffersFrom` (default: the first sequence) owns the forward buffers, so a server can keep one set for all slots.
    public static func forwardMixed(_ sequences: [Transformer], tokens: [[Int32]],
                                    buffersFrom: Transformer? = nil) -> [UnsafeBufferPointer<Float>] {
        precondition(sequences.count == tokens.count && !sequences.isEmpty)
        var batch = ForwardBatch()
        for (i, s) in sequences.enumerated() {
            precondition(!tokens[i].isEmpty && s.length + tokens[i].count <= s.maxSequence, "sequence \(i) would pass its context")
            for (j, t) in tokens[i].enumerated() { batch.add(t, sequence: i, slot: s.length + j, logits: j == tokens[i].count - 1) }
        }
        run(batch, sequences: sequences, holder: buffersFrom)
        return sequences.map { UnsafeBufferPointer(start: $0.logits, count: $0.config.vocabularySize) }
    }
}
