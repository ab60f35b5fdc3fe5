package org.quant4j;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.Dependency;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaMethodCall;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.EvaluationResult;
import com.tngtech.archunit.library.dependencies.SliceAssignment;
import com.tngtech.archunit.library.dependencies.SliceIdentifier;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataBuffer;

/**
 * The library's layering (docs/ARCHITECTURE.md, "Packages"). The root package is the public API in three layers: the
 * entry points ({@link Quantizer}, {@link QuantizedModel}, {@link Calibration}, and the accuracy budget: its search,
 * its result, the budget and its metric, which scores quantized models) above every other package; the
 * plain-data types they take (options, granularity, range methods), which may name the interfaces a user implements
 * ({@link org.quant4j.range.RangeSolver}); and the exceptions, below everything that throws them. Every package of
 * the library, with the root's three layers counted apart, is free of cycles, and nothing below the entry points
 * uses them.
 */
class ArchitectureTest {

    /** The root package's entry points; every other root class is a plain-data type of the API. */
    static final Set<String> ENTRY_POINTS = Set.of(Quantizer.class.getName(), QuantizedModel.class.getName(),
            Calibration.class.getName(), BudgetedModel.class.getName(), AccuracyControl.class.getName(),
            AccuracyBudget.class.getName(), ValidationMetric.class.getName(), BudgetCandidate.class.getName());

    /** The library's own classes: its output folder only (the test class path also holds the reference module). */
    static final JavaClasses LIBRARY = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPath(libraryClasses());

    private static Path libraryClasses() {
        try {
            return Path.of(Quantizer.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A slice per package below the root (range and range.pdf are two); the root's entry points and its types. */
    static final SliceAssignment LAYERS = new SliceAssignment() {
        @Override
        public SliceIdentifier getIdentifierOf(JavaClass c) {
            String pkg = c.getPackageName();
            if (!pkg.startsWith("org.quant4j")) {
                return SliceIdentifier.ignore();
            }
            if (pkg.equals("org.quant4j")) {
                if (ENTRY_POINTS.contains(topLevel(c).getName())) {
                    return SliceIdentifier.of("api entry points");
                }
                return SliceIdentifier.of(c.isAssignableTo(QuantizationException.class) ? "api exceptions"
                        : "api types");
            }
            return SliceIdentifier.of(pkg.substring("org.quant4j.".length()));
        }

        @Override
        public String getDescription() {
            return "the library's packages, the root's entry points and types apart";
        }
    };

    private static JavaClass topLevel(JavaClass c) {
        JavaClass t = c;
        while (t.getEnclosingClass().isPresent()) {
            t = t.getEnclosingClass().get();
        }
        return t;
    }

    @Test
    void packagesAreFreeOfCycles() {
        assertHolds(slices().assignedFrom(LAYERS).should().beFreeOfCycles());
    }

    @Test
    void onlyTheApiUsesItsEntryPoints() {
        DescribedPredicate<JavaClass> entryPoint = DescribedPredicate.describe("an API entry point",
                c -> ENTRY_POINTS.contains(topLevel(c).getName()));
        assertHolds(noClasses().that().resideOutsideOfPackage("org.quant4j")
                .should().dependOnClassesThat(entryPoint));
    }

    @Test
    void theLibraryKnowsNothingOfItsTools() {
        assertHolds(noClasses().should().dependOnClassesThat().resideInAnyPackage("org.quant4j.cli..",
                "org.quant4j.demo..", "org.quant4j.accuracy..", "org.quant4j.data..", "org.quant4j.reference..",
                "picocli..", "me.tongfei..", "org.knowm..", "org.deeplearning4j.zoo.."));
    }

    /** nd4j-api's jar and those of its own backend-neutral dependencies (group org.nd4j), by file name prefix. */
    private static final List<String> API_JARS = List.of("nd4j-api-", "nd4j-common-", "protobuf-", "jackson-",
            "guava-");

    /**
     * Outside the oneDNN int8 runtime ({@code org.quant4j.runtime}), the library uses ND4J through nd4j-api only, so
     * that it runs on any backend: no backend's classes (nd4j-native's {@code org.nd4j.linalg.cpu}, nd4j-cuda's
     * {@code org.nd4j.linalg.jcublas} and {@code org.nd4j.jita}, the native bindings {@code org.nd4j.nativeblas}),
     * no JavaCPP or oneDNN, and every ND4J class it names is loaded from nd4j-api or from one of the backend-neutral
     * artifacts nd4j-api itself depends on (nd4j-common, and ND4J's shaded protobuf, Jackson and Guava).
     */
    @Test
    void theCoreUsesOnlyNd4jApi() {
        assertHolds(noClasses().that().resideOutsideOfPackage("org.quant4j.runtime..")
                .should().dependOnClassesThat().resideInAnyPackage("org.nd4j.linalg.cpu..", "org.nd4j.linalg.jcublas..",
                        "org.nd4j.jita..", "org.nd4j.nativeblas..", "org.nd4j.presets..", "org.bytedeco.."));
        SortedSet<String> outside = new TreeSet<>();
        int checked = 0;
        for (JavaClass c : LIBRARY) {
            if (c.getPackageName().startsWith("org.quant4j.runtime")) {
                continue;
            }
            for (Dependency d : c.getDirectDependenciesFromSelf()) {
                JavaClass target = d.getTargetClass().getBaseComponentType();
                if (!target.getName().startsWith("org.nd4j.") || target.isPrimitive()) {
                    continue;
                }
                String jar = jarOf(target.getName());
                checked++;
                if (API_JARS.stream().noneMatch(jar::startsWith)) {
                    outside.add(c.getName() + " -> " + target.getName() + " (" + jar + ")");
                }
            }
        }
        assertTrue(checked > 100, "too few ND4J dependencies found (" + checked + "): the check reads nothing");
        assertTrue(outside.isEmpty(), () -> "ND4J classes from outside nd4j-api:\n" + String.join("\n", outside));
    }

    /**
     * Outside the int8 runtime no code reads an array's host address ({@code DataBuffer.address()}, {@code pointer()},
     * {@code addressPointer()}): on a device backend the host copy may be stale or absent. Identities of buffers use
     * {@code platformAddress()}; values are read through ND4J's own accessors, which sync.
     */
    @Test
    void noRawHostAddressOutsideTheRuntime() {
        DescribedPredicate<JavaMethodCall> hostAddress = DescribedPredicate.describe(
                "a host address of a DataBuffer", call -> call.getTargetOwner().isAssignableTo(DataBuffer.class)
                        && Set.of("address", "pointer", "addressPointer").contains(call.getName()));
        assertHolds(noClasses().that().resideOutsideOfPackage("org.quant4j.runtime..").should().callMethodWhere(
                hostAddress));
    }

    /** The file name of the jar (or folder) a class is loaded from. */
    private static String jarOf(String className) {
        try {
            Class<?> c = Class.forName(className, false, ArchitectureTest.class.getClassLoader());
            java.security.CodeSource source = c.getProtectionDomain().getCodeSource();
            return source == null ? "(no code source)" : Path.of(source.getLocation().toURI()).getFileName().toString();
        } catch (ClassNotFoundException | URISyntaxException | LinkageError e) {
            return "(not loadable: " + e + ")";
        }
    }

    /** The rule holds on the library's classes; else the failure lists every violating dependency. */
    private static void assertHolds(ArchRule rule) {
        EvaluationResult result = rule.evaluate(LIBRARY);
        assertFalse(result.hasViolation(), () -> String.join("\n", result.getFailureReport().getDetails()));
    }
}
