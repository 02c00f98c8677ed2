/// A value built by `TorchUnpickler`. Containers live in the `Pickle`'s arenas and are referred to by index, so
/// values stay flat (no recursion when they are freed or compared) and the memo shares containers the way Python's
/// does: a dict filled after it was memoized is the same dict when it is fetched again.
public enum PickleValue: Hashable, Sendable {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case tuple(Int)
    case list(Int)
    case dict(Int)
    /// An allow-listed global, as a reference; it is never called.
    case global(TorchGlobal)
    /// A storage named by a persistent id: an index into `Pickle.storages`.
    case storage(Int)
    /// A tensor descriptor built from `_rebuild_tensor*`: an index into `Pickle.tensors`.
    case tensor(Int)
}

/// The only globals a weights pickle may name (the set `torch.load(weights_only=True)` needs for a state dict).
public enum TorchGlobal: Hashable, Sendable {
    case orderedDict                // collections.OrderedDict
    case rebuildTensor              // torch._utils._rebuild_tensor(storage, offset, size, stride)
    case rebuildTensorV2            // torch._utils._rebuild_tensor_v2(storage, offset, size, stride, grad, hooks[, metadata])
    case rebuildTensorV3            // torch._utils._rebuild_tensor_v3(…, hooks, dtype[, metadata])
    case rebuildParameter           // torch._utils._rebuild_parameter(tensor, grad, hooks)
    case storageType(TorchDType?)   // torch.FloatStorage … (typed), torch.UntypedStorage (nil: bytes)
    case dtype(TorchDType)          // torch.float32 …

    /// The allow-list. Everything else — os.system, builtins.eval, subprocess.Popen, … — resolves to nil.
    public static func resolve(module: String, name: String) -> TorchGlobal? {
        switch (module, name) {
        case ("collections", "OrderedDict"): return .orderedDict
        case ("torch._utils", "_rebuild_tensor"): return .rebuildTensor
        case ("torch._utils", "_rebuild_tensor_v2"): return .rebuildTensorV2
        case ("torch._utils", "_rebuild_tensor_v3"): return .rebuildTensorV3
        case ("torch._utils", "_rebuild_parameter"): return .rebuildParameter
        case ("torch", "UntypedStorage"), ("torch.storage", "UntypedStorage"): return .storageType(nil)
        case ("torch", _):
            if name.hasSuffix("Storage"), let t = TorchDType(storageName: String(name.dropLast(7))) { return .storageType(t) }
            return TorchDType(pythonName: name).map { .dtype($0) }
        default: return nil
        }
    }

    public var qualifiedName: String {
        switch self {
        case .orderedDict: return "collections.OrderedDict"
        case .rebuildTensor: return "torch._utils._rebuild_tensor"
        case .rebuildTensorV2: return "torch._utils._rebuild_tensor_v2"
        case .rebuildTensorV3: return "torch._utils._rebuild_tensor_v3"
        case .rebuildParameter: return "torch._utils._rebuild_parameter"
        case .storageType(nil): return "torch.UntypedStorage"
        case .storageType(let t?): return "torch.\(t.storageName)Storage"
        case .dtype(let t): return "torch.\(t.rawValue)"
        }
    }
}

/// A storage a persistent id names: `('storage', torch.<T>Storage, key, location, numel)`.
public struct TorchStorageRef: Sendable, Equatable {
    /// The zip member `<prefix>/data/<key>` holds its bytes.
    public var key: String
    /// Element type; nil for `torch.UntypedStorage` (bytes; the tensor's dtype comes from `_rebuild_tensor_v3`).
    public var dtype: TorchDType?
    /// Elements of `dtype` (bytes when untyped).
    public var count: Int
    /// Where it was saved from ('cpu', 'cuda:0'); ignored: tensors are read into host memory.
    public var location: String
    public var byteCount: Int? {
        let (b, o) = count.multipliedReportingOverflow(by: dtype?.byteSize ?? 1)
        return o ? nil : b
    }
}

