package app.sevenstamp.autopilot.gateway.e2e;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The gateway's class-data sharing archive as the .deb's postinst builds it ({@code src/deb/share/cds-archive}),
 * for a gateway started from {@code target/autopilot-gateway.jar} by a bench or test run from the module's
 * folder, so that they measure the start-up and memory a box has. And the class list it is built from, as
 * {@code scripts/cds-classlist} records it from the bench's gateways.
 */
final class CdsArchive {
    /** The classes a running gateway loads, in load order; shipped in the .deb. */
    static final Path CLASS_LIST = Path.of("src", "deb", "share", "gateway.classlist");

    private CdsArchive() {
    }

    /** {@code dir/gateway.jsa}, made by this JVM's java from the shipped class list and the jar; its path. */
    static Path build(Path dir) throws IOException, InterruptedException {
        Path archive = dir.resolve("gateway.jsa");
        Path log = dir.resolve("gateway.jsa.log");
        String java = ProcessHandle.current().info().command().orElse("java");
        Process p = new ProcessBuilder(java, "-Xshare:dump", "-XX:SharedClassListFile=" + CLASS_LIST,
                "-XX:SharedArchiveFile=" + archive, "-cp", GatewayProcess.JAR.toString()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0 || !Files.isRegularFile(archive)) {
            p.destroyForcibly();
            throw new IllegalStateException("java -Xshare:dump failed; its output: " + Files.readString(log));
        }
        return archive;
    }

    /**
     * The lines of every {@code -XX:DumpLoadedClassList} file given, each line once, in the order first seen:
     * the classes of all the gateway processes of a run. The JVM's header comment is kept once.
     */
    static void merge(List<Path> lists, Path into) throws IOException {
        Set<String> lines = new LinkedHashSet<>();
        for (Path list : lists) {
            lines.addAll(Files.readAllLines(list, StandardCharsets.UTF_8));
        }
        Files.write(into, lines, StandardCharsets.UTF_8);
    }
}
