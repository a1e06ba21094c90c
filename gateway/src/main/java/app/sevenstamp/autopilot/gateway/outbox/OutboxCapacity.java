package app.sevenstamp.autopilot.gateway.outbox;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import org.tinylog.Logger;

/**
 * The outbox's limits ({@link OutboxLimits}) against what it holds: file size, free disk and the alarm
 * state as of the last operation, and the refusal of an append beyond a limit. Written on the outbox
 * thread ({@link #refresh}, {@link #checkRoom}); read from any thread ({@link #status}, {@link #health}).
 */
final class OutboxCapacity {
    private final Path dir;
    private final Path dbFile;
    private final OutboxLimits limits;
    private volatile long fileBytes;
    private volatile long usableBytes = Long.MAX_VALUE;
    private volatile OutboxHealth health = OutboxHealth.OK;
    /**
     * The file system of {@code dir}, found once: {@link Files#getFileStore} reads and parses /proc/mounts
     * at every call, and {@link #refresh} runs twice with every append (strace of a paced scan: two reads of
     * /proc/mounts, a statfs and a dozen stat calls each). Its {@code getUsableSpace} asks the kernel anew
     * each time (statfs on {@code dir}). Outbox thread only; null until found or after a failure.
     */
    private FileStore store;

    OutboxCapacity(Path dir, Path dbFile, OutboxLimits limits) {
        this.dir = dir;
        this.dbFile = dbFile;
        this.limits = limits;
    }

    OutboxStatus status(long backlog) {
        return new OutboxStatus(backlog, fileBytes, usableBytes, health);
    }

    OutboxHealth health() {
        return health;
    }

    /** The H2 file's size now; 0 when it cannot be read. */
    long sizeOfFile() {
        try {
            return Files.size(dbFile);
        } catch (IOException e) {
            return 0;
        }
    }

    /** Reads the file size and free disk again and sets the alarm state for {@code backlog}. */
    void refresh(long backlog) {
        fileBytes = sizeOfFile();
        try {
            if (store == null) {
                store = Files.getFileStore(dir);
            }
            usableBytes = store.getUsableSpace();
        } catch (IOException e) {
            store = null; // found again next time (the directory may have been made again)
            usableBytes = Long.MAX_VALUE; // unknown: the write itself will tell
        }
        OutboxHealth now;
        String why;
        if (backlog >= limits.maxEvents() || fileBytes >= limits.maxBytes() || usableBytes < limits.minFreeBytes()) {
            now = OutboxHealth.FULL;
            why = "backlog " + backlog + "/" + limits.maxEvents() + " events, file " + fileBytes / 1024 + "/"
                    + limits.maxBytes() / 1024 + " KB, disk free " + usableBytes / 1024 + " KB (minimum "
                    + limits.minFreeBytes() / 1024 + " KB)";
        } else if (backlog >= limits.nearFullEvents() || fileBytes >= limits.nearFullBytes()
                || usableBytes < 2 * limits.minFreeBytes()) {
            now = OutboxHealth.NEAR_FULL;
            why = "backlog " + backlog + "/" + limits.maxEvents() + " events, file " + fileBytes / 1024 + "/"
                    + limits.maxBytes() / 1024 + " KB, disk free " + usableBytes / 1024 + " KB; alarm at "
                    + limits.nearFullPercent() + "% or below " + 2 * limits.minFreeBytes() / 1024 + " KB free";
        } else {
            now = OutboxHealth.OK;
            why = "backlog " + backlog + " events, file " + fileBytes / 1024 + " KB";
        }
        setHealth(now, why);
    }

    /** Refuses one more event when a limit is reached (as of the last {@link #refresh}). */
    void checkRoom(long backlog) throws OutboxFullException {
        String full = null;
        if (backlog >= limits.maxEvents()) {
            full = "the outbox holds " + backlog + " unsent events, its limit (outbox.maxEvents=" + limits.maxEvents() + ")";
        } else if (fileBytes >= limits.maxBytes()) {
            full = "the outbox file is " + fileBytes + " bytes, its limit (outbox.maxBytes=" + limits.maxBytes() + ")";
        } else if (usableBytes < limits.minFreeBytes()) {
            full = "the disk of " + dir + " has " + usableBytes + " bytes free, less than outbox.minFreeBytes="
                    + limits.minFreeBytes();
        }
        if (full != null) {
            setHealth(OutboxHealth.FULL, full);
            throw new OutboxFullException(full + "; the scan was NOT stored. Bring the uplink back so the backlog "
                    + "drains, or free disk space");
        }
    }

    private void setHealth(OutboxHealth now, String why) {
        OutboxHealth before = health;
        if (before == now) {
            return;
        }
        health = now;
        switch (now) {
            case FULL -> Logger.error("ALARM: outbox FULL ({}); new scans get STORAGE_FAULT until it drains", why);
            case NEAR_FULL -> Logger.warn("ALARM: outbox nearly full ({}); stamps are still stored", why);
            case OK -> Logger.info("outbox back to normal ({})", why);
        }
    }
}
