package app.sevenstamp.autopilot.sink.voucher;

import app.sevenstamp.autopilot.protocol.support.ConfigException;
import app.sevenstamp.autopilot.sink.store.SinkStore;
import app.sevenstamp.autopilot.sink.store.StoreException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;
import org.tinylog.Logger;

/**
 * The redeem-code pool: codes the shop's till already accepts (one per line in {@code vouchers.posCodes}),
 * imported into {@code voucher_pos_codes} at start and again whenever the file changes ({@link #refresh},
 * called by {@link PosCodeWatcher}), each handed to exactly one voucher so that the cashier can type it into
 * the till. No POS integration: the shop loads the same codes into its till.
 *
 * <p>Import is idempotent (a code already in the table is kept as it is, used or not), and codes
 * removed from the file stay in the table: a code handed out must stay with its voucher. A changed file
 * that cannot be used (unreadable, a bad line) is logged once and imports nothing: the codes imported
 * before stay, and the file is read again when it changes next.
 *
 * <p>Taking a code is safe with several sink instances on one PostgreSQL: {@code FOR UPDATE SKIP LOCKED}
 * lets concurrent transactions pass each other's candidate, and the conditional UPDATE ({@code voucher_code
 * IS NULL}) is what guarantees no code goes out twice (on H2 it is the only guard; see {@link #skipLocked}). An empty pool never refuses a voucher: it is issued
 * without a POS code, counted and logged.
 *
 * <p>Thread-safe.
 */
public final class PosCodePool {
    /** Printable, no spaces: what a till's keypad or a scanner can enter. */
    static final Pattern POS_CODE = Pattern.compile("[\\x21-\\x7E]{1,64}");
    /**
     * A file changed less than this long ago may still be being written (an editor's save, a script's
     * append): a half-written last line would be imported as a code the till does not know.
     */
    static final Duration QUIET = Duration.ofSeconds(2);
    private static final int ATTEMPTS = 5;

    /** What {@link #refresh} did. */
    public enum Refresh {
        /** The file is as it was last read (or there is no pool). */
        UNCHANGED,
        /** Changed moments ago: read at the next check, once the writer is done. */
        SETTLING,
        /** Read again; new codes (if any) are in the pool. */
        IMPORTED,
        /** Cannot be used; logged once for this version of the file, the codes imported before stay. */
        FAILED
    }

    /** A version of the file, as far as a cheap look tells: modification time and size; null time when missing. */
    private record Stamp(FileTime modified, long size) {
        static final Stamp MISSING = new Stamp(null, -1);
    }

    private final SinkStore store;
    private final Path file;
    private final int lowThreshold;
    private final VoucherMetrics metrics;
    private final AtomicBoolean warnedLow = new AtomicBoolean();
    private final AtomicBoolean warnedEmpty = new AtomicBoolean();
    private volatile Boolean skipLocked;
    // Guarded by this (refresh and importFile are synchronized): the file versions seen.
    private Stamp imported;
    private Stamp pending;
    private Stamp failed;

    /** @param file null for no pool: vouchers carry no POS code */
    public PosCodePool(SinkStore store, Path file, int lowThreshold, VoucherMetrics metrics) {
        this.store = Objects.requireNonNull(store, "store");
        this.file = file;
        this.lowThreshold = lowThreshold;
        this.metrics = Objects.requireNonNull(metrics, "metrics");
    }

    public boolean configured() {
        return file != null;
    }

    /**
     * Reads the file and adds the codes the table lacks; returns how many were added. At start: a file that
     * cannot be used stops the start.
     *
     * @throws ConfigException when the file is missing or holds a line that cannot be a till code
     */
    public synchronized int importFile(Instant now) {
        if (file == null) {
            return 0;
        }
        Stamp before = stamp();
        Set<String> codes = read(file);
        int added = insert(codes, now);
        imported = before;
        pending = null;
        failed = null;
        afterImport("", codes.size(), added);
        return added;
    }

