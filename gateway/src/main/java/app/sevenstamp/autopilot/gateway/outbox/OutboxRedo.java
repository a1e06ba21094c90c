package app.sevenstamp.autopilot.gateway.outbox;

import app.sevenstamp.autopilot.protocol.EventKind;
import app.sevenstamp.autopilot.protocol.MalformedMessageException;
import app.sevenstamp.autopilot.protocol.StampEvent;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.support.RedoLog;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.h2.api.ErrorCode;
import org.tinylog.Logger;

/**
 * The outbox's redo log ({@code outbox.redo}): the durable record of every event the box confirmed and
 * the sink has not acknowledged. H2 is only its index.
 *
 * <p>Why: H2 2.5 (MVStore) does not keep what it committed and synced. (1) Once freed space is
 * reusable (RETENTION_TIME, 45 s) a new chunk is written into it, and the store header written with it
 * names the chunk before, whose guess of the next chunk's place does not lead there: after a crash,
 * recovery stops short and the commits are gone ({@code H2CrashLossTest}). (2) After a crash, the
 * first open finds the newest state, but the clean close that follows can make every later open see
 * an older one ({@code H2CrashLossTest}, a file kept from the power-cut test). So nothing here relies
 * on H2 across a restart: the log holds the whole backlog, and at every open of H2 the log is replayed
 * into it ({@link #reconcile}).
 *
 * <ul>
 *   <li>{@code STORED}: a row as appended, synced before the stamp is confirmed;
 *   <li>{@code ACKED}: event ids the sink acknowledged, not synced (a lost one means one resend, which
 *       the sink answers DUPLICATE);
 *   <li>{@code CORRECTED}: a payload rewritten with the corrected clock, synced with its batch;
 *   <li>{@code NEXT_SEQ}: the sequence counter, first in a rewritten log (which drops acknowledged rows);
 *   <li>{@code HISTORY}: a counter_history line, in a rewritten log: every line H2 holds then, so the
 *       counter rules' memory does not depend on H2 across a restart either.
 * </ul>
 */
final class OutboxRedo {
    private static final byte STORED = 1;
    private static final byte ACKED = 2;
    private static final byte CORRECTED = 3;
    private static final byte NEXT_SEQ = 4;
    private static final byte HISTORY = 5;
    private static final int REWRITE_BATCH = 500;
    /** The replay's look-up of a logged row in H2, on the primary key. */
    static final String EVENT_AT_SEQ = "SELECT event_id FROM outbox WHERE seq = ?";
    /** The replay's look-up of a run of logged rows in H2, one range of the primary key. */
    static final String EVENTS_IN_RANGE = "SELECT seq, event_id FROM outbox WHERE seq BETWEEN ? AND ?";
    /** Waiting rows of the log looked up in H2 together, held meanwhile (about 0.2 MB of records). */
    static final int LOOK_UP_RUN = 256;
    /** Lines one read of a run's times gives at most (four runs' worth): a run spread wider is looked up line by line. */
    private static final int LINES_READ = 4 * LOOK_UP_RUN;
    /** A run whose numbers spread wider than this many times its size is looked up row by row. */
    private static final int DENSE_ENOUGH = 4;
    /** A clock correction of the replay, on the primary key (the corrected payload names its seq). */
    static final String CORRECT_AT_SEQ =
            "UPDATE outbox SET payload = ?, clock_synced = TRUE WHERE seq = ? AND event_id = ? AND clock_synced = FALSE";

    private OutboxRedo() {
    }

    /** A stored row, as the redo log keeps it; {@code payload} is the event's UTF-8 JSON, as published. */
    record Stored(long seq, String eventId, byte[] payload, Instant createdAt, String bootId, long mono,
            boolean clockSynced) {
    }

    /**
     * A stored record's number and event id, the rest decoded only when needed: a row H2 holds, most of a backlog, is
     * known by these two, and decoding every payload took 6 of the 31 samples of a JFR of the open at 100,000 waiting.
     * A canonical id is read as its bits straight from the record ({@link AckedIds#parse(byte[], int, int, long[])}),
     * and made a string only when asked: the replay's check of a held row then allocates nothing.
     */
    static final class Logged {
        /** A stored record: its type, seq, then the id as {@code writeUTF} writes it (2 bytes of length, the bytes). */
        private static final int SEQ_AT = 1;
        private static final int ID_AT = SEQ_AT + Long.BYTES;

