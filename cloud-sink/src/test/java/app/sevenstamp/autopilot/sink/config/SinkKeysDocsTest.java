package app.sevenstamp.autopilot.sink.config;

import static org.junit.jupiter.api.Assertions.assertNull;

import app.sevenstamp.autopilot.protocol.support.ConfigDocs;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * docs/configuration.md's sink table is what {@link SinkKeys} generates. With {@code -Dconfig.docs.write=true}
 * the test writes the file instead of failing.
 */
class SinkKeysDocsTest {
    static final Path DOC = Path.of("..", "docs", "configuration.md");

    @Test
    void theDocsTableIsTheRegistrys() throws IOException {
        String doc = Files.readString(DOC, StandardCharsets.UTF_8);
        String generated = ConfigDocs.regenerate(doc, Map.of("sink", ConfigDocs.table(SinkKeys.ALL)));
        if (Boolean.getBoolean("config.docs.write")) {
            Files.writeString(DOC, generated, StandardCharsets.UTF_8);
            return;
        }
        assertNull(ConfigDocs.firstDifference(doc, generated), () -> DOC + " differs from SinkKeys: "
                + ConfigDocs.firstDifference(doc, generated) + "\nregenerate with: mvn -B -o -q -pl "
                + "protocol,cloud-sink,gateway test -Dtest='*KeysDocsTest' "
                + "-Dsurefire.failIfNoSpecifiedTests=false -Dconfig.docs.write=true");
    }
}
