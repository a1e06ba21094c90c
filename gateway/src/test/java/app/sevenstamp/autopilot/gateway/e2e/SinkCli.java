package app.sevenstamp.autopilot.gateway.e2e;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The sink's command line (the real jar built by the reactor), for keys and card codes. */
final class SinkCli {
    static final Path JAR = Path.of("..", "cloud-sink", "target", "autopilot-sink.jar");

    private SinkCli() {
    }

    static List<String> run(Path config, String... args) throws IOException, InterruptedException {
        if (!Files.isRegularFile(JAR)) {
            throw new AssertionError(JAR.toAbsolutePath() + " is missing: the reactor builds cloud-sink before gateway");
        }
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"),
                "-jar", JAR.toString()));
        command.addAll(List.of(args));
        command.addAll(List.of("--config", config.toString()));
        Process p = new ProcessBuilder(command).start();
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new AssertionError("sink " + String.join(" ", args) + " failed: " + new String(err, StandardCharsets.UTF_8));
        }
        return new String(out, StandardCharsets.UTF_8).lines().filter(l -> !l.isBlank()).toList();
    }

    static String trustedKey(Path config) throws IOException, InterruptedException {
        return run(config, "keys", "show").get(0);
    }

    static List<String> issue(Path config, String program, int count) throws IOException, InterruptedException {
        return run(config, "cards", "issue", "--program", program, "--count", Integer.toString(count));
    }
}
