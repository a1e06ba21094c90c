package app.sevenstamp.autopilot.protocol.support;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A prefix of the log reads what was written before it was taken, never what was appended after. */
class RedoLogPrefixTest {
    @TempDir
    Path dir;

    private static List<byte[]> records(String... texts) {
        List<byte[]> out = new ArrayList<>();
        for (String t : texts) {
            out.add(t.getBytes(StandardCharsets.UTF_8));
        }
        return out;
    }

    private static List<String> read(RedoLog.Prefix prefix) throws Exception {
        List<String> out = new ArrayList<>();
        prefix.<RuntimeException>read(r -> out.add(new String(r, StandardCharsets.UTF_8)));
        return out;
    }

    @Test
    void aPrefixReadsTheRecordsBeforeItAndNoneAppendedAfter() throws Exception {
        try (RedoLog log = RedoLog.open(dir.resolve("log"), RedoLog.FILES)) {
            log.append(records("one", "two"), true);
            RedoLog.Prefix before = log.prefix();
            log.append(records("three"), true);
            assertEquals(List.of("one", "two"), read(before));
            assertEquals(List.of("one", "two", "three"), read(log.prefix()));
            List<String> all = new ArrayList<>();
            log.<RuntimeException>read(r -> all.add(new String(r, StandardCharsets.UTF_8)));
            assertEquals(List.of("one", "two", "three"), all);
        }
    }
}
