package app.sevenstamp.autopilot.protocol.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The broker settings the benches and the fleet simulation measure with are the ones docs/operations.md tells an
 * operator to set: a figure measured with one config and advice given with another would be a claim nobody ran.
 */
class FleetTuningDocsTest {
    private static final Path DOC = Path.of("..", "docs", "operations.md");
    private static final String CONF_HEADER = "# /etc/mosquitto/conf.d/7stamp.conf";
    private static final List<String> FLEET_TUNING_LINES = Arrays.asList(MosquittoProcess.FLEET_TUNING.split("\n"));

    @Test
    void theFleetBrokerConfigInOperationsSetsEveryTunedLine() throws Exception {
        List<String> conf = confBlock(Files.readAllLines(DOC));
        for (String tuned : FLEET_TUNING_LINES) {
            String key = tuned.split(" ")[0];
            List<String> set = conf.stream().filter(l -> l.split("\\s+")[0].equals(key)).toList();
            assertEquals(1, set.size(), key + " set once in the fleet broker's config of " + DOC + ": " + set);
            assertEquals(tuned, withoutComment(set.get(0)), key + " in " + DOC);
        }
    }

    private static List<String> confBlock(List<String> lines) {
        int start = lines.indexOf(CONF_HEADER);
        assertTrue(start > 0, DOC + " has no block starting with " + CONF_HEADER);
        int end = start;
        while (!lines.get(end).startsWith("```")) {
            end++;
        }
        return lines.subList(start + 1, end);
    }

    private static String withoutComment(String line) {
        int hash = line.indexOf('#');
        return (hash < 0 ? line : line.substring(0, hash)).strip().replaceAll("\\s+", " ");
    }
}
