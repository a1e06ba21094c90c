package app.sevenstamp.autopilot.sink.config;

import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.protocol.support.Settings;
import app.sevenstamp.autopilot.sink.store.Database;
import app.sevenstamp.autopilot.sink.store.H2Database;
import app.sevenstamp.autopilot.sink.store.PostgresDatabase;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * Which database the sink keeps its cards in, and how several sink instances share one broker.
 *
 * <p>Its keys, their defaults and what they allow: {@link SinkKeys} (and docs/configuration.md).
 */
public record StoreSettings(String url, String user, String password, int poolSize, String shareGroup) {
    static final Pattern POSTGRES_URL = Pattern.compile("jdbc:postgresql://[^/\\s]+/[^\\s?/]+(\\?\\S*)?");
    static final Pattern SHARE_GROUP = Pattern.compile("[A-Za-z0-9_.-]{1,64}");

    public static StoreSettings from(Settings s, BrokerMode brokerMode) {
        String url = s.matching(SinkKeys.STORE_URL, POSTGRES_URL,
                "jdbc:postgresql://HOST[:PORT]/DATABASE, or nothing for the H2 file in store.dir");
        if (url != null && url.toLowerCase(java.util.Locale.ROOT).matches(".*[?&]rewritebatchedinserts=true(&.*)?")) {
            // the driver then reports no row counts for a batch, and the ingest needs them: a count of 0 is an
            // event another sink stored first; without them every batch would fall back to one event at a time
            throw new ConfigException("store.url: reWriteBatchedInserts=true is not allowed; the sink's batches need the "
                    + "row count of each insert (remove the option or set it to false)");
        }
        String user = s.string(SinkKeys.STORE_USER);
        String password = s.string(SinkKeys.STORE_PASSWORD);
        if (url == null && (user != null || password != null)) {
            throw new ConfigException((user != null ? "store.user" : "store.password")
                    + ": set without store.url; the H2 file needs no user, so set store.url=jdbc:postgresql://... or remove it");
        }
        int poolSize = s.integer(SinkKeys.STORE_POOL_SIZE);
        String shareGroup = s.matching(SinkKeys.MQTT_SHARE_GROUP, SHARE_GROUP, "1 to 64 letters, digits, '_', '.' or '-'");
        if (shareGroup != null && brokerMode == BrokerMode.EMBEDDED) {
            throw new ConfigException("mqtt.shareGroup: '" + shareGroup + "' needs broker.mode=external; the embedded "
                    + "broker (Moquette) has no shared subscriptions, so run Mosquitto 2, EMQX or HiveMQ and set broker.url");
        }
        if (shareGroup != null && url == null) {
            throw new ConfigException("mqtt.shareGroup: '" + shareGroup + "' needs store.url; sinks that share the events "
                    + "must share one PostgreSQL database, an H2 file belongs to one process");
        }
        return new StoreSettings(url, user, password, poolSize, shareGroup);
    }

    public boolean postgres() {
        return url != null;
    }

    /** Opens the configured database; the H2 file is {@code h2File} when no {@code store.url} is set. */
    public Database open(Path h2File) {
        return postgres() ? PostgresDatabase.open(url, user, password, poolSize) : H2Database.open(h2File, poolSize);
    }

    /** The stamps subscription: {@code $share/GROUP/<filter>} with a share group, else the filter itself. */
    public String subscription(String stampsFilter) {
        return shareGroup == null ? stampsFilter : "$share/" + shareGroup + "/" + stampsFilter;
    }

    /** Never prints the password. */
    @Override
    public String toString() {
        return "StoreSettings[url=" + (url == null ? "(h2 file)" : url) + ", user=" + user + ", password="
                + (password == null ? null : "****") + ", poolSize=" + poolSize + ", shareGroup=" + shareGroup + "]";
    }
}
