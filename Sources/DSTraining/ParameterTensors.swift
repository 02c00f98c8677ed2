import DSModel

/// One value per tensor of the model, named in code (llm.c's `ParameterTensors`): the slab's element ranges
/// (`ParameterSlab.layout`) or typed pointers into the parameters and gradients (`parameters`, `gradients`).
/// The slab builds them once, so a training step never looks a tensor up by its checkpoint name.
public struct ParameterTensors<Element> {
    /// One decoder layer's nine tensors.
    public struct Layer {
        public let attentionNorm, wq, wk, wv, wo, ffnNorm, wGate, wUp, wDown: Element

        init(_ value: (LayerTensor) -> Element) {
            (attentionNorm, wq, wk, wv, wo) = (value(.attentionNorm), value(.wq), value(.wk), value(.wv), value(.wo))
            (ffnNorm, wGate, wUp, wDown) = (value(.ffnNorm), value(.wGate), value(.wUp), value(.wDown))
        }

        public subscript(_ t: LayerTensor) -> Element {
            switch t {
            case .attentionNorm: attentionNorm
            case .wq: wq
            case .wk: wk
            case .wv: wv
            case .wo: wo
            case .ffnNorm: ffnNorm
            case .wGate: wGate
            case .wUp: wUp
            case .wDown: wDown
            }
        }
    }

    public let embedding: Element
    public let layers: [Layer]
    public let finalNorm: Element
    public let output: Element

    /// Every tensor of a model with `layerCount` layers (output head included), valued by `value`.
    init(layerCount: Int, _ value: (ModelTensor) -> Element) {
        embedding = value(.embedding)
        layers = (0..<layerCount).map { l in Layer { value(.layer(l, $0)) } }
        finalNorm = value(.finalNorm)
        output = value(.output)
    }

    public subscript(_ t: ModelTensor) -> Element {
        switch t {
        case .embedding: embedding
        case .finalNorm: finalNorm
        case .output: output
        case .layer(let l, let lt): layers[l][lt]
        }
    }

    func map<T>(_ transform: (Element) -> T) -> ParameterTensors<T> {
        ParameterTensors<T>(layerCount: layers.count) { transform(self[$0]) }
    }
}

extension ParameterTensors.Layer where Element == Range<Int> {
    /// The layer's part of the slab (its nine tensors are adjacent).
    public var span: Range<Int> { attentionNorm.lowerBound..<wDown.upperBound }
}
