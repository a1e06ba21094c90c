package app.sevenstamp.autopilot.gateway.voucher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import app.sevenstamp.autopilot.protocol.EventIds;
import app.sevenstamp.autopilot.protocol.RedeemRequest;
import app.sevenstamp.autopilot.protocol.WireCodec;
import app.sevenstamp.autopilot.protocol.voucher.VoucherCode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The journal on real files: what a restart finds is what was recorded and not removed. */
class RedeemJournalTest {
    private static final SecureRandom RANDOM = new SecureRandom();

    @TempDir
    Path dir;

    private static RedeemRequest redeem(long millis) {
        return new RedeemRequest(WireCodec.SCHEMA, EventIds.next(millis), "box-1", RedeemRequest.Action.REDEEM,
                VoucherCode.random(RANDOM).text(), "shop", Instant.ofEpochMilli(millis));
    }

    @Test
    void recordedAndNotRemovedIsFoundAfterReopeningOldestFirst() throws Exception {
        RedeemJournal journal = RedeemJournal.open(dir);
        assertEquals(List.of(), journal.loaded());
        RedeemRequest first = redeem(1_700_000_000_000L);
        RedeemRequest second = redeem(1_700_000_001_000L);
        RedeemRequest answered = redeem(1_700_000_002_000L);
        journal.record(second);
        journal.record(first);
        journal.record(answered);
        assertEquals(3, journal.size());
        journal.remove(answered.requestId());
        journal.remove(answered.requestId()); // twice: no error, no miscount
        assertEquals(2, journal.size());
        assertTrue(journal.meanSyncMicros() > 0);

        RedeemJournal reopened = RedeemJournal.open(dir);
        assertEquals(List.of(first, second), reopened.loaded());
        assertEquals(2, reopened.size());
    }

    @Test
    void leftoverTemporaryFileIsDroppedAndUnreadableRecordIsMovedAside() throws Exception {
        Files.writeString(dir.resolve("0190a0b0-0000-7000-8000-000000000001.tmp"), "{half");
        Path bad = dir.resolve("0190a0b0-0000-7000-8000-000000000002.req");
        Files.writeString(bad, "not json", StandardCharsets.UTF_8);
        RedeemRequest good = redeem(1_700_000_000_000L);
        RedeemJournal.open(dir).record(good);

        RedeemJournal reopened = RedeemJournal.open(dir);
        assertEquals(List.of(good), reopened.loaded());
        assertFalse(Files.exists(dir.resolve("0190a0b0-0000-7000-8000-000000000001.tmp")));
        assertFalse(Files.exists(bad));
        assertTrue(Files.exists(dir.resolve(bad.getFileName() + ".bad")), "kept for staff, never deleted");
    }

    /** Not a timing assertion: prints what the journal adds to one voucher scan (one record, one remove). */
    @Test
    void costOfRecordAndRemoveIsReported() throws Exception {
        RedeemJournal journal = RedeemJournal.open(dir);
        int n = 50;
        long[] record = new long[n];
        long[] remove = new long[n];
        for (int i = 0; i < n; i++) {
            RedeemRequest r = redeem(1_700_000_000_000L + i);
            long t0 = System.nanoTime();
            journal.record(r);
            long t1 = System.nanoTime();
            journal.remove(r.requestId());
            record[i] = t1 - t0;
            remove[i] = System.nanoTime() - t1;
        }
        java.util.Arrays.sort(record);
        java.util.Arrays.sort(remove);
        org.tinylog.Logger.info("voucher journal on {} over {} scans: record (write, fsync, rename, dir fsync) median "
                + "{} us max {} us; remove (delete, dir fsync) median {} us max {} us", dir, n, record[n / 2] / 1000,
                record[n - 1] / 1000, remove[n / 2] / 1000, remove[n - 1] / 1000);
        assertEquals(0, journal.size());
        assertEquals(List.of(), RedeemJournal.open(dir).loaded());
    }

    @Test
    void requestIdThatIsNoUuidIsRefused() throws Exception {
        RedeemJournal journal = RedeemJournal.open(dir);
        RedeemRequest odd = new RedeemRequest(WireCodec.SCHEMA, "../x", "box-1", RedeemRequest.Action.REDEEM,
                VoucherCode.random(RANDOM).text(), "shop", Instant.EPOCH);
        assertThrows(IllegalArgumentException.class, () -> journal.record(odd));
        assertEquals(0, journal.size());
    }
}