/// A tensor as the pickle describes it; offsets and strides are in elements of `dtype`. Not yet checked against
/// the storage's bytes (`TorchCheckpointFile` does that, naming the tensor).
public struct PickledTensor: Sendable, Equatable {
    public var storage: Int
    public var dtype: TorchDType
    public var storageOffset: Int
    public var shape: [Int]
    public var stride: [Int]
}

/// The value tree of one pickle.
public struct Pickle: Sendable {
    public var root: PickleValue = .none
    public var tuples: [[PickleValue]] = []
    public var lists: [[PickleValue]] = []
    public var dicts: [[(key: PickleValue, value: PickleValue)]] = []
    public var storages: [TorchStorageRef] = []
    public var tensors: [PickledTensor] = []
}

/// A pickle reader for `torch.save` state dicts that never executes anything.
///
/// A pickle is a program for a stack machine whose `GLOBAL` + `REDUCE` call any importable function, which is
/// how a malicious checkpoint runs `os.system`. This reader implements only the opcodes `torch.save` emits for
/// tensors and containers (protocols 2–5: PROTO FRAME STOP MARK EMPTY_DICT/LIST/TUPLE TUPLE TUPLE1-3 BINUNICODE
/// SHORT_BINUNICODE BINUNICODE8 BININT BININT1 BININT2 LONG1 BINFLOAT NEWTRUE NEWFALSE NONE SETITEM(S) APPEND(S)
/// BINPUT LONG_BINPUT BINGET LONG_BINGET MEMOIZE GLOBAL STACK_GLOBAL REDUCE NEWOBJ BUILD BINPERSID). A global
/// outside `TorchGlobal`'s allow-list is refused when it is named, with an error naming it; an allow-listed one is
/// "called" only by building this reader's own value (an empty dict, a tensor descriptor). Every length is checked
/// against the bytes left, integers are limited to 64 bits, and memory grows at most linearly with the input.
public enum TorchUnpickler {
    /// Parses `data` (the bytes of `member` in `file`, which start at byte `baseOffset` of the file, for errors).
    public static func parse(_ data: UnsafeRawBufferPointer, file: String, member: String, baseOffset: Int = 0) throws(FormatError) -> Pickle {
        var vm = VM(b: data, file: file, member: member, base: baseOffset)
        return try vm.run()
    }
}

private struct VM {
    let b: UnsafeRawBufferPointer
    let file: String, member: String, base: Int
    var pos = 0
    var opStart = 0
    var stack: [PickleValue] = []
    var marks: [Int] = []
    var memo: [Int: PickleValue] = [:]
    var out = Pickle()
    var storageIndex: [String: Int] = [:]
    var dictIndex: [[PickleValue: Int]] = []

    init(b: UnsafeRawBufferPointer, file: String, member: String, base: Int) {
        self.b = b; self.file = file; self.member = member; self.base = base
    }

    func fail(_ message: String) -> FormatError {
        FormatError(file: file, offset: base + opStart, field: member, message: message)
    }

    mutating func take(_ count: Int) throws(FormatError) -> Int {
        guard count >= 0, count <= b.count - pos else { throw fail("pickle is truncated: an opcode needs \(count) bytes, \(b.count - pos) are left") }
        defer { pos += count }
        return pos
    }

    mutating func uint(_ width: Int) throws(FormatError) -> UInt64 {
        let p = try take(width)
        var v: UInt64 = 0
        for i in (0..<width).reversed() { v = v << 8 | UInt64(b[p + i]) }
        return v
    }

    mutating func length(_ width: Int) throws(FormatError) -> Int {
        let v = try uint(width)
        guard v <= UInt64(b.count - pos) else { throw fail("declared length \(v) runs past the end of the pickle (\(b.count - pos) bytes left)") }
        return Int(v)
    }

    mutating func pop() throws(FormatError) -> PickleValue {
        guard stack.count > (marks.last ?? 0) else { throw fail("pickle stack underflow") }
        return stack.removeLast()
    }

    mutating func popMark() throws(FormatError) -> [PickleValue] {
        guard let m = marks.popLast() else { throw fail("no MARK for this opcode") }
        defer { stack.removeSubrange(m...) }
        return Array(stack[m...])
    }

