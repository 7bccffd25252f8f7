import ArgumentParser
import BLAS
import Foundation
import Tensors

/// `pretrain bench kernels`: our matmul against BLAS called directly, and the memory-bound
/// kernels against the machine's measured memory bandwidth, at the shapes of a BERT layer.
struct KernelBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "GFLOP/s of matmul vs raw BLAS, GB/s of LayerNorm/softmax/GELU/attention vs memory bandwidth.")

    @Option(help: "Hidden sizes to measure.")
    var hidden: [Int] = [256, 512, 768]

    @Option(help: "Tokens per batch (batch × sequence length).")
    var tokens: Int = 4096

    @Option(help: "Sequence length (for attention and softmax).")
    var sequenceLength: Int = 128

    @Option(help: "Threads for our kernels and BLAS (default: all cores).")
    var threads: Int?

    @Option(help: "Minimum seconds spent timing each measurement.")
    var seconds: Double = 0.3

    @Flag(help: "Print one JSON object instead of tables.")
    var json = false

    /// One matmul shape through our kernel and through BLAS directly.
    struct MatmulRow: Encodable {
        let name: String, gflops: Double, blasGflops: Double
        enum CodingKeys: String, CodingKey { case name, gflops, blasGflops = "blas_gflops" }
    }

    /// One memory-bound kernel: its achieved bandwidth and arithmetic rate.
    struct MemoryRow: Encodable {
        let name: String, gbs: Double, gflops: Double, ms: Double
    }

    /// The `--json` object.
    struct Report: Encodable {
        let threads: Int, tokens: Int, sequenceLength: Int, blasKernel: String, memoryBandwidthGBs: Double
        let matmul: [MatmulRow], memoryBound: [MemoryRow]
        enum CodingKeys: String, CodingKey {
            case threads, tokens, matmul
            case sequenceLength = "sequence_length", blasKernel = "blas_kernel", memoryBandwidthGBs = "memory_bandwidth_gbs"
            case memoryBound = "memory_bound"
        }
    }

    func run() throws {
        Threading.configure(threads: threads ?? Threading.coreCount)
        let bandwidth = measureBandwidth()
        if !json {
            print("threads \(Threading.threadCount), \(tokens) tokens, sequence length \(sequenceLength), BLAS kernel \(BLASKernelSelection.coreName)")
            print(String(format: "memory bandwidth (parallel triad a = b + s·c): %.1f GB/s\n", bandwidth))
        }
        var matmulRows: [MatmulRow] = []
        var memoryRows: [MemoryRow] = []
        for h in hidden {
            matmulRows += benchMatmuls(hidden: h)
            memoryRows += benchMemoryBound(hidden: h, bandwidth: bandwidth)
        }
        if json {
            let report = Report(threads: Threading.threadCount, tokens: tokens, sequenceLength: sequenceLength,
                                blasKernel: BLASKernelSelection.coreName, memoryBandwidthGBs: bandwidth,
                                matmul: matmulRows, memoryBound: memoryRows)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        print("matmul (GFLOP/s)                      ours     BLAS   ours/BLAS")
        for r in matmulRows {
            print(String(format: "  %-34@ %7.1f  %7.1f   %6.1f%%", r.name, r.gflops, r.blasGflops, 100 * r.gflops / r.blasGflops))
        }
        print("\nmemory-bound kernels                  GB/s  of bandwidth   GFLOP/s")
        for r in memoryRows {
            print(String(format: "  %-34@ %6.1f   %6.1f%%     %7.1f", r.name, r.gbs, 100 * r.gbs / bandwidth, r.gflops))
        }
    }

    /// Seconds per call of `body`: the best of several timed batches of at least `seconds` in total.
    func time(_ body: () -> Void) -> Double {
        body()  // warm-up: page faults, BLAS buffers
        var best = Double.infinity
        var spent = 0.0
        var repeats = 1
        while spent < seconds || best == .infinity {
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<repeats { body() }
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            spent += elapsed
            best = min(best, elapsed / Double(repeats))
            if elapsed < 0.05 { repeats *= 2 }
        }
        return best
    }

    func random(_ shape: [Int], seed: UInt64) -> Tensor {
        var g = RandomGenerator(seed: seed)
        let t = Tensor(uninitialized: shape)
        g.fillUniform(t, low: -1, high: 1)
        return t
    }

    func measureBandwidth() -> Double {
        let n = 1 << 25  // 128 MiB per array, far beyond the caches
        let a = Tensor(zeros: [n]), b = random([n], seed: 1), c = random([n], seed: 2)
        let (pa, pb, pc) = (a.data, b.data, c.data)
        let t = time {
            parallelFor(n, grain: 1 << 16) { range in for i in range { pa[i] = pb[i] + 0.5 * pc[i] } }
        }
        return Double(3 * n * 4) / t / 1e9
    }

    /// The products of one BERT layer's forward and backward passes, through `MatmulKernel`
    /// (our entry point) and through `cblas_sgemm` directly with the same arguments.
    func benchMatmuls(hidden h: Int) -> [MatmulRow] {
        let n = tokens
        let shapes: [(String, Int, Int, Int, Bool, Bool)] = [
            ("QKV/out proj fwd  (N,H)·(H,H)ᵀ", n, h, h, false, true),
            ("FFN up fwd        (N,H)·(4H,H)ᵀ", n, 4 * h, h, false, true),
            ("FFN down fwd      (N,4H)·(H,4H)ᵀ", n, h, 4 * h, false, true),
            ("FFN up dX         (N,4H)·(4H,H)", n, h, 4 * h, false, false),
            ("FFN up dW         (N,4H)ᵀ·(N,H)", 4 * h, h, n, true, false),
            ("dW proj (tt)      (H,N)ᵀ·(H,N)ᵀ", h, h, n, true, true),
            // The MLM decoder's input gradient: M = 15 % of the tokens, V = BERT's 30522.
            ("MLM dec. dX       (M,V)·(V,H)", Int((0.15 * Double(n)).rounded()), h, 30522, false, false),
        ]
        return shapes.map { name, m, nn, k, ta, tb in
            let a = random(ta ? [k, m] : [m, k], seed: 3), b = random(tb ? [nn, k] : [k, nn], seed: 4)
            let c = Tensor(zeros: [m, nn])
            let ours = time {
                MatmulKernel.forward(c.data, a.data, b.data, m: m, n: nn, k: k, transposeA: ta, transposeB: tb)
            }
            let raw = time {
                rawSgemm(ta, tb, m, nn, k, a.data, ta ? m : k, b.data, tb ? k : nn, c.data, nn)
            }
            let flops = 2.0 * Double(m) * Double(nn) * Double(k)
            return MatmulRow(name: "H=\(h) " + name, gflops: flops / ours / 1e9, blasGflops: flops / raw / 1e9)
        }
    }

    func benchMemoryBound(hidden h: Int, bandwidth: Double) -> [MemoryRow] {
        let n = tokens, heads = max(1, h / 64), t = sequenceLength, batch = max(1, tokens / sequenceLength)
        var rows: [MemoryRow] = []
        func add(_ name: String, bytes: Double, flops: Double, seconds s: Double) {
            rows.append(MemoryRow(name: "H=\(h) " + name, gbs: bytes / s / 1e9, gflops: flops / s / 1e9, ms: s * 1e3))
        }
        let x = random([n, h], seed: 5), out = Tensor(zeros: [n, h]), dx = Tensor(zeros: [n, h]), g = random([n, h], seed: 6)
        let w = random([h], seed: 7), bias = random([h], seed: 8), mean = Tensor(zeros: [n]), rstd = Tensor(zeros: [n])
        let dw = Tensor(zeros: [h]), db = Tensor(zeros: [h])
        let nh = Double(n * h) * 4
        add("layer norm fwd", bytes: 2 * nh, flops: 8 * Double(n * h), seconds: time {
            LayerNormKernel.forward(out.data, mean: mean.data, rstd: rstd.data, x.data, weight: w.data, bias: bias.data, rows: n, columns: h, eps: 1e-12)
        })
        add("layer norm bwd", bytes: 4 * nh, flops: 14 * Double(n * h), seconds: time {
            LayerNormKernel.backward(dinp: dx.data, dweight: dw.data, dbias: db.data, dout: g.data, inp: x.data, weight: w.data,
                                     mean: mean.data, rstd: rstd.data, rows: n, columns: h)
        })
        let big = random([n, 4 * h], seed: 9), bigOut = Tensor(zeros: [n, 4 * h]), bigG = random([n, 4 * h], seed: 10)
        let n4 = Double(4 * n * h)
        add("GELU fwd (N,4H)", bytes: 8 * n4, flops: 20 * n4, seconds: time {
            Elementwise.geluForward(bigOut.data, big.data, count: big.count)
        })
        add("GELU bwd (N,4H)", bytes: 16 * n4, flops: 40 * n4, seconds: time {
            Elementwise.geluBackward(dinp: bigOut.data, inp: big.data, dout: bigG.data, count: big.count)
        })
        let scores = random([batch * heads * t, t], seed: 11), probs = Tensor(zeros: [batch * heads * t, t])
        let s = Double(scores.count)
        add("softmax fwd (B·A·T,T)", bytes: 8 * s, flops: 5 * s, seconds: time {
            SoftmaxKernel.forward(probs.data, scores.data, rows: batch * heads * t, columns: t)
        })
        let q = random([batch, t, h], seed: 12), k = random([batch, t, h], seed: 13), v = random([batch, t, h], seed: 14)
        let att = Tensor(zeros: [batch, t, h]), p = Tensor(zeros: [batch, heads, t, t])
        let mask = Tensor(repeating: 1, shape: [batch, t])
        let shape = AttentionShape(batch: batch, queries: t, keys: t, heads: heads, headDim: h / heads)
        let attBytes = 4 * Double(q.count) * 4 + Double(p.count) * 4
        let attFlops = 4 * Double(batch * heads * t * t * (h / heads))
        add("attention fwd (fused, A=\(heads))", bytes: attBytes, flops: attFlops, seconds: time {
            AttentionKernel.forward(att.data, probabilities: p.data, q: q.data, k: k.data, v: v.data, shape: shape,
                                    masks: AttentionMasks(keyMask: UnsafePointer(mask.data)), dropout: 0, key: 0)
        })
        let dq = Tensor(zeros: q.shape), dk = Tensor(zeros: k.shape), dv = Tensor(zeros: v.shape)
        add("attention bwd (fused, A=\(heads))", bytes: attBytes + 3 * Double(q.count) * 4 * 2, flops: 2 * attFlops, seconds: time {
            AttentionKernel.backward(dq: dq.data, dk: dk.data, dv: dv.data, dout: att.data, probabilities: p.data,
                                     q: q.data, k: k.data, v: v.data, shape: shape, dropout: 0, key: 0)
        })
        return rows
    }
}