        private final long seq;
        /** The record: a view of the log's buffer while it is read, a copy once kept ({@link #kept}). */
        private final byte[] buffer;
        private final int at;
        private final int length;
        private final boolean canonical;
        private final long msb;
        private final long lsb;
        private String eventId;

        /** A record with this number and id (a test's, which may name an id other than the record's). */
        static Logged of(long seq, String eventId, byte[] record) {
            long[] bits = new long[2];
            boolean canonical = AckedIds.parse(eventId, bits);
            return new Logged(seq, eventId, record, 0, record.length, canonical, bits[0], bits[1]);
        }

        private Logged(long seq, String eventId, byte[] buffer, int at, int length, boolean canonical, long msb,
                long lsb) {
            this.seq = seq;
            this.eventId = eventId;
            this.buffer = buffer;
            this.at = at;
            this.length = length;
            this.canonical = canonical;
            this.msb = msb;
            this.lsb = lsb;
        }

        /** The stored record of {@code length} bytes at {@code at} of {@code b}, a view; {@code bits} is scratch. */
        static Logged read(byte[] b, int at, int length, long[] bits) {
            long seq = seqOf(b, at, length);
            int idLength = (b[at + ID_AT] & 0xff) << 8 | (b[at + ID_AT + 1] & 0xff);
            // within the record, or the id is read as a string below, whose read fails as before on a short record
            boolean canonical = ID_AT + 2 + idLength <= length && AckedIds.parse(b, at + ID_AT + 2, idLength, bits);
            return new Logged(seq, null, b, at, length, canonical, bits[0], bits[1]);
        }

        /** The number of the stored record of {@code length} bytes at {@code at} of {@code b}. */
        static long seqOf(byte[] b, int at, int length) {
            if (length < ID_AT + 2) {
                // the checksum held, so the bytes are what this class wrote: a bug, not a torn write
                throw new UncheckedIOException(new java.io.EOFException("outbox redo log: a stored record of " + length
                        + " bytes cannot be decoded"));
            }
            long seq = 0;
            for (int i = 0; i < Long.BYTES; i++) {
                seq = seq << 8 | (b[at + SEQ_AT + i] & 0xff);
            }
            return seq;
        }

        long seq() {
            return seq;
        }

        String eventId() {
            if (eventId == null) {
                try (DataInputStream in = in(buffer, at + ID_AT, length - ID_AT)) {
                    eventId = in.readUTF();
                } catch (IOException e) {
                    throw new UncheckedIOException("outbox redo log: a stored record cannot be decoded", e);
                }
            }
            return eventId;
        }

        /** The id is a canonical UUID, whose halves {@link #msb} and {@link #lsb} are. */
        boolean canonical() {
            return canonical;
        }

        long msb() {
            return msb;
        }

        long lsb() {
            return lsb;
        }

        Stored stored() {
            return readStored(buffer, at, length);
        }

        /** This record with its own copy of the bytes, to be held past the reader's call. */
        Logged kept() {
            return new Logged(seq, eventId(), Arrays.copyOfRange(buffer, at, at + length), 0, length, canonical, msb, lsb);
        }
    }

    /**
     * A counter_history line. A class, not a record: a record's equals and hashCode are bootstrapped through
     * {@code ObjectMethods}, whose first use loads about 60 classes of {@code java.lang.invoke} into the box (each class
     * costs it resident memory, docs/perf/box-classes.md).
     */
    private static final class Line {
        private final String programId;
        private final String cardId;
        private final Instant at;

        /** @param at as logged; kept as counter_history keeps it, so that a line read back from H2 equals it */
        Line(String programId, String cardId, Instant at) {
            this.programId = programId;
            this.cardId = cardId;
            this.at = CounterHistory.asStored(at);
        }

        String programId() {
            return programId;
        }

        String cardId() {
            return cardId;
        }

        Instant at() {
            return at;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Line l && programId.equals(l.programId) && cardId.equals(l.cardId) && at.equals(l.at);
        }

        @Override
        public int hashCode() {
            return (programId.hashCode() * 31 + cardId.hashCode()) * 31 + at.hashCode();
        }
    }

