package app.sevenstamp.autopilot.sink;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.testing.PackageGraph;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The packages form layers: no package imports, directly or through others, a package that imports it. */
class PackageLayersTest {
    @Test
    void noPackageCycles() {
        PackageGraph graph = PackageGraph.of(Path.of("target", "classes"), "app.sevenstamp.autopilot.sink");
        assertTrue(graph.packages().size() >= 3, "read the module's packages: " + graph.packages());
        assertEquals(List.of(), graph.cycles(), "package cycles (cut one import of each)");
    }
}
