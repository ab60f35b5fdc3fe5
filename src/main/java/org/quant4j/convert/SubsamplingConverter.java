package org.quant4j.convert;

import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.ops.impl.layers.convolution.Pooling2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Pooling2DConfig;

/** SubsamplingLayer (2D, NCHW): max or average pooling with DL4J's padding and divisor conventions. */
final class SubsamplingConverter implements LayerConverter<SubsamplingLayer> {

    @Override
    public Tensor convert(LayerContext<SubsamplingLayer> c, Tensor input) {
        SubsamplingLayer layer = c.layer();
        if (input.rank() != 4) {
            throw new UnsupportedLayerException(c.where() + " expects a rank 4 input but receives rank " + input.rank());
        }
        if (layer.getCnn2dDataFormat() != CNN2DFormat.NCHW) {
            throw new UnsupportedLayerException(c.where() + ": data format " + layer.getCnn2dDataFormat()
                    + " is not supported yet (NCHW only)");
        }
        return new Tensor(pool(c, input.variable(), c.name(), layer.getKernelSize(), layer.getStride(),
                layer.getPadding(), layer.getDilation()), 4);
    }

    /**
     * The layer's pooling type and mode on the NCHW image batch {@code x}, with the given geometry ({height, width}
     * each), named {@code name}.
     */
    static SDVariable pool(LayerContext<? extends SubsamplingLayer> c, SDVariable x, String name, int[] k, int[] s,
            int[] p, int[] d) {
        SubsamplingLayer layer = c.layer();
        Pooling2DConfig.Pooling2DConfigBuilder config = Pooling2DConfig.builder()
                .kH(k[0]).kW(k[1]).sH(s[0]).sW(s[1]).pH(p[0]).pW(p[1]).dH(d[0]).dW(d[1])
                .paddingMode(ConvolutionConverter.paddingMode(layer.getConvolutionMode(), c))
                .isNHWC(false);
        return switch (layer.getPoolingType()) {
            case MAX -> c.graph().cnn.maxPooling2d(name, x,
                    config.type(Pooling2D.Pooling2DType.MAX).build());
            case AVG -> c.graph().cnn.avgPooling2d(name, x, average(config, layer.isAvgPoolIncludePadInDivisor()));
            case PNORM -> pnorm(c, x, config, name, k);
            default -> throw new UnsupportedLayerException(c.where() + ": pooling type " + layer.getPoolingType()
                    + " is not supported (MAX, AVG, PNORM)");
        };
    }

    /**
     * Average pooling whose divisor counts the padded positions or not. SameDiff M2.1's {@code avgpool2d} op takes
     * this from the config's {@code extra} (1: include padding, 0: exclude; DL4J's layer passes the same), not from
     * its {@code divisor}, which it ignores: with only the divisor set, padded windows were averaged excluding the
     * padding whatever the layer said.
     */
    private static Pooling2DConfig average(Pooling2DConfig.Pooling2DConfigBuilder config, boolean includePadding) {
        return config.type(Pooling2D.Pooling2DType.AVG).extra(includePadding ? 1 : 0)
                .divisor(includePadding ? Pooling2D.Divisor.INCLUDE_PADDING : Pooling2D.Divisor.EXCLUDE_PADDING)
                .build();
    }

    /**
     * p-norm pooling, {@code (sum over the window of |x|^p)^(1/p)}, padded positions counting as 0, as libnd4j's
     * {@code pnormpool2d} (the op DL4J runs) computes it: written as {@code pow(avgpool(|x|^p) * kH * kW, 1/p)} with
     * the divisor counting padding (always kH * kW), because a SameDiff graph holding {@code pnormpool2d} cannot be
     * copied or saved in M2.1 (its FlatBuffers reader knows no op of that name: "No op known for hash ... and name
     * pnormpool2d", found with the zoo's FaceNetNN4Small2).
     */
    private static SDVariable pnorm(LayerContext<? extends SubsamplingLayer> c, SDVariable x,
            Pooling2DConfig.Pooling2DConfigBuilder config, String name, int[] k) {
        double p = c.layer().getPnorm();
        var sd = c.graph();
        SDVariable powered = sd.math.pow(name + "/pnorm-pow", sd.math.abs(name + "/pnorm-abs", x), p);
        SDVariable mean = sd.cnn.avgPooling2d(name + "/pnorm-mean", powered, average(config, true));
        SDVariable sum = sd.math.mul(name + "/pnorm-sum", mean, (double) k[0] * k[1]);
        return sd.math.pow(name, sum, 1.0 / p);
    }
}