    /**
     * What a reconcile did, for the log line and the tests.
     *
     * @param probeDisagreed H2 did not hold what its probe read, and the replay ran again with look-ups in H2
     */
    record Replayed(long records, int restored, int corrected, long nextSeq, boolean probeDisagreed) {
    }

    static byte[] stored(Stored s) {
        return RedoLog.record(out -> {
            out.writeByte(STORED);
            out.writeLong(s.seq());
            out.writeUTF(s.eventId());
            writeBytes(out, s.payload());
            out.writeLong(s.createdAt().getEpochSecond());
            out.writeInt(s.createdAt().getNano());
            out.writeUTF(s.bootId());
            out.writeLong(s.mono());
            out.writeBoolean(s.clockSynced());
        });
    }

    static byte[] acked(List<String> eventIds) {
        return RedoLog.record(out -> {
            out.writeByte(ACKED);
            out.writeInt(eventIds.size());
            for (String id : eventIds) {
                out.writeUTF(id);
            }
        });
    }

    static byte[] corrected(String eventId, byte[] payload) {
        return RedoLog.record(out -> {
            out.writeByte(CORRECTED);
            out.writeUTF(eventId);
            writeBytes(out, payload);
        });
    }

    private static byte[] history(String programId, String cardId, Instant at) {
        return RedoLog.record(out -> {
            out.writeByte(HISTORY);
            out.writeUTF(programId);
            out.writeUTF(cardId);
            out.writeLong(at.getEpochSecond());
            out.writeInt(at.getNano());
        });
    }

    private static byte[] nextSeq(long next) {
        return RedoLog.record(out -> {
            out.writeByte(NEXT_SEQ);
            out.writeLong(next);
        });
    }

    /**
     * Makes H2 hold at least what the log says is waiting: every stored row not acknowledged, the
     * counter_history line of every stamp in the log (acknowledged or not), the latest clock correction of each, and a sequence counter past
     * every number in the log. Idempotent. Reads the log twice (acknowledgements first) rather than
     * holding a long backlog in memory; the acknowledged ids are held as 128-bit keys ({@link AckedIds}). Commits.
     *
     * @param historyLines   the log's own counter_history records too (not after a compaction: H2 kept them all)
     * @param linesWithRows  H2's rows came with their counter_history lines: an append writes both in one
     *                       transaction, so a stamp whose row H2 holds has its line, and only the others are
     *                       looked up (at 100,000 waiting that halves the replay). False after a salvage, which
     *                       stores rows without their lines.
     */
    static Replayed reconcile(Connection c, RedoLog.Prefix log, WireCodec codec, boolean historyLines,
            boolean linesWithRows) throws SQLException, IOException {
        return replay(c, log, codec, historyLines, linesWithRows, null);
    }

    /**
     * As {@link #reconcile(Connection, RedoLog.Prefix, WireCodec, boolean, boolean)}, asking {@code probed} instead
     * of H2 which numbers it holds. The probe read the file just before this connection opened it, through the same
     * recovery of H2's leftover transactions, so the two agree; should they not, the replay notices (H2 refuses a row
     * it holds, or its count is not the probe's plus those put back) and runs again with look-ups in H2, which is
     * idempotent.
     *
     * @param probed the rows the damage probe read from this file ({@link OutboxSalvage#probe}); null: look up in H2
     */
    static Replayed reconcile(Connection c, RedoLog.Prefix log, WireCodec codec, boolean historyLines,
            boolean linesWithRows, ProbedRows probed) throws SQLException, IOException {
        if (probed == null) {
            return replay(c, log, codec, historyLines, linesWithRows, null);
        }
        Replayed first;
        try {
            first = replay(c, log, codec, historyLines, linesWithRows, probed);
            long rows = count(c);
            if (rows == probed.size() + first.restored()) {
                return first;
            }
            Logger.warn("outbox redo log: H2 holds {} row(s), its probe read {} and the replay put back {}; replaying "
                    + "again with look-ups in H2", rows, probed.size(), first.restored());
        } catch (ProbeDisagrees e) {
            Logger.warn("outbox redo log: H2 holds seq {}, which its probe did not read; replaying again with look-ups "
                    + "in H2", e.seq);
            first = new Replayed(0, e.restored, 0, 0, true);
        }
        Replayed again = replay(c, log, codec, historyLines, linesWithRows, null);
        return new Replayed(again.records(), first.restored() + again.restored(), first.corrected() + again.corrected(),
                again.nextSeq(), true);
    }