    mutating func tuple(_ items: [PickleValue]) -> PickleValue {
        out.tuples.append(items)
        return .tuple(out.tuples.count - 1)
    }

    mutating func text(_ count: Int) throws(FormatError) -> String {
        let p = try take(count)
        guard let s = String(validating: UnsafeRawBufferPointer(rebasing: b[p..<p + count]), as: UTF8.self) else {
            throw fail("string is not valid UTF-8")
        }
        return s
    }

    /// A GLOBAL operand: a newline-terminated line of at most 256 bytes.
    mutating func line() throws(FormatError) -> String {
        let start = pos
        while pos < b.count, pos - start <= 256, b[pos] != 0x0A { pos += 1 }
        guard pos < b.count, b[pos] == 0x0A else { throw fail("GLOBAL operand is not a line of at most 256 bytes") }
        guard let s = String(validating: UnsafeRawBufferPointer(rebasing: b[start..<pos]), as: UTF8.self) else {
            throw fail("GLOBAL operand is not UTF-8")
        }
        pos += 1
        return s
    }

    func resolve(_ module: String, _ name: String) throws(FormatError) -> PickleValue {
        guard let g = TorchGlobal.resolve(module: module, name: name) else {
            let shown = String(String.UnicodeScalarView((module + "." + name).unicodeScalars.prefix(200).map {
                $0.value < 0x20 || $0.value == 0x7F ? "?" : $0
            }))
            throw fail("global \(shown) is not allowed: a weights file may name only collections.OrderedDict, "
                       + "torch._utils._rebuild_tensor*/_rebuild_parameter, torch.*Storage and torch dtypes "
                       + "(nothing in the pickle is executed)")
        }
        return .global(g)
    }

