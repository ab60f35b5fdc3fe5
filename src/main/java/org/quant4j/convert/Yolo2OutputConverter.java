package org.quant4j.convert;

import org.deeplearning4j.nn.conf.layers.objdetect.Yolo2OutputLayer;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Yolo2OutputLayer at inference, as DL4J's {@code YoloUtils.activate}: the input [N, B*(5+C), H, W] is seen as
 * [N, B, 5+C, H, W] (B bounding-box priors, C classes) and per box and cell
 * <pre>  x, y   = sigmoid(t_x), sigmoid(t_y)                (centre within the cell)
 *  w, h   = prior_w[b] * exp(t_w), prior_h[b] * exp(t_h)  (size in grid units)
 *  conf   = sigmoid(t_conf)
 *  p(c)   = softmax over the C class scores</pre>
 * then laid out again as [N, B*(5+C), H, W]. C, H and W are read from the input's shape at run time.
 */
final class Yolo2OutputConverter implements LayerConverter<Yolo2OutputLayer> {

    @Override
    public Tensor convert(LayerContext<Yolo2OutputLayer> c, Tensor input) {
        Yolo2OutputLayer layer = c.layer();
        Cnn.requireNchw(c, input, layer.getFormat());
        SameDiff sd = c.graph();
        INDArray priors = layer.getBoundingBoxes();
        long boxes = priors.size(0);
        SDVariable x = input.variable();
        SDVariable shape = sd.shape(c.inner("shape"), x).castTo(DataType.LONG);
        SDVariable shape5 = sd.concat(c.inner("shape5"), 0,
                sd.slice(shape, new int[] {0}, new int[] {1}),
                sd.constant(c.inner("boxes"), Nd4j.createFromArray(boxes, -1L)),
                sd.slice(shape, new int[] {2}, new int[] {2}));
        SDVariable x5 = sd.reshape(c.inner("x5"), x, shape5);
        SDVariable xy = sd.nn.sigmoid(c.inner("xy"), slice(sd, x5, 0, 2, false));
        SDVariable prior = sd.constant(c.inner("priors"),
                priors.castTo(x.dataType()).reshape('c', 1, boxes, 2, 1, 1));
        SDVariable wh = sd.math.mul(c.inner("wh"), sd.math.exp(slice(sd, x5, 2, 4, false)), prior);
        SDVariable conf = sd.nn.sigmoid(c.inner("conf"), slice(sd, x5, 4, 5, false));
        SDVariable classes = sd.nn.softmax(c.inner("classes"), slice(sd, x5, 5, 0, true), 2);
        SDVariable out5 = sd.concat(c.inner("out5"), 2, xy, wh, conf, classes);
        return new Tensor(sd.reshape(c.name(), out5, shape), 4);
    }

    /** x5[:, :, from:to, :, :] (to the end when {@code toEnd}). */
    private static SDVariable slice(SameDiff sd, SDVariable x5, long from, long to, boolean toEnd) {
        int allBut2 = 0b11011;
        return sd.stridedSlice(x5, new long[] {0, 0, from, 0, 0}, new long[] {0, 0, to, 0, 0},
                new long[] {1, 1, 1, 1, 1}, allBut2, toEnd ? 0b11111 : allBut2, 0, 0, 0);
    }
}
