package org.quant4j.zoo;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.zoo.model.AlexNet;
import org.deeplearning4j.zoo.model.Darknet19;
import org.deeplearning4j.zoo.model.FaceNetNN4Small2;
import org.deeplearning4j.zoo.model.InceptionResNetV1;
import org.deeplearning4j.zoo.model.TinyYOLO;
import org.deeplearning4j.zoo.model.UNet;
import org.deeplearning4j.zoo.model.VGG16;
import org.deeplearning4j.zoo.model.VGG19;
import org.deeplearning4j.zoo.model.Xception;
import org.deeplearning4j.zoo.model.YOLO2;
import org.junit.jupiter.api.Test;
import org.quant4j.reference.HeScaling;

/**
 * The larger DL4J zoo models, run by {@code mvn verify -Pzoo-all} (not in the default build): the same checks as
 * {@link ZooModelsIT} at each model's own input size, batch 1, 8 calibration and 4 evaluation photos. Weights whose
 * init() scale overflows float32 on photos are rescaled to He's scale ({@link HeScaling}).
 */
class ZooModelsAllIT {

    private static void check(String name, Model net, int c, int h, int w) {
        ZooCheck.Result r = ZooCheck.run(name, net, c, h, w, 1, 8, 4);
        assertTrue(r.sqnrDb() >= ZooCheck.MIN_SQNR_DB, r.toString());
        assertTrue(r.execution().startsWith("int8"), r.toString());
    }

    @Test
    void alexNet() {
        check("AlexNet", ZooModelsIT.init(AlexNet.builder().numClasses(ZooModelsIT.CLASSES).seed(ZooModelsIT.SEED)
                .build()), 3, 224, 224);
    }

    @Test
    void vgg16() {
        check("VGG16", ZooModelsIT.init(VGG16.builder().numClasses(ZooModelsIT.CLASSES).seed(ZooModelsIT.SEED)
                .build()), 3, 224, 224);
    }

    @Test
    void vgg19() {
        check("VGG19", ZooModelsIT.init(VGG19.builder().numClasses(ZooModelsIT.CLASSES).seed(ZooModelsIT.SEED)
                .build()), 3, 224, 224);
    }

    @Test
    void darknet19() {
        check("Darknet19", ZooModelsIT.init(Darknet19.builder().numClasses(ZooModelsIT.CLASSES)
                .seed(ZooModelsIT.SEED).build()), 3, 224, 224);
    }

    @Test
    void tinyYolo() {
        check("TinyYOLO", ZooModelsIT.init(TinyYOLO.builder().numClasses(ZooModelsIT.CLASSES)
                .seed(ZooModelsIT.SEED).build()), 3, 416, 416);
    }

    @Test
    void yolo2() {
        check("YOLO2", ZooModelsIT.init(YOLO2.builder().numClasses(ZooModelsIT.CLASSES).seed(ZooModelsIT.SEED)
                .build()), 3, 608, 608);
    }

    @Test
    void uNet() {
        check("UNet", ZooModelsIT.init(UNet.builder().numClasses(ZooModelsIT.CLASSES).seed(ZooModelsIT.SEED)
                .build()), 3, 512, 512);
    }

    @Test
    void xception() {
        check("Xception", ZooModelsIT.init(Xception.builder().numClasses(ZooModelsIT.CLASSES)
                .seed(ZooModelsIT.SEED).build()), 3, 299, 299);
    }

    @Test
    void inceptionResNetV1() {
        Model net = ZooModelsIT.init(InceptionResNetV1.builder().numClasses(ZooModelsIT.CLASSES)
                .seed(ZooModelsIT.SEED).build());
        // init() weights give activations of order 1e6 on photos: the residual sums then cancel in float32, and
        // the converted graph's tanh after them differs from DL4J's by 5 % (0.054) for rounding alone
        HeScaling.rescale(net);
        check("InceptionResNetV1", net, 3, 160, 160);
    }

    @Test
    void faceNetNN4Small2() {
        check("FaceNetNN4Small2", ZooModelsIT.init(FaceNetNN4Small2.builder().numClasses(ZooModelsIT.CLASSES)
                .seed(ZooModelsIT.SEED).build()), 3, 96, 96);
    }
}
