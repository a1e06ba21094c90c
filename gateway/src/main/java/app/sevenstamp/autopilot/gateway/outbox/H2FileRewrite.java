package app.sevenstamp.autopilot.gateway.outbox;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.h2.engine.Constants;
import org.h2.mvstore.MVStore;
import org.h2.mvstore.MVStoreTool;
import org.h2.mvstore.SingleFileStore;

/**
 * Rewrites the outbox's closed H2 file with only its live pages, compressed: what {@code SHUTDOWN COMPACT} does,
 * with H2's own public steps ({@code MVStore.compact} into {@code .tempFile}, then an atomic rename; an open
 * after a crash part-way deletes the temporary file, as it does after H2's), but through stores with a
 * {@value #CACHE_MB} MB page cache. {@code SHUTDOWN COMPACT} opens its two stores with H2's default 16 MB each,
 * whatever {@code CACHE_SIZE} says: copying 60,000 rows lifted a 64 MB heap from 2 to 23-25 MB, 8-15 MB of the
 * box's resident peak when it ran in the middle of a 100,000-stamp drain; this way 8-10 MB, in less time
 * (docs/perf/outbox-compaction.md). Each page is read once, so a bigger cache would only hold what is done.
 */
final class H2FileRewrite {
    static final int CACHE_MB = 1;

    private H2FileRewrite() {
    }

    /** {@code h2Prefix} is the outbox's H2 file system ({@code file:}, or a test's); the database must be closed. */
    static void rewrite(String h2Prefix, Path database) {
        String file = h2Prefix + database + Constants.SUFFIX_MV_FILE;
        String temp = file + Constants.SUFFIX_MV_STORE_TEMP_FILE;
        Map<String, Object> config = new HashMap<>();
        config.put("cacheSize", CACHE_MB);
        // the source, read-only; MVStore.compact opens the target and the source again through it, with this
        // configuration, and closes it
        SingleFileStore source = new SingleFileStore(config);
        source.open(file, true, null);
        MVStore.compact(file, temp, true, source);
        MVStoreTool.moveAtomicReplace(temp, file);
    }
}
