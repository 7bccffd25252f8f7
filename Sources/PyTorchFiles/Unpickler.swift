/// A value of the restricted pickle machine: what a PyTorch state dict is made of, and nothing
/// that could run code.
indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list([PickleValue])
    /// A dict, keys in insertion order (an OrderedDict too).
    case dict([(key: PickleValue, value: PickleValue)])
    /// One of the allowed callables (``Unpickler/AllowedGlobal``).
    case global(Unpickler.AllowedGlobal)
    /// `torch.FloatStorage` and the other typed storages (named in persistent ids).
    case storageType(TorchElementType)
    /// A storage named by a persistent id: `('storage', torch.FloatStorage, key, location, numel)`.
    case storage(TorchStorage)
    /// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, …)`.
    case tensor(TorchTensorReference)

    var typeName: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list: return "list"
        case .dict: return "dict"
        case .global(let g): return g.rawValue
        case .storageType(let t): return "torch.\(t.rawValue)"
        case .storage: return "storage"
        case .tensor: return "tensor"
        }
    }
}

/// A storage a tensor lives in: which file of the archive (`key`), its element type and count.
struct TorchStorage: Hashable {
    let key: String
    let dtype: TorchElementType
    let count: Int
}

/// A tensor as the pickle describes it: a strided view into a storage.
struct TorchTensorReference: Hashable {
    let storage: TorchStorage
    let offset: Int
    let shape: [Int]
    let strides: [Int]
}

/// Element types of PyTorch's typed storages (`torch.FloatStorage` …) and their safetensors names.
enum TorchElementType: String, CaseIterable {
    case float = "FloatStorage", half = "HalfStorage", bfloat16 = "BFloat16Storage", double = "DoubleStorage"
    case long = "LongStorage", int = "IntStorage", short = "ShortStorage", char = "CharStorage"
    case byte = "ByteStorage", bool = "BoolStorage"

    var size: Int {
        switch self {
        case .double, .long: return 8
        case .float, .int: return 4
        case .half, .bfloat16, .short: return 2
        case .char, .byte, .bool: return 1
        }
    }
}

/// Reads the pickle of a `torch.save` archive the way `torch.load(weights_only=True)` does: only
/// the opcodes that build plain data, and only the globals a state dict needs
/// (`collections.OrderedDict`, `torch._utils._rebuild_tensor_v2` and `_rebuild_parameter`,
/// `torch.*Storage`). Every other global, and every opcode that could call or build anything
/// else (`INST`, `OBJ`, `NEWOBJ`, `EXT*`, …), is refused with a named error before anything is
/// done with it; nothing is ever executed. Every read is bounds-checked.
struct Unpickler {
    enum AllowedGlobal: String {
        case orderedDict = "collections.OrderedDict"
        case rebuildTensor = "torch._utils._rebuild_tensor_v2"
        case rebuildParameter = "torch._utils._rebuild_parameter"
    }

    enum Failure: Error, Equatable {
        case disallowedGlobal(module: String, name: String, offset: Int)
        case unsupportedOpcode(UInt8, offset: Int)
        case malformed(String, offset: Int)
    }

    private let bytes: [UInt8]
    private var position = 0
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// The pickled object (what STOP leaves on the stack).
    static func load(_ bytes: [UInt8]) throws -> PickleValue {
        var machine = Unpickler(bytes)
        return try machine.run()
    }

    private mutating func fail(_ reason: String) -> Failure { .malformed(reason, offset: position) }