    /**
     * Reads the file again if it changed (modification time or size) since it was last read, and adds the
     * codes the table lacks. Never throws for the file: a changed file that cannot be used is logged once as
     * an error naming the key and the file, and the codes already imported stay.
     */
    public synchronized Refresh refresh(Instant now) {
        if (file == null) {
            return Refresh.UNCHANGED;
        }
        Stamp s = stamp();
        if (s.equals(imported)) {
            pending = null;
            failed = null;
            return Refresh.UNCHANGED;
        }
        if (s.equals(failed)) {
            return Refresh.FAILED; // logged when this version was first seen
        }
        if (s == Stamp.MISSING) {
            if (!s.equals(pending)) {
                pending = s; // an editor that deletes and writes the file anew: missing for one check is no error
                return Refresh.SETTLING;
            }
            return fail(s, "vouchers.posCodes: '" + file + "' cannot be read (it is missing or not a regular file)");
        }
        // Settled: unchanged since the last check, or last written a while ago (a future time counts as settled
        // only via the first rule, so a file from a machine with a skewed clock waits one check). A file whose
        // last line has no line end yet also waits one check: "A-00" of "A-001" is a valid till code too.
        boolean settled = s.equals(pending)
                || !s.modified().toInstant().isAfter(now.minus(QUIET)) && endsWithLineEnd();
        if (!settled) {
            pending = s;
            return Refresh.SETTLING;
        }
        Set<String> codes;
        try {
            codes = read(file);
        } catch (ConfigException e) {
            return fail(s, e.getMessage());
        }
        Stamp after = stamp();
        if (!after.equals(s)) {
            pending = after; // written to while being read: try again once it is quiet
            return Refresh.SETTLING;
        }
        int added;
        try {
            added = insert(codes, now);
        } catch (StoreException e) {
            // Not the file's fault: tried again at the next check.
            Logger.warn("vouchers.posCodes: the changed file {} could not be imported now: {}; trying again at the "
                    + "next check", file, e.getMessage());
            return Refresh.SETTLING;
        }
        imported = s;
        pending = null;
        failed = null;
        afterImport("re-read after it changed: ", codes.size(), added);
        return Refresh.IMPORTED;
    }

    /** True for an empty file or one whose last byte ends a line; false also when it cannot be read now. */
    private boolean endsWithLineEnd() {
        try (FileChannel ch = FileChannel.open(file)) {
            if (ch.size() == 0) {
                return true;
            }
            ByteBuffer last = ByteBuffer.allocate(1);
            ch.read(last, ch.size() - 1);
            return last.get(0) == '\n' || last.get(0) == '\r';
        } catch (IOException e) {
            return false;
        }
    }

    /** @param why names the key and the file, as {@link #read} does */
    private Refresh fail(Stamp s, String why) {
        failed = s;
        pending = null;
        metrics.countPosCodesFileError();
        String free;
        try {
            long n = free();
            metrics.posCodesFree(n);
            free = n + " unused";
        } catch (StoreException e) {
            free = "unused count unknown: " + e.getMessage(); // the error about the file must still be logged
        }
        Logger.error("{}; nothing of this version of the file was imported, the codes imported before stay ({}); "
                + "fix the file and the sink reads it again when it changes", why, free);
        return Refresh.FAILED;
    }

    private void afterImport(String what, int inFile, int added) {
        metrics.countPosCodesAdded(added);
        long free = free();
        if (free > lowThreshold) {
            // refilled: the next time it runs low (or empty) is worth a warning again
            warnedLow.set(false);
            warnedEmpty.set(false);
        }
        Logger.info("POS code pool {}: {}{} codes in the file, {} new, {} unused", file, what, inFile, added, free);
        checkLow(free);
    }

    private Stamp stamp() {
        try {
            BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
            return a.isRegularFile() ? new Stamp(a.lastModifiedTime(), a.size()) : Stamp.MISSING;
        } catch (IOException e) {
            return Stamp.MISSING;
        }
    }