    mutating func run() throws(FormatError) -> Pickle {
        while true {
            opStart = pos
            guard pos < b.count else { throw fail("pickle ends without STOP") }
            let op = b[pos]
            pos += 1
            switch op {
            case 0x80:  // PROTO
                let v = try uint(1)
                guard (2...5).contains(v) else { throw fail("pickle protocol \(v) is not supported (torch.save writes 2)") }
            case 0x95: _ = try length(8)  // FRAME: a length hint only
            case 0x2E:  // STOP
                out.root = try pop()
                return out
            case 0x28: marks.append(stack.count)  // MARK
            case 0x7D:  // EMPTY_DICT
                out.dicts.append([]); dictIndex.append([:])
                stack.append(.dict(out.dicts.count - 1))
            case 0x5D:  // EMPTY_LIST
                out.lists.append([])
                stack.append(.list(out.lists.count - 1))
            case 0x29: stack.append(tuple([]))  // EMPTY_TUPLE
            case 0x74: let items = try popMark(); stack.append(tuple(items))  // TUPLE
            case 0x85, 0x86, 0x87:  // TUPLE1, TUPLE2, TUPLE3
                var items: [PickleValue] = []
                for _ in 0..<Int(op - 0x84) { items.append(try pop()) }
                stack.append(tuple(items.reversed()))
            case 0x58: stack.append(.string(try text(try length(4))))  // BINUNICODE
            case 0x8C: stack.append(.string(try text(try length(1))))  // SHORT_BINUNICODE
            case 0x8D: stack.append(.string(try text(try length(8))))  // BINUNICODE8
            case 0x4A: stack.append(.int(Int(Int32(truncatingIfNeeded: try uint(4)))))  // BININT
            case 0x4B: stack.append(.int(Int(try uint(1))))  // BININT1
            case 0x4D: stack.append(.int(Int(try uint(2))))  // BININT2
            case 0x8A:  // LONG1: n bytes of little-endian two's complement
                let n = Int(try uint(1))
                guard n <= 8 else { throw fail("LONG1 integer of \(n) bytes does not fit in 64 bits") }
                let raw = try uint(n)
                let shift = UInt64(64 - 8 * n)
                stack.append(.int(n == 0 ? 0 : Int(Int64(bitPattern: raw << shift) >> Int64(shift))))
            case 0x47:  // BINFLOAT: big-endian IEEE double
                let p = try take(8)
                var bits: UInt64 = 0
                for i in 0..<8 { bits = bits << 8 | UInt64(b[p + i]) }
                stack.append(.float(Double(bitPattern: bits)))
            case 0x88: stack.append(.bool(true))   // NEWTRUE
            case 0x89: stack.append(.bool(false))  // NEWFALSE
            case 0x4E: stack.append(.none)         // NONE
            case 0x73:  // SETITEM
                let value = try pop(), key = try pop()
                try setItems(into: try top(), [key, value])
            case 0x75:  // SETITEMS
                let items = try popMark()
                try setItems(into: try top(), items)
            case 0x61:  // APPEND
                let value = try pop()
                try append(to: try top(), [value])
            case 0x65:  // APPENDS
                let items = try popMark()
                try append(to: try top(), items)
            case 0x71: memo[Int(try uint(1))] = try top()   // BINPUT
            case 0x72: memo[Int(try uint(4))] = try top()   // LONG_BINPUT
            case 0x94: memo[memo.count] = try top()         // MEMOIZE
            case 0x68, 0x6A:  // BINGET, LONG_BINGET
                let i = Int(try uint(op == 0x68 ? 1 : 4))
                guard let v = memo[i] else { throw fail("memo entry \(i) was never stored") }
                stack.append(v)
            case 0x63:  // GLOBAL
                let module = try line(), name = try line()
                stack.append(try resolve(module, name))
            case 0x93:  // STACK_GLOBAL
                let name = try pop(), module = try pop()
                guard case .string(let m) = module, case .string(let n) = name else { throw fail("STACK_GLOBAL operands are not strings") }
                stack.append(try resolve(m, n))
            case 0x52:  // REDUCE
                let args = try pop(), callable = try pop()
                stack.append(try call(callable, args))
            case 0x81:  // NEWOBJ
                let args = try pop(), cls = try pop()
                guard cls == .global(.orderedDict), case .tuple(let t) = args, out.tuples[t].isEmpty else {
                    throw fail("NEWOBJ is allowed only as collections.OrderedDict()")
                }
                out.dicts.append([]); dictIndex.append([:])
                stack.append(.dict(out.dicts.count - 1))
            case 0x62:  // BUILD: only an OrderedDict's attribute state (a state dict's `_metadata`), ignored
                let state = try pop()
                guard case .dict = try top() else { throw fail("BUILD is allowed only on a dict (its attributes are ignored)") }
                switch state {
                case .dict, .none, .tuple: break
                default: throw fail("BUILD state must be a dict")
                }
            case 0x51:  // BINPERSID
                stack.append(try persistent(try pop()))
            default:
                throw fail("pickle opcode 0x\(String(op, radix: 16)) is not allowed in a weights file")
            }
        }
    }

    func top() throws(FormatError) -> PickleValue {
        guard stack.count > (marks.last ?? 0), let v = stack.last else { throw fail("pickle stack underflow") }
        return v
    }

    mutating func setItems(into target: PickleValue, _ items: [PickleValue]) throws(FormatError) {
        guard case .dict(let d) = target else { throw fail("SETITEM(S) target is not a dict") }
        guard items.count % 2 == 0 else { throw fail("SETITEMS has an odd number of items") }
        for i in stride(from: 0, to: items.count, by: 2) {
            if let at = dictIndex[d][items[i]] {
                out.dicts[d][at].value = items[i + 1]
            } else {
                dictIndex[d][items[i]] = out.dicts[d].count
                out.dicts[d].append((items[i], items[i + 1]))
            }
        }
    }

    mutating func append(to target: PickleValue, _ items: [PickleValue]) throws(FormatError) {
        guard case .list(let l) = target else { throw fail("APPEND(S) target is not a list") }
        out.lists[l].append(contentsOf: items)
    }

