package org.quant4j.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.quant4j.reference.ReferenceNetwork;
import org.quant4j.accuracy.ReferenceTraining;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code quant4j train NAME...}: trains the accuracy study's reference networks and saves them. */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Train the accuracy study's reference networks with DL4J (seeded) and save each as a DL4J "
                + "model file <name>.zip.")
final class TrainCommand extends CommonOptions implements Callable<Integer> {

    @Parameters(paramLabel = "NAME", arity = "1..*",
            description = "all | first | second | a network's id (first: mlp-mnist, lenet-mnist, resnet-fashion, "
                    + "mobilenet-fashion; second: the eight of the second set, see docs/ACCURACY.md)")
    List<String> names;

    @Option(names = "--out", defaultValue = "models", paramLabel = "DIR",
            description = "Where the model files go (default: ${DEFAULT-VALUE}).")
    Path out;

    @Override
    public Integer call() throws Exception {
        requireDirectoryOrAbsent("--out", out);
        List<ReferenceNetwork> nets = new ArrayList<>();
        for (String name : names) {
            try {
                nets.addAll(ReferenceNetwork.named(name));
            } catch (IllegalArgumentException e) {
                throw usage(e.getMessage());
            }
        }
        for (ReferenceNetwork net : nets) {
            ReferenceTraining.train(net, datasets(), out, main.out, main.progress);
        }
        return Main.OK;
    }
}
