package app.sevenstamp.autopilot.gateway.config;

import static org.junit.jupiter.api.Assertions.assertNull;

import app.sevenstamp.autopilot.protocol.support.ConfigDocs;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * docs/configuration.md's gateway tables are what {@link GatewayKeys} generates. With
 * {@code -Dconfig.docs.write=true} the test writes the file instead of failing.
 */
class GatewayKeysDocsTest {
    static final Path DOC = Path.of("..", "docs", "configuration.md");
    static final String HOW = "regenerate with: mvn -B -o -q -pl protocol,cloud-sink,gateway test "
            + "-Dtest='*KeysDocsTest' -Dsurefire.failIfNoSpecifiedTests=false -Dconfig.docs.write=true";

    static Map<String, String> blocks() {
        Map<String, String> blocks = new LinkedHashMap<>();
        blocks.put("gateway", ConfigDocs.table(GatewayKeys.MAIN));
        blocks.put("gateway-scanner", ConfigDocs.table(GatewayKeys.SCANNER));
        blocks.put("gateway-feedback", ConfigDocs.table(GatewayKeys.FEEDBACK));
        blocks.put("gateway-update", ConfigDocs.table(GatewayKeys.UPDATE));
        blocks.put("gateway-remote", GatewayKeys.remoteTable());
        return blocks;
    }

    @Test
    void theDocsTablesAreTheRegistrys() throws IOException {
        String doc = Files.readString(DOC, StandardCharsets.UTF_8);
        String generated = ConfigDocs.regenerate(doc, blocks());
        if (Boolean.getBoolean("config.docs.write")) {
            Files.writeString(DOC, generated, StandardCharsets.UTF_8);
            return;
        }
        assertNull(ConfigDocs.firstDifference(doc, generated), () -> DOC + " differs from GatewayKeys: "
                + ConfigDocs.firstDifference(doc, generated) + "\n" + HOW);
    }
}
