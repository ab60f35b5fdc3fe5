package org.quant4j;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.EvaluationResult;
import com.tngtech.archunit.library.dependencies.SliceAssignment;
import com.tngtech.archunit.library.dependencies.SliceIdentifier;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;

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

    /** The rule holds on the library's classes; else the failure lists every violating dependency. */
    private static void assertHolds(ArchRule rule) {
        EvaluationResult result = rule.evaluate(LIBRARY);
        assertFalse(result.hasViolation(), () -> String.join("\n", result.getFailureReport().getDetails()));
    }
}
