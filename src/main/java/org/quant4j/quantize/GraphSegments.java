package org.quant4j.quantize;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.quant4j.convert.Dl4jConverter;
import org.quant4j.convert.Dl4jLayers;
import org.quant4j.convert.LayerConverters;
import org.quant4j.convert.UnsupportedLayerException;

/**
 * A ComputationGraph with unsupported layers cut into runs along its topological order, for
 * {@link PartwiseQuantization}: runs of vertices the converter handles (any DAG: branches, merges) and runs of layer
 * vertices it does not, which must form a chain. The graph can be cut only where one value flows past: between two
 * runs exactly one vertex's output is read after the cut (or is the network's output), and the network has one input
 * and one output. Anything else is refused with an error naming the vertex where the cut falls and the values
 * crossing it.
 */
final class GraphSegments {

    private GraphSegments() {
    }

    /** Whether a vertex of {@code net} is a layer the converter does not support. */
    static boolean hasUnsupportedLayers(ComputationGraph net) {
        for (GraphVertex v : net.getConfiguration().getVertices().values()) {
            if (unsupportedLayer(v)) {
                return true;
            }
        }
        return false;
    }

    private static boolean unsupportedLayer(GraphVertex vertex) {
        GraphVertex v = vertex;
        while (v instanceof org.deeplearning4j.nn.conf.graph.FrozenVertex f) {
            v = f.getUnderlying();
        }
        return v instanceof LayerVertex lv && !LayerConverters.supports(lv.getLayerConf().getLayer());
    }

    static List<PartwiseQuantization.Segment> of(ComputationGraph net) {
        ComputationGraphConfiguration conf = net.getConfiguration();
        if (conf.getNetworkInputs().size() != 1 || conf.getNetworkOutputs().size() != 1) {
            throw new UnsupportedLayerException("keepUnsupportedLayersFp32: a ComputationGraph with "
                    + conf.getNetworkInputs().size() + " inputs and " + conf.getNetworkOutputs().size()
                    + " outputs; unsupported layers are kept in fp32 only in graphs of one input and one output");
        }
        List<String> order = conf.getTopologicalOrderStr();
        Map<String, List<String>> inputs = conf.getVertexInputs();
        Set<String> networkInputs = new HashSet<>(conf.getNetworkInputs());
        int first = 0;
        while (first < order.size() && networkInputs.contains(order.get(first))) {
            first++;
        }
        List<PartwiseQuantization.Segment> segments = new ArrayList<>();
        String before = null; // the value crossing the cut before the run
        int from = first;
        while (from < order.size()) {
            boolean supported = !unsupportedLayer(conf.getVertices().get(order.get(from)));
            int to = from + 1;
            while (to < order.size() && !unsupportedLayer(conf.getVertices().get(order.get(to))) == supported) {
                to++;
            }
            String after = to < order.size() ? crossing(conf, order, to) : null;
            List<String> names = new ArrayList<>(order.subList(from, to));
            int start = from;
            int end = to;
            String in = before;
            if (supported) {
                segments.add(new PartwiseQuantization.Segment(true, names,
                        (spec, batch) -> Dl4jConverter.convert(net, start, end, spec, after), null, in == null, in,
                        false));
            } else {
                List<Integer> indices = new ArrayList<>();
                String previous = in == null ? conf.getNetworkInputs().get(0) : in;
                for (int i = from; i < to; i++) {
                    String name = order.get(i);
                    if (!inputs.get(name).equals(List.of(previous))) {
                        throw new UnsupportedLayerException("keepUnsupportedLayersFp32: vertex " + i + " '" + name
                                + "' reads " + inputs.get(name) + ", not only '" + previous + "'; unsupported layers"
                                + " of a ComputationGraph are kept in fp32 only as a chain");
                    }
                    indices.add(i);
                    previous = name;
                }
                segments.add(new PartwiseQuantization.Segment(false, names, null,
                        () -> Dl4jLayers.copyOf(net, names, indices), in == null, in, false));
            }
            before = after;
            from = to;
        }
        return segments;
    }

    /** The one vertex whose value crosses the cut before position {@code cut}; an error naming them otherwise. */
    private static String crossing(ComputationGraphConfiguration conf, List<String> order, int cut) {
        Set<String> earlier = new HashSet<>(order.subList(0, cut));
        Set<String> crossing = new java.util.TreeSet<>();
        for (int i = cut; i < order.size(); i++) {
            List<String> in = conf.getVertexInputs().get(order.get(i));
            if (in != null) {
                in.stream().filter(earlier::contains).forEach(crossing::add);
            }
        }
        conf.getNetworkOutputs().stream().filter(earlier::contains).forEach(crossing::add);
        if (crossing.size() != 1) {
            throw new UnsupportedLayerException("keepUnsupportedLayersFp32: the graph cannot be cut before vertex "
                    + cut + " '" + order.get(cut) + "': " + crossing.size() + " values cross there " + crossing
                    + "; unsupported layers of a ComputationGraph are kept in fp32 only where one value flows past"
                    + " them");
        }
        return crossing.iterator().next();
    }
}
