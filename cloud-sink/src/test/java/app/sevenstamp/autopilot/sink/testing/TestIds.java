package app.sevenstamp.autopilot.sink.testing;

import java.nio.charset.StandardCharsets;
import java.util.UUID;

/** Event ids for tests: the wire contract takes lowercase UUIDs only, so a test's readable name becomes a fixed UUID. */
public final class TestIds {
    private TestIds() {
    }

    /** The same UUID for the same name (version 3, name-based); a name that is a UUID already is kept (the golden vectors' ids). */
    public static String event(String name) {
        if (name.matches("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")) {
            return name;
        }
        return UUID.nameUUIDFromBytes(name.getBytes(StandardCharsets.UTF_8)).toString();
    }
}