    private int insert(Set<String> codes, Instant now) {
        int added;
        try (Connection c = store.connection()) {
            Set<String> known = new HashSet<>();
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT pos_code FROM voucher_pos_codes")) {
                while (rs.next()) {
                    known.add(rs.getString(1));
                }
            }
            added = 0;
            // One statement each, in auto-commit: a code another instance adds at the same moment fails alone.
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO voucher_pos_codes (pos_code, imported_at) VALUES (?, ?)")) {
                for (String code : codes) {
                    if (known.contains(code)) {
                        continue;
                    }
                    ps.setString(1, code);
                    ps.setObject(2, VoucherStore.utc(now));
                    try {
                        added += ps.executeUpdate();
                    } catch (SQLException e) {
                        if (!"23505".equals(e.getSQLState())) {
                            throw e;
                        }
                    }
                }
            }
        } catch (SQLException e) {
            throw new StoreException(store.describe() + ": cannot import the POS codes of " + file + ": " + e.getMessage(), e);
        }
        return added;
    }

    /**
     * Takes one unused code for {@code voucherCode} inside the caller's transaction; empty when the pool
     * is empty or not configured (the voucher is issued without one).
     */
    Optional<String> take(SinkStore.Tx tx, String voucherCode, Instant now) throws SQLException {
        if (file == null) {
            return Optional.empty();
        }
        String pick = "SELECT pos_code FROM voucher_pos_codes WHERE voucher_code IS NULL ORDER BY pos_code FETCH FIRST 1 "
                + "ROWS ONLY" + (skipLocked(tx) ? " FOR UPDATE SKIP LOCKED" : "");
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            String candidate = null;
            try (PreparedStatement ps = tx.connection().prepareStatement(pick);
                    ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    candidate = rs.getString(1);
                }
            }
            if (candidate == null) {
                break;
            }
            try (PreparedStatement ps = tx.connection().prepareStatement("UPDATE voucher_pos_codes SET voucher_code = ?, "
                    + "taken_at = ? WHERE pos_code = ? AND voucher_code IS NULL")) {
                ps.setString(1, voucherCode);
                ps.setObject(2, VoucherStore.utc(now));
                ps.setString(3, candidate);
                if (ps.executeUpdate() == 1) {
                    checkLow(free(tx));
                    return Optional.of(candidate);
                }
            }
        }
        metrics.posCodesFree(0);
        if (warnedEmpty.compareAndSet(false, true)) {
            Logger.warn("POS code pool {} is empty: vouchers are issued without a till code (counted as "
                    + "vouchers.issuedWithoutPosCode); add codes to the file (and to the till): the sink reads it again "
                    + "within {} s of a change", file, PosCodeWatcher.CHECK_EVERY.toSeconds());
        } else {
            Logger.debug("POS code pool empty: voucher {} has no till code", voucherCode);
        }
        return Optional.empty();
    }

    /**
     * PostgreSQL: {@code FOR UPDATE SKIP LOCKED}, so that concurrent instances pass each other's candidate
     * instead of queueing behind it. H2 (one process) locks every matching row before the limit applies,
     * which made an issue take 38 ms with 2,000 codes; there the conditional UPDATE alone decides.
     */
    private boolean skipLocked(SinkStore.Tx tx) throws SQLException {
        Boolean known = skipLocked;
        if (known == null) {
            known = tx.connection().getMetaData().getDatabaseProductName().toLowerCase(java.util.Locale.ROOT)
                    .contains("postgres");
            skipLocked = known;
        }
        return known;
    }

    /** Unused codes now. */
    public long free() {
        return store.transaction(this::free);
    }

    private long free(SinkStore.Tx tx) throws SQLException {
        try (Statement st = tx.connection().createStatement();
                ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM voucher_pos_codes WHERE voucher_code IS NULL")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private void checkLow(long free) {
        metrics.posCodesFree(free);
        if (free <= lowThreshold && free > 0 && warnedLow.compareAndSet(false, true)) {
            metrics.countPosCodesLowWarning();
            Logger.warn("POS code pool {} is running low: {} unused codes left (vouchers.poolLowWarning={}); "
                    + "add codes to the file (and to the till): the sink reads it again within {} s of a change", file, free,
                    lowThreshold, PosCodeWatcher.CHECK_EVERY.toSeconds());
        }
    }

    static Set<String> read(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ConfigException("vouchers.posCodes: cannot read '" + file + "' (" + e.getMessage()
                    + "); it must be a text file with one till code per line");
        }
        Set<String> codes = new LinkedHashSet<>();
        List<String> bad = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            if (!POS_CODE.matcher(line).matches()) {
                bad.add((i + 1) + ": '" + (line.length() > 40 ? line.substring(0, 40) + "..." : line) + "'");
                continue;
            }
            codes.add(line);
        }
        if (!bad.isEmpty()) {
            throw new ConfigException("vouchers.posCodes: '" + file + "' has " + bad.size() + " line(s) that are not a "
                    + "till code (allowed: 1 to 64 printable characters without spaces; '#' starts a comment): line "
                    + String.join(", line ", bad.subList(0, Math.min(5, bad.size()))));
        }
        return codes;
    }
}
