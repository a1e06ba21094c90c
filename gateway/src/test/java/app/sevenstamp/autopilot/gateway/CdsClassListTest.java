package app.sevenstamp.autopilot.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The class list the .deb's class-data sharing archive is built from (src/deb/share/gateway.classlist, recorded by
 * scripts/cds-classlist) still names the gateway's classes: a class renamed or removed since it was recorded would
 * silently fall out of the archive, and the box would start slower than the figures in docs/performance.md say.
 */
class CdsClassListTest {
    private static final Path LIST = Path.of("src", "deb", "share", "gateway.classlist");

    /** The class names of the list: the first word of each line but comments and the JVM's @ directives. */
    private static List<String> classes() throws IOException {
        List<String> names = new ArrayList<>();
        for (String line : Files.readAllLines(LIST, StandardCharsets.UTF_8)) {
            if (!line.isBlank() && !line.startsWith("#") && !line.startsWith("@")) {
                names.add(line.split("\\s+")[0]);
            }
        }
        return names;
    }

    @Test
    void everyClassOfTheGatewayAndItsLibrariesInTheListStillExists() throws IOException {
        List<String> missing = new ArrayList<>();
        int checked = 0;
        for (String name : classes()) {
            // the JDK's own differ between 17, 21 and 25 (the dump skips those it lacks); generated classes have no file
            if (name.startsWith("java/") || name.startsWith("javax/") || name.startsWith("jdk/") || name.startsWith("sun/")
                    || name.startsWith("com/sun/") || name.contains("$$")) {
                continue;
            }
            checked++;
            try {
                Class.forName(name.replace('/', '.'), false, getClass().getClassLoader());
            } catch (ClassNotFoundException | LinkageError e) {
                missing.add(name);
            }
        }
        assertEquals(List.of(), missing, "gone since the list was recorded: run scripts/cds-classlist and commit " + LIST);
        assertTrue(checked > 1_000, "the list names " + checked + " classes of the gateway and its libraries");
    }

    @Test
    void theListCoversTheGatewaysStartAndItsStampPath() throws IOException {
        List<String> names = classes();
        for (Class<?> c : List.of(GatewayMain.class, Gateway.class, StampPipeline.class,
                app.sevenstamp.autopilot.gateway.outbox.Outbox.class, app.sevenstamp.autopilot.gateway.uplink.Uplink.class,
                org.h2.mvstore.MVStore.class, org.eclipse.paho.client.mqttv3.MqttAsyncClient.class)) {
            assertTrue(names.contains(c.getName().replace('.', '/')), c.getName() + " is not in " + LIST);
        }
    }
}