    private mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, n <= bytes.count - position else { throw fail("the pickle ends inside an opcode's argument (\(n) bytes wanted)") }
        defer { position += n }
        return bytes[position..<(position + n)]
    }

    private mutating func byte() throws -> UInt8 { try take(1).first! }

    private mutating func littleEndian(_ n: Int) throws -> UInt64 {
        var value: UInt64 = 0
        for (i, b) in try take(n).enumerated() { value |= UInt64(b) << (8 * UInt64(i)) }
        return value
    }

    private mutating func line() throws -> String {
        guard let end = bytes[position...].firstIndex(of: 0x0A) else { throw fail("a GLOBAL's name has no end of line") }
        defer { position = end + 1 }
        return String(decoding: bytes[position..<end], as: UTF8.self)
    }

    private mutating func pop() throws -> PickleValue {
        guard let value = stack.popLast() else { throw fail("the stack is empty") }
        return value
    }

    /// The values above the last MARK, removed with it.
    private mutating func popToMark() throws -> [PickleValue] {
        guard let mark = marks.popLast(), mark <= stack.count else { throw fail("no MARK to pop to") }
        defer { stack.removeSubrange(mark...) }
        return Array(stack[mark...])
    }

    private mutating func string(_ length: UInt64) throws -> String {
        guard length <= UInt64(bytes.count) else { throw fail("a string longer than the pickle") }
        let raw = try take(Int(length))
        guard let text = String(validating: raw, as: UTF8.self) else { throw fail("a string that is not UTF-8") }
        return text
    }

    private mutating func resolve(module: String, name: String, at offset: Int) throws -> PickleValue {
        switch (module, name) {
        case ("collections", "OrderedDict"): return .global(.orderedDict)
        case ("torch._utils", "_rebuild_tensor_v2"): return .global(.rebuildTensor)
        case ("torch._utils", "_rebuild_parameter"): return .global(.rebuildParameter)
        default:
            if module == "torch", let type = TorchElementType(rawValue: name) { return .storageType(type) }
            throw Failure.disallowedGlobal(module: module, name: name, offset: offset)
        }
    }

    private mutating func push(_ value: PickleValue) { stack.append(value) }

    private mutating func run() throws -> PickleValue {
        while true {
            let offset = position
            let op = try byte()
            switch op {
            case 0x80: _ = try byte()                                           // PROTO
            case 0x95: _ = try take(8)                                          // FRAME
            case 0x2E: return try pop()                                         // STOP
            case 0x28: marks.append(stack.count)                                // MARK
            case 0x7D: push(.dict([]))                                          // EMPTY_DICT
            case 0x5D: push(.list([]))                                          // EMPTY_LIST
            case 0x29: push(.tuple([]))                                         // EMPTY_TUPLE
            case 0x74: push(.tuple(try popToMark()))                            // TUPLE
            case 0x85: push(.tuple([try pop()]))                                // TUPLE1
            case 0x86: let b = try pop(), a = try pop(); push(.tuple([a, b]))   // TUPLE2
            case 0x87: let c = try pop(), b = try pop(), a = try pop(); push(.tuple([a, b, c]))  // TUPLE3
            case 0x4E: push(.none)                                              // NONE
            case 0x88: push(.bool(true))                                        // NEWTRUE
            case 0x89: push(.bool(false))                                       // NEWFALSE
            case 0x4B: push(.int(Int(try byte())))                              // BININT1
            case 0x4D: push(.int(Int(try littleEndian(2))))                     // BININT2
            case 0x4A: push(.int(Int(Int32(truncatingIfNeeded: try littleEndian(4)))))  // BININT
            case 0x8A:                                                          // LONG1
                let n = Int(try byte())
                guard n <= 8 else { throw fail("an integer of \(n) bytes") }
                var value = n == 0 ? 0 : try littleEndian(n)
                if n > 0 && n < 8 && value & (1 << (8 * UInt64(n) - 1)) != 0 { value |= ~0 << (8 * UInt64(n)) }
                push(.int(Int(Int64(bitPattern: value))))
            case 0x47:                                                          // BINFLOAT (big-endian)
                var value: UInt64 = 0
                for b in try take(8) { value = value << 8 | UInt64(b) }
                push(.float(Double(bitPattern: value)))
            case 0x58: push(.string(try string(try littleEndian(4))))           // BINUNICODE
            case 0x8C: push(.string(try string(UInt64(try byte()))))            // SHORT_BINUNICODE
            case 0x8D: push(.string(try string(try littleEndian(8))))           // BINUNICODE8
            case 0x55: push(.bytes(Array(try take(Int(try byte())))))           // SHORT_BINSTRING
            case 0x54: push(.bytes(Array(try take(Int(try littleEndian(4))))))  // BINSTRING
            case 0x43: push(.bytes(Array(try take(Int(try byte())))))           // SHORT_BINBYTES
            case 0x42: push(.bytes(Array(try take(Int(try littleEndian(4))))))  // BINBYTES
            case 0x71: memo[Int(try byte())] = try top()                        // BINPUT
            case 0x72: memo[Int(try littleEndian(4))] = try top()               // LONG_BINPUT
            case 0x94: memo[memo.count] = try top()                             // MEMOIZE
            case 0x68: push(try recall(Int(try byte())))                        // BINGET
            case 0x6A: push(try recall(Int(try littleEndian(4))))               // LONG_BINGET
            case 0x30: _ = try pop()                                            // POP
            case 0x31: _ = try popToMark()                                      // POP_MARK
            case 0x32: push(try top())                                          // DUP
            case 0x63:                                                          // GLOBAL
                let module = try line(), name = try line()
                push(try resolve(module: module, name: name, at: offset))
            case 0x93:                                                          // STACK_GLOBAL
                guard case let .string(name) = try pop(), case let .string(module) = try pop() else { throw fail("STACK_GLOBAL without two names") }
                push(try resolve(module: module, name: name, at: offset))
            case 0x51: push(try persistentLoad(try pop()))                      // BINPERSID
            case 0x52:                                                          // REDUCE
                let arguments = try pop(), callable = try pop()
                push(try reduce(callable, arguments))
            case 0x62:                                                          // BUILD
                // OrderedDict's state (a state dict's `_metadata`) and a tensor's are dropped.
                _ = try pop()
                switch try top() {
                case .dict, .tensor: break
                case let other: throw fail("BUILD on a \(other.typeName)")
                }
            case 0x73:                                                          // SETITEM
                let value = try pop(), key = try pop()
                try setItems([key, value])
            case 0x75: try setItems(try popToMark())                            // SETITEMS
            case 0x61:                                                          // APPEND
                let value = try pop()
                try append([value])
            case 0x65: try append(try popToMark())                              // APPENDS
            default:
                throw Failure.unsupportedOpcode(op, offset: offset)
            }
        }
    }

    private mutating func top() throws -> PickleValue {
        guard let value = stack.last else { throw fail("the stack is empty") }
        return value
    }

    private mutating func recall(_ index: Int) throws -> PickleValue {
        guard let value = memo[index] else { throw fail("memo \(index) was never stored") }
        return value
    }

    private mutating func setItems(_ items: [PickleValue]) throws {
        guard items.count % 2 == 0, case var .dict(pairs) = try pop() else { throw fail("SETITEMS without a dict and key/value pairs") }
        for i in stride(from: 0, to: items.count, by: 2) { pairs.append((items[i], items[i + 1])) }
        push(.dict(pairs))
    }

    private mutating func append(_ items: [PickleValue]) throws {
        guard case var .list(values) = try pop() else { throw fail("APPENDS without a list") }
        values += items
        push(.list(values))
    }

    /// `('storage', torch.XStorage, key, location, numel)`, as torch.save writes it.
    private mutating func persistentLoad(_ id: PickleValue) throws -> PickleValue {
        guard case let .tuple(parts) = id, parts.count == 5, case .string("storage") = parts[0],
              case let .storageType(type) = parts[1], case let .string(key) = parts[2], case let .int(count) = parts[4], count >= 0 else {
            throw fail("a persistent id that is not a torch storage")
        }
        return .storage(TorchStorage(key: key, dtype: type, count: count))
    }

    private mutating func reduce(_ callable: PickleValue, _ arguments: PickleValue) throws -> PickleValue {
        guard case let .global(function) = callable, case let .tuple(args) = arguments else {
            throw fail("REDUCE of a \(callable.typeName), which is not an allowed callable")
        }
        switch function {
        case .orderedDict:
            guard args.isEmpty else { throw fail("OrderedDict with arguments") }
            return .dict([])
        case .rebuildTensor:
            // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
            guard args.count >= 4, case let .storage(storage) = args[0], case let .int(offset) = args[1],
                  case let .tuple(size) = args[2], case let .tuple(stride) = args[3], size.count == stride.count else {
                throw fail("_rebuild_tensor_v2 with arguments that are not (storage, offset, size, stride, …)")
            }
            let shape = try size.map { v -> Int in guard case let .int(n) = v else { throw fail("a tensor size that is not an integer") }; return n }
            let strides = try stride.map { v -> Int in guard case let .int(n) = v else { throw fail("a tensor stride that is not an integer") }; return n }
            return .tensor(TorchTensorReference(storage: storage, offset: offset, shape: shape, strides: strides))
        case .rebuildParameter:
            guard let first = args.first, case .tensor = first else { throw fail("_rebuild_parameter without a tensor") }
            return first
        }
    }
}
