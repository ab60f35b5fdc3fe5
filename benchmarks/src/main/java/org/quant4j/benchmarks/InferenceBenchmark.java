package org.quant4j.benchmarks;

import java.util.concurrent.TimeUnit;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;
import org.quant4j.QuantizedModel;
import org.quant4j.Quantizer;
import org.quant4j.reference.FashionCnn;
import org.deeplearning4j.datasets.iterator.utilty.ListDataSetIterator;
import org.nd4j.linalg.dataset.DataSet;

/**
 * Inference latency of the demo's CNN (untrained weights: speed does not depend on them): DL4J fp32 against the
 * quantized model in integer arithmetic (oneDNN int8 kernels) and as its fake-quant SameDiff graph. Run side by
 * side in one JMH run; compare the scores as ratios.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgs = {"-Xmx4g"})
public class InferenceBenchmark {

    @Param({"1", "32"})
    int batch;

    private MultiLayerNetwork net;
    private QuantizedModel quantized;
    private INDArray input;

    @Setup
    public void setUp() {
        Nd4j.getRandom().setSeed(1);
        net = new MultiLayerNetwork(FashionCnn.configuration());
        net.init();
        java.util.List<DataSet> calibration = new java.util.ArrayList<>();
        for (int i = 0; i < 4; i++) {
            calibration.add(new DataSet(Nd4j.rand(DataType.FLOAT, 32, 1, 28, 28), Nd4j.zeros(DataType.FLOAT, 32, 10)));
        }
        quantized = Quantizer.quantize(net, new ListDataSetIterator<>(calibration, 1));
        input = Nd4j.rand(DataType.FLOAT, batch, 1, 28, 28);
    }

    @Benchmark
    public void dl4jFp32(Blackhole bh) {
        bh.consume(net.output(input, false));
    }

    @Benchmark
    public void quant4jInt8(Blackhole bh) {
        bh.consume(quantized.outputs(QuantizedModel.Execution.INT8, input));
    }

    @Benchmark
    public void quant4jFakeQuant(Blackhole bh) {
        bh.consume(quantized.outputs(QuantizedModel.Execution.FAKE_QUANT, input));
    }
}
