package app.sevenstamp.autopilot.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.testing.PackageGraph;
import app.sevenstamp.autopilot.protocol.testing.PublicTypes;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The packages form layers: no package imports, directly or through others, a package that imports it. */
class PackageLayersTest {
    @Test
    void noPackageCycles() {
        PackageGraph graph = PackageGraph.of(Path.of("target", "classes"), "app.sevenstamp.autopilot.gateway");
        assertTrue(graph.packages().size() >= 3, "read the module's packages: " + graph.packages());
        assertEquals(List.of(), graph.cycles(), "package cycles (cut one import of each)");
    }

    @Test
    void typesArePublicOnlyWhereAnotherPackageNeedsThem() {
        assertEquals(Set.of(), PublicTypes.unneeded(Path.of("target", "classes"), "app.sevenstamp.autopilot.gateway.",
                Path.of("target", "test-classes")), "public types no other package uses: make them package-private");
    }
}