    /// `('storage', torch.<T>Storage, key, location, numel)`; one storage per key (tied weights name it twice).
    mutating func persistent(_ pid: PickleValue) throws(FormatError) -> PickleValue {
        guard case .tuple(let t) = pid, out.tuples[t].count == 5,
              case .string("storage") = out.tuples[t][0],
              case .global(.storageType(let dtype)) = out.tuples[t][1],
              case .string(let key) = out.tuples[t][2],
              case .string(let location) = out.tuples[t][3],
              case .int(let count) = out.tuples[t][4], count >= 0 else {
            throw fail("persistent id is not ('storage', torch.<T>Storage, key, location, numel)")
        }
        let ref = TorchStorageRef(key: key, dtype: dtype, count: count, location: location)
        guard ref.byteCount != nil else { throw fail("storage \(key) declares \(count) elements, more than memory can address") }
        if let i = storageIndex[key] {
            guard out.storages[i].dtype == dtype, out.storages[i].count == count else {
                throw fail("storage \(key) is declared twice with different types or sizes")
            }
            return .storage(i)
        }
        storageIndex[key] = out.storages.count
        out.storages.append(ref)
        return .storage(out.storages.count - 1)
    }

    /// REDUCE: builds this reader's own value for an allow-listed global; calls nothing.
    mutating func call(_ callable: PickleValue, _ args: PickleValue) throws(FormatError) -> PickleValue {
        guard case .global(let g) = callable else { throw fail("REDUCE of a value that is not an allowed global") }
        guard case .tuple(let t) = args else { throw fail("REDUCE arguments of \(g.qualifiedName) are not a tuple") }
        let a = out.tuples[t]
        switch g {
        case .orderedDict:
            guard a.isEmpty else { throw fail("collections.OrderedDict is allowed only with no arguments") }
            out.dicts.append([]); dictIndex.append([:])
            return .dict(out.dicts.count - 1)
        case .rebuildParameter:
            guard a.count == 3, case .tensor = a[0] else { throw fail("torch._utils._rebuild_parameter expects (tensor, requires_grad, hooks)") }
            return a[0]
        case .rebuildTensor, .rebuildTensorV2, .rebuildTensorV3:
            let counts: ClosedRange<Int> = g == .rebuildTensor ? 4...4 : g == .rebuildTensorV2 ? 6...7 : 7...8
            guard counts.contains(a.count) else { throw fail("\(g.qualifiedName) expects \(counts) arguments, got \(a.count)") }
            guard case .storage(let s) = a[0] else { throw fail("\(g.qualifiedName): first argument is not a storage") }
            guard case .int(let offset) = a[1], offset >= 0 else { throw fail("\(g.qualifiedName): storage offset is not an integer ≥ 0") }
            let shape = try ints(a[2], "size"), stride = try ints(a[3], "stride")
            guard shape.count == stride.count else { throw fail("\(g.qualifiedName): size has \(shape.count) dimensions, stride \(stride.count)") }
            var dtype = out.storages[s].dtype
            if g == .rebuildTensorV3 {
                guard case .global(.dtype(let d)) = a[6] else { throw fail("torch._utils._rebuild_tensor_v3: argument 7 is not a torch dtype") }
                dtype = d
            }
            guard let dtype else { throw fail("tensor on untyped storage \(out.storages[s].key) without a dtype") }
            out.tensors.append(PickledTensor(storage: s, dtype: dtype, storageOffset: offset, shape: shape, stride: stride))
            return .tensor(out.tensors.count - 1)
        case .storageType, .dtype:
            throw fail("\(g.qualifiedName) may appear only in a storage's persistent id or as a dtype, not be called")
        }
    }

    /// A tuple (or list) of at most 64 non-negative integers: a size or a stride.
    func ints(_ v: PickleValue, _ what: String) throws(FormatError) -> [Int] {
        let items: [PickleValue]
        switch v {
        case .tuple(let t): items = out.tuples[t]
        case .list(let l): items = out.lists[l]
        default: throw fail("tensor \(what) is not a tuple")
        }
        guard items.count <= 64 else { throw fail("tensor \(what) has \(items.count) dimensions (at most 64)") }
        var r: [Int] = []
        for item in items {
            guard case .int(let x) = item, x >= 0 else { throw fail("tensor \(what) holds something other than an integer ≥ 0") }
            r.append(x)
        }
        return r
    }
}
