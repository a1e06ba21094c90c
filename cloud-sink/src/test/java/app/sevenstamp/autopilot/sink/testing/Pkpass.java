package app.sevenstamp.autopilot.sink.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/** Reads a .pkpass as a test looks at it: its files by name, and its pass.json. */
public final class Pkpass {
    private static final ObjectMapper JSON = new ObjectMapper();

    private Pkpass() {
    }

    public static Map<String, byte[]> unzip(byte[] zip) throws IOException {
        Map<String, byte[]> out = new LinkedHashMap<>();
        try (ZipInputStream z = new ZipInputStream(new ByteArrayInputStream(zip))) {
            for (ZipEntry e = z.getNextEntry(); e != null; e = z.getNextEntry()) {
                out.put(e.getName(), z.readAllBytes());
            }
        }
        return out;
    }

    public static JsonNode passJson(byte[] pkpass) throws IOException {
        byte[] json = unzip(pkpass).get("pass.json");
        if (json == null) {
            throw new IOException("no pass.json in the package");
        }
        return JSON.readTree(json);
    }
}