    private static long count(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            return OutboxSchema.countRows(st);
        }
    }

    /** H2 refused a row as already held at a number the probe did not read there. */
    private static final class ProbeDisagrees extends SQLException {
        private static final long serialVersionUID = 1L;
        final long seq;
        final int restored;

        ProbeDisagrees(long seq, int restored, SQLException cause) {
            super("H2 holds seq " + seq + ", which the probe did not read", cause);
            this.seq = seq;
            this.restored = restored;
        }
    }

    private static Replayed replay(Connection c, RedoLog.Prefix log, WireCodec codec, boolean historyLines,
            boolean linesWithRows, ProbedRows probed) throws SQLException, IOException {
        AckedIds acked = new AckedIds();
        Map<String, byte[]> corrections = new HashMap<>();
        long[] next = {0};
        long[] records = {0};
        // both passes read views of the log's buffer: a record is copied only when it is kept (a row H2 lacks)
        log.<IOException>readViews((b, at, length) -> {
            records[0]++;
            if (b[at] == STORED) { // most of a backlog's log: its number is all this pass needs
                next[0] = Math.max(next[0], Logged.seqOf(b, at, length) + 1);
                return;
            }
            try (DataInputStream in = in(b, at, length)) {
                switch (in.readByte()) {
                    case ACKED -> {
                        for (int i = in.readInt(); i > 0; i--) {
                            acked.add(in.readUTF());
                        }
                    }
                    case CORRECTED -> corrections.put(in.readUTF(), readBytes(in));
                    case NEXT_SEQ -> next[0] = Math.max(next[0], in.readLong());
                    case STORED, HISTORY -> {
                        // STORED above; HISTORY in the second pass
                    }
                    default -> Logger.error("outbox redo log: a record of unknown type {} is skipped", b[at]);
                }
            }
        });
        int restored;
        long[] bits = new long[2];
        try (Restorer restorer = new Restorer(c, codec, linesWithRows, probed)) {
            log.<SQLException>readViews((b, at, length) -> {
                if (b[at] == HISTORY) {
                    if (historyLines) {
                        restorer.line(b, at, length);
                    }
                } else if (b[at] == STORED) {
                    Logged s = Logged.read(b, at, length, bits);
                    if (s.canonical() ? acked.containsCanonical(s.msb(), s.lsb()) : acked.contains(s.eventId())) {
                        restorer.acknowledged(s.stored());
                    } else {
                        restorer.waiting(s);
                    }
                }
            });
            restorer.flush();
            restorer.flushLines();
            restored = restorer.restored;
        }
        int corrected = 0;
        try (PreparedStatement correct = c.prepareStatement(CORRECT_AT_SEQ)) {
            for (Map.Entry<String, byte[]> e : corrections.entrySet()) {
                long seq;
                try {
                    seq = codec.decodeStampEvent(e.getValue()).seq();
                } catch (MalformedMessageException bad) {
                    // the row keeps its unsynchronised clock, which the clock corrector rewrites again
                    Logger.warn("outbox redo log: the clock correction of event {} cannot be decoded ({}); not applied",
                            e.getKey(), bad.getMessage());
                    continue;
                }
                correct.setBytes(1, e.getValue());
                correct.setLong(2, seq);
                correct.setString(3, e.getKey());
                corrected += correct.executeUpdate();
            }
        }
        long nextSeq;
        try (PreparedStatement read = c.prepareStatement("SELECT next_seq FROM outbox_seq WHERE id = 1");
             ResultSet rs = read.executeQuery()) {
            rs.next();
            nextSeq = rs.getLong(1);
        }
        if (next[0] > nextSeq) {
            try (PreparedStatement bump = c.prepareStatement("UPDATE outbox_seq SET next_seq = ? WHERE id = 1")) {
                bump.setLong(1, next[0]);
                bump.executeUpdate();
            }
            nextSeq = next[0];
        }
        c.commit();
        return new Replayed(records[0], restored, corrected, nextSeq, false);
    }

    /**
     * Puts into H2 what the log holds and H2 lacks: the rows of waiting stamps, in the log's order, and the
     * counter_history lines. Waiting rows are looked up in runs of {@link #LOOK_UP_RUN}, one range of the
     * primary key each (a look-up per row was most of an open with a backlog: docs/performance.md). A row goes
     * by its number only: an event gets its number once, with its id, and keeps both in every copy (the log,
     * H2, a salvage, a correction).
     */
    private static final class Restorer implements AutoCloseable {
        private final WireCodec codec;
        private final boolean linesWithRows;
        private final ProbedRows probed;
        private final PreparedStatement bySeq;
        private final PreparedStatement inRange;
        private final PreparedStatement insert;
        private final PreparedStatement lineExists;
        private final PreparedStatement insertLine;
        private final PreparedStatement linesInRange;
        private final List<Logged> run = new ArrayList<>(LOOK_UP_RUN);
        private final List<Line> lines = new ArrayList<>(LOOK_UP_RUN);
        int restored;

        /** @param probed the rows H2 holds, as the probe read them; null: look them up */
        Restorer(Connection c, WireCodec codec, boolean linesWithRows, ProbedRows probed) throws SQLException {
            this.codec = codec;
            this.linesWithRows = linesWithRows;
            this.probed = probed;
            bySeq = c.prepareStatement(EVENT_AT_SEQ);
            inRange = c.prepareStatement(EVENTS_IN_RANGE);
            insert = c.prepareStatement(OutboxSchema.INSERT);
            // the time as H2 stores it: compared as given, a time finer than milliseconds never matched, and every
            // open added the line of each acknowledged stamp in the log again
            lineExists = c.prepareStatement("SELECT 1 FROM counter_history WHERE program_id = ? AND card_id = ? "
                    + "AND stamped_at = CAST(? AS " + CounterHistory.STAMPED_AT_TYPE + ")");
            insertLine = c.prepareStatement(CounterHistory.INSERT_LINE);
            linesInRange = c.prepareStatement("SELECT program_id, card_id, stamped_at FROM counter_history "
                    + "WHERE stamped_at BETWEEN ? AND ? LIMIT " + LINES_READ);
        }

        /** A counter_history record of a rewritten log (a view, valid during the call). */
        void line(byte[] b, int at, int length) throws SQLException {
            try (DataInputStream in = in(b, at, length)) {
                in.readByte();
                line(new Line(in.readUTF(), in.readUTF(), Instant.ofEpochSecond(in.readLong(), in.readInt())));
            } catch (IOException e) {
                throw new UncheckedIOException("outbox redo log: a history record cannot be decoded", e);
            }
        }

        /** A line H2 must hold; looked up with the rest of its run. */
        private void line(Line line) throws SQLException {
            lines.add(line);
            if (lines.size() == LOOK_UP_RUN) {
                flushLines();
            }
        }

        /**
         * A stamp the sink acknowledged: its row is gone from H2 or goes at the next delete, but its line may be
         * missing (H2 writes lazily: a stamp acknowledged within WRITE_DELAY of its append may be in neither table
         * on disk).
         */
        void acknowledged(Stored s) throws SQLException {
            history(s);
        }

        /**
         * A stamp still waiting for the sink (a view, valid during the call): most of a backlog H2 holds as logged, and
         * with it its line, known from the probe at once; the rest is copied and looked up with its run.
         */
        void waiting(Logged s) throws SQLException {
            if (linesWithRows && probed != null && probed.heldAsLogged(s)) {
                return;
            }
            run.add(s.kept());
            if (run.size() == LOOK_UP_RUN) {
                flush();
            }
        }

        void flush() throws SQLException {
            if (run.isEmpty()) {
                return;
            }
            // most of a backlog: H2 holds the row as logged, known from the probe's bits without a string made
            boolean[] held = probed != null ? probed.heldAsLogged(run) : new boolean[run.size()];
            Map<Long, String> holders = holders(held);
            for (int k = 0; k < run.size(); k++) {
                Logged logged = run.get(k);
                String found = held[k] ? logged.eventId() : holders.get(logged.seq());
                if (linesWithRows && found != null && found.equals(logged.eventId())) {
                    continue; // H2 holds the row, and with it its line
                }
                Stored s = logged.stored();
                // a row H2 does not hold came without its line, which may be missing too (H2 writes lazily)
                history(s);
                if (found != null) {
                    if (!found.equals(s.eventId())) {
                        Logger.error("outbox redo log: seq {} is held by event {} in H2 but was confirmed as {}; the "
                                + "logged one is not restored", s.seq(), found, s.eventId());
                    }
                    continue;
                }
                OutboxSchema.bindRow(insert, s);
                try {
                    insert.executeUpdate();
                } catch (SQLException e) {
                    if (probed != null && e.getErrorCode() == ErrorCode.DUPLICATE_KEY_1) {
                        throw new ProbeDisagrees(s.seq(), restored, e);
                    }
                    throw e;
                }
                holders.put(s.seq(), s.eventId()); // a later record of the same number finds it, as a look-up would
                restored++;
            }
            run.clear();
        }

        /** The event H2 holds at each of the run's numbers but those {@code held} as logged (none: not in the map). */
        private Map<Long, String> holders(boolean[] held) throws SQLException {
            if (probed != null) {
                return probed.holders(run, held);
            }
            long low = Long.MAX_VALUE;
            long high = Long.MIN_VALUE;
            for (Logged s : run) {
                low = Math.min(low, s.seq());
                high = Math.max(high, s.seq());
            }
            Map<Long, String> holders = new HashMap<>();
            if (high - low < (long) DENSE_ENOUGH * run.size()) {
                inRange.setLong(1, low);
                inRange.setLong(2, high);
                try (ResultSet rs = inRange.executeQuery()) {
                    while (rs.next()) {
                        holders.put(rs.getLong(1), rs.getString(2));
                    }
                }
                return holders;
            }
            // numbers far apart (a log whose rows were acknowledged in between): the range would read rows H2
            // holds for nothing
            for (Logged s : run) {
                bySeq.setLong(1, s.seq());
                try (ResultSet rs = bySeq.executeQuery()) {
                    if (rs.next()) {
                        holders.put(s.seq(), rs.getString(1));
                    }
                }
            }
            return holders;
        }

        /** The counter rules' line of a stamp, as the append wrote it (from the event's own fields). */
        private void history(Stored s) throws SQLException {
            StampEvent event;
            try {
                event = codec.decodeStampEvent(s.payload());
            } catch (MalformedMessageException e) {
                Logger.warn("outbox redo log: event {} cannot be decoded ({}); its counter history line is not restored",
                        s.eventId(), e.getMessage());
                return;
            }
            if (event.kind() == EventKind.STAMP) {
                line(new Line(event.programId(), event.cardId(), event.deviceTime()));
            }
        }

        /**
         * Puts back the run's lines H2 lacks. One read of the stamped_at index over the run's times instead of a
         * look-up a line: a rewritten log holds every line H2 had (12,700 after the bench's 10,000 scans, each
         * looked up was about 100 ms of the start). A line that read does not give back exactly (past its limit, or
         * a time H2 stores at another precision) is looked up alone, as before.
         */
        void flushLines() throws SQLException {
            if (lines.isEmpty()) {
                return;
            }
            Instant low = lines.get(0).at();
            Instant high = low;
            for (Line l : lines) {
                low = l.at().isBefore(low) ? l.at() : low;
                high = l.at().isAfter(high) ? l.at() : high;
            }
            linesInRange.setObject(1, OffsetDateTime.ofInstant(low, ZoneOffset.UTC));
            linesInRange.setObject(2, OffsetDateTime.ofInstant(high, ZoneOffset.UTC));
            Set<Line> held = new HashSet<>();
            try (ResultSet rs = linesInRange.executeQuery()) {
                while (rs.next()) {
                    held.add(new Line(rs.getString(1), rs.getString(2), rs.getObject(3, OffsetDateTime.class).toInstant()));
                }
            }
            for (Line l : lines) {
                if (held.add(l)) {
                    insertLineIfMissing(l.programId(), l.cardId(), l.at(), lineExists, insertLine);
                }
            }
            lines.clear();
        }

        @Override
        public void close() throws SQLException {
            for (PreparedStatement st : List.of(bySeq, inRange, insert, lineExists, insertLine, linesInRange)) {
                st.close();
            }
        }
    }

    private static void insertLineIfMissing(String programId, String cardId, Instant at, PreparedStatement exists,
            PreparedStatement insert) throws SQLException {
        for (PreparedStatement st : List.of(exists, insert)) {
            st.setString(1, programId);
            st.setString(2, cardId);
            st.setObject(3, OffsetDateTime.ofInstant(at, ZoneOffset.UTC));
        }
        try (ResultSet rs = exists.executeQuery()) {
            if (rs.next()) {
                return;
            }
        }
        insert.executeUpdate();
    }

    /**
     * Replaces the log with the sequence counter, the rows H2 holds now (the backlog, read in batches)
     * and its counter_history lines, dropping what was acknowledged. Only while H2 is open and
     * reconciled: its view then is the truth of this process. H2 is synced ({@code CHECKPOINT SYNC})
     * before the new log replaces the old.
     */
    static void rewrite(Connection c, RedoLog log) throws SQLException, IOException {
        try (RedoLog.Rewrite rewrite = log.rewrite()) {
            rewriteInto(c, rewrite);
            rewrite.commit();
        }
    }

    /** Writes what {@link #rewrite} puts in the new log, and syncs H2; the caller commits the rewrite. */
    static void rewriteInto(Connection c, RedoLog.Rewrite rewrite) throws SQLException, IOException {
        try (PreparedStatement seq = c.prepareStatement("SELECT next_seq FROM outbox_seq WHERE id = 1");
             PreparedStatement rows = c.prepareStatement("SELECT seq, event_id, payload, created_at, boot_id, mono_nanos, "
                     + "clock_synced FROM outbox WHERE seq > ? ORDER BY seq LIMIT " + REWRITE_BATCH)) {
            try (ResultSet rs = seq.executeQuery()) {
                rs.next();
                rewrite.add(List.of(nextSeq(rs.getLong(1))));
            }
            long after = 0;
            while (true) {
                rows.setLong(1, after);
                List<byte[]> batch = new ArrayList<>(REWRITE_BATCH);
                try (ResultSet rs = rows.executeQuery()) {
                    while (rs.next()) {
                        after = rs.getLong(1);
                        batch.add(stored(new Stored(after, rs.getString(2), rs.getBytes(3),
                                rs.getObject(4, OffsetDateTime.class).toInstant(), rs.getString(5), rs.getLong(6),
                                rs.getBoolean(7))));
                    }
                }
                if (batch.isEmpty()) {
                    break;
                }
                rewrite.add(batch);
            }
            try (PreparedStatement lines = c.prepareStatement(
                    "SELECT program_id, card_id, stamped_at FROM counter_history");
                 ResultSet rs = lines.executeQuery()) {
                List<byte[]> batch = new ArrayList<>(REWRITE_BATCH);
                while (rs.next()) {
                    batch.add(history(rs.getString(1), rs.getString(2), rs.getObject(3, OffsetDateTime.class).toInstant()));
                    if (batch.size() == REWRITE_BATCH) {
                        rewrite.add(batch);
                        batch = new ArrayList<>(REWRITE_BATCH);
                    }
                }
                if (!batch.isEmpty()) {
                    rewrite.add(batch);
                }
            }
            c.commit();
            // What the old log held and the new one does not is the acknowledgements: H2 synced first, so
            // that they are on disk and not sent again after a crash. Not relied on for the lines: H2 may
            // not find a synced chunk after a crash (docs/durability.md), so the new log carries them.
            try (Statement sync = c.createStatement()) {
                sync.execute("CHECKPOINT SYNC");
            }
        }
    }

    private static Stored readStored(byte[] b, int at, int length) {
        try (DataInputStream in = in(b, at, length)) {
            in.readByte();
            long seq = in.readLong();
            String eventId = in.readUTF();
            byte[] payload = readBytes(in);
            Instant createdAt = Instant.ofEpochSecond(in.readLong(), in.readInt());
            return new Stored(seq, eventId, payload, createdAt, in.readUTF(), in.readLong(), in.readBoolean());
        } catch (IOException e) {
            // the checksum held, so the bytes are what this class wrote: a bug, not a torn write
            throw new UncheckedIOException("outbox redo log: a stored record cannot be decoded", e);
        }
    }

    private static DataInputStream in(byte[] b, int at, int length) {
        return new DataInputStream(new ByteArrayInputStream(b, at, length));
    }

    private static void writeBytes(DataOutputStream out, byte[] bytes) throws IOException {
        out.writeInt(bytes.length);
        out.write(bytes);
    }

    private static byte[] readBytes(DataInputStream in) throws IOException {
        return in.readNBytes(in.readInt());
    }
}
