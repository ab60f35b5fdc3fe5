package org.quant4j.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.api.ops.impl.transforms.custom.XwPlusB;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The memory one call of a dense product takes beyond its operands and output, in libnd4j's {@code xw_plus_b} (the
 * op DL4J's dense layers convert to) and in {@code matmul}: the rise of the resident set (Linux's {@code VmHWM}, reset
 * before each call) for {@code x [8, N] * W [N, N]}, the weight in C order, in F order and transposed (with the op's
 * flag). Usage: {@code DenseProductMemory [N]} (8192 by default); run with the glibc variables of
 * {@code quantize-memory.sh}'s "lean" runs, so that freed arrays leave the resident set.
 */
public final class DenseProductMemory {

    private static final long MB = 1L << 20;

    private DenseProductMemory() {
    }

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 8192;
        INDArray w = Nd4j.rand(DataType.FLOAT, n, n);
        INDArray wf = w.dup('f');
        INDArray wt = w.transpose().dup('c');
        INDArray b = Nd4j.rand(DataType.FLOAT, n);
        INDArray x = Nd4j.rand(DataType.FLOAT, 8, n);
        System.out.printf(Locale.ROOT, "x [8, %d], W [%d, %d] (%d MB fp32)%n", n, n, n, w.length() * 4 / MB);
        for (int round = 0; round < 2; round++) {
            for (String kind : List.of("xw_plus_b, W in C order", "xw_plus_b, W in F order",
                    "xw_plus_b, W transposed", "matmul, W in C order")) {
                INDArray out = Nd4j.create(DataType.FLOAT, 8, n);
                System.gc();
                Thread.sleep(200);
                resetPeak();
                long before = statusBytes("VmRSS:");
                if (kind.startsWith("matmul")) {
                    Nd4j.exec(new Mmul(x, w, out, org.nd4j.linalg.api.blas.params.MMulTranspose.allFalse()));
                } else {
                    INDArray weight = kind.endsWith("C order") ? w : kind.endsWith("F order") ? wf : wt;
                    XwPlusB op = new XwPlusB(new INDArray[] {x, weight, b}, out);
                    if (kind.endsWith("transposed")) {
                        op.addIArgument(1);
                    }
                    Nd4j.exec(op);
                }
                long rise = statusBytes("VmHWM:") - before;
                System.out.printf(Locale.ROOT, "round %d, %-26s rise of the resident set %5d MB%n", round + 1, kind,
                        rise / MB);
                out.close();
            }
        }
    }

    private static void resetPeak() throws IOException {
        Files.writeString(Path.of("/proc/self/clear_refs"), "5");
    }

    private static long statusBytes(String key) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith(key)) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IOException(key + " not in /proc/self/status");
    }
}
